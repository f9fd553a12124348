"""The view model as plain JSON: what the console and ``tocsin top`` read, with no pydantic at run time.

The spec's pydantic models cost the console ~26 MB of RSS to import (the stack's whole budget for the
console is ~35 MB), so :func:`tocsin.views.model.build_model` turns the loaded spec into this JSON in the
CLI process (``tocsin up`` writes it into the config bundle as ``console/model.json``) and the long-running
processes read only this. The TypedDicts type it for mypy at no run-time cost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import orjson

__all__ = [
    "MODEL_FILE",
    "MODEL_VERSION",
    "AlertInfo",
    "DashboardModel",
    "LogsInfo",
    "LongTermInfo",
    "PanelModel",
    "RunbookInfo",
    "ServiceInfo",
    "Thresholds",
    "ViewModel",
    "read_model",
]

MODEL_VERSION = 1
#: where the model lives inside a config bundle (``config/current/console/model.json``)
MODEL_FILE = "console/model.json"

PanelKind = Literal["stat", "gauge", "timeseries", "bars", "table"]


class Thresholds(TypedDict):
    warning: float | None
    critical: float | None
    direction: Literal["above", "below"]
    #: lines taken from an alert: its comparison per level (``">"``, ``"<="``, ``"=="``...), so that a
    #: panel calls a value critical exactly when the alert's rule would (``< 1`` is not critical at 1);
    #: without it (a panel's own ``thresholds:``) a line is reached at ``>=`` / ``<=``
    ops: NotRequired[dict[str, str]]


class PanelModel(TypedDict):
    index: int
    anchor: str  # ``panel-<index>``: the fragment alerts' dashboard_url points at
    title: str
    kind: PanelKind
    expr: str
    unit: str
    min: float | None
    max: float | None
    legend: str | None
    thresholds: Thresholds | None
    alert: str | None
    runbook: str | None
    range: float | None  # seconds: bars over a fixed window
    period: float | None  # seconds: one bar per period


class DashboardModel(TypedDict):
    slug: str
    title: str
    refresh: float
    time_from: str
    panels: list[PanelModel]


class AlertInfo(TypedDict):
    priority: str
    runbook: str | None
    service: str | None
    panel: str | None  # ``/dashboards/<slug>#panel-<n>``
    # the alert's compiled rules for its backtest (tocsin.history.backtest.light.rule_models)
    rules: NotRequired[list[dict[str, Any]]]


class ServiceInfo(TypedDict):
    health: list[str]  # health endpoint URLs, one per target
    targets: list[str]


class LogsInfo(TypedDict):
    enabled: bool
    db: str | None


class LongTermInfo(TypedDict):
    """The long-term store (``stack.long_term``) the views read ranges older than Prometheus keeps."""

    url: str  # its PromQL API base (``<url>/api/v1/query_range``)
    retention: float  # seconds: Prometheus' retention; a query reaching further back asks the store


class RunbookInfo(TypedDict):
    """A runbook kept next to the spec, rendered to HTML when the model was built."""

    title: str
    html: str
    source: str
    alerts: list[str]


class ViewModel(TypedDict):
    version: int
    app: str
    scrape_interval: float
    prometheus: list[str]
    alertmanager: list[str]
    receiver: str | None
    dashboards: list[DashboardModel]
    alerts: dict[str, AlertInfo]
    services: dict[str, ServiceInfo]
    #: the log watcher's store: None without a ``logs:`` section; ``db`` None = its default file
    logs: LogsInfo | None
    #: local runbooks by page name (``/runbooks/<name>``)
    runbooks: NotRequired[dict[str, RunbookInfo]]
    #: the spec's ``checklist:`` items as :class:`tocsin.history.checklist.CheckItem` fields
    checklist: NotRequired[list[dict[str, Any]]]
    #: None (or absent) without ``stack.long_term``, or when nothing can read from it
    long_term: NotRequired[LongTermInfo | None]


def read_model(path: str | Path) -> ViewModel:
    """The model written by ``tocsin up``; ValueError naming the file when it is not one."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the console model ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != MODEL_VERSION:
        raise ValueError(f"{path}: not a console model of version {MODEL_VERSION} (run `tocsin up` again)")
    return data  # type: ignore[return-value]
