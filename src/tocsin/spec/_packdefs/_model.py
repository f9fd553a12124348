"""The shape of a pack definition: plain frozen dataclasses, no pydantic, nothing imported from the SDK.

Templates use ``$`` placeholders (:class:`string.Template`), which PromQL and
Prometheus' ``{{ }}`` annotation templates never use:

- ``$m``: the metric name prefix, ``<prefix>_<namespace>_`` (``ocr_``, ``kpi_etl_``, ``""``);
- ``$sel``: the pack's label matchers in braces (``{job_name="archiver"}``), or nothing;
- ``$and``: the same matchers after a comma, to extend a selector (``{status="error"$and}``);
- ``$Name``: the alert name prefix (``Archiver``), and every pack parameter by its name;
- ``$<param>_seconds`` for each parameter :attr:`PackDef.kinds` calls a ``duration`` (``$schedule_seconds``).

``{{ $labels.x }}`` and ``{{ $value }}`` pass through untouched (``safe_substitute``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["AlertDef", "PackDef", "PanelDef", "RecordDef"]


@dataclass(frozen=True)
class AlertDef:
    """One alert of a pack; ``key`` is what ``priority:``, ``thresholds:``, ``for:`` and ``disable:`` name."""

    key: str
    name: str
    expr: str
    summary: str
    warning: str | None = None
    critical: str | None = None
    for_: str | None = None
    priority: str = "P2"
    seed: str = ""  # where the alert comes from, for the docs


@dataclass(frozen=True)
class PanelDef:
    """One dashboard panel; ``alert`` (an alert key) draws that alert's thresholds."""

    title: str
    expr: str
    kind: str = "timeseries"
    unit: str = "short"
    alert: str | None = None
    legend: str | None = None
    min: float | None = None
    when: str | None = None  # a boolean parameter the panel needs (``redis_exporter``)


@dataclass(frozen=True)
class RecordDef:
    """A recording rule the pack's alerts or panels read, and the promtool test that checks it.

    ``test_series`` maps input metric names (templates) to promtool value notation; the
    series carry ``keeps`` (with ``example`` values) and the pack's matchers, and the rule
    must give ``expect`` for them at ``expect_at``.
    """

    record: str
    expr: str
    test_series: Mapping[str, str] = field(default_factory=dict)
    keeps: tuple[str, ...] = ()
    expect: str = ""
    expect_at: str = "10m"


@dataclass(frozen=True)
class PackDef:
    """A pack: its SDK class, parameters, alerts, panels and recording rules."""

    name: str
    title: str
    summary: str
    sdk: str  # how the SDK side is built, for the docs: "Queue(items=..., type_label=...)"
    namespace: str  # the SDK class's default namespace
    params: Mapping[str, str | bool | None] = field(default_factory=dict)  # None: required
    #: what a parameter must be besides a string: "duration" (``25h``, also given as ``$<param>_seconds``)
    #: or "count" (a whole number >= 1, written as a number or a string)
    kinds: Mapping[str, str] = field(default_factory=dict)
    param_docs: Mapping[str, str] = field(default_factory=dict)  # what a parameter means, for the docs
    name_from: str | None = None  # the parameter whose CamelCase is the default alert-name prefix
    matchers: Mapping[str, str] = field(default_factory=dict)  # parameter -> label it selects on
    alerts: tuple[AlertDef, ...] = ()
    panels: tuple[PanelDef, ...] = ()
    records: tuple[RecordDef, ...] = ()
    seeds: str = ""
