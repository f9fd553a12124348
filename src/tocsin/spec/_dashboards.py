"""Dashboards in the spec: one model the console, ``tocsin top`` and Grafana all render.

A panel linked to an alert (``alert: QueueFull``) draws that alert's warning and
critical lines (:meth:`tocsin.spec.Spec.panel_thresholds`), and the alert's
annotations link back to the panel.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from tocsin.spec._promql import PromQL
from tocsin.spec._types import AlertName, Name, PositiveDuration, StrictModel, duration_seconds

__all__ = ["PANEL_KINDS", "UNITS", "Dashboard", "Panel", "PanelThresholds"]

PANEL_KINDS = ("stat", "gauge", "timeseries", "bars", "table")
#: Grafana unit ids accepted for panels (the console and ``tocsin top`` format the same ones).
UNITS = (
    "none", "short", "percent", "percentunit", "s", "ms", "us", "ns", "m", "h", "d",
    "bytes", "decbytes", "bits", "Bps", "bps", "reqps", "rps", "ops", "cps", "wps", "rpm",
    "currencyUSD", "currencyEUR", "celsius", "dateTimeAsIso",
)  # fmt: skip


class PanelThresholds(StrictModel):
    """Lines drawn on a panel; ``direction: below`` when lower values are worse."""

    warning: float | None = None
    critical: float | None = None
    direction: Literal["above", "below"] = "above"


class Panel(StrictModel):
    """One panel; ``alert`` links it to an alert, whose thresholds it then draws."""

    title: str
    kind: Literal["stat", "gauge", "timeseries", "bars", "table"] = "timeseries"
    expr: PromQL
    unit: str = "short"
    min: float | None = None
    max: float | None = None
    legend: str | None = None
    thresholds: PanelThresholds | None = None
    alert: AlertName | None = None
    #: bars over a fixed window whatever the time picker says (seed 003: ``range: 7d``) ...
    range: PositiveDuration | None = None
    #: ... one bar per ``period`` (``1d``: the expression should cover it, e.g. ``increase(x[1d])``)
    period: PositiveDuration | None = None

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}: use one of {', '.join(UNITS)}")
        return unit

    @model_validator(mode="after")
    def _bars_window(self) -> Panel:
        if (self.range is None) != (self.period is None):
            raise ValueError(
                "range and period go together: give both, e.g. range: 7d with period: 1d (one bar per day)"
            )
        if self.range is not None and self.period is not None:
            if self.kind != "bars":
                raise ValueError(f"range/period draw one bar per period: use kind: bars, not {self.kind}")
            if not 0 < duration_seconds(self.period) <= duration_seconds(self.range):
                raise ValueError(
                    f"period {self.period} does not fit in range {self.range}: shorten the period"
                )
        return self


class Dashboard(StrictModel):
    """A dashboard rendered by the console, ``tocsin top`` and Grafana alike."""

    title: str
    uid: Name | None = None
    refresh: PositiveDuration = "30s"
    time_from: str = "now-6h"
    panels: list[Panel]

    @property
    def slug(self) -> str:
        """``uid`` or a slug of the title (``OCR overview`` → ``ocr-overview``)."""
        if self.uid:
            return self.uid
        return "-".join("".join(c if c.isalnum() else " " for c in self.title.lower()).split())
