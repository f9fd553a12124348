"""Dashboards in the spec: one model the console, ``tocsin top`` and Grafana all render.

A panel linked to an alert (``alert: QueueFull``) draws that alert's warning and
critical lines (:meth:`tocsin.spec.Spec.panel_thresholds`), and the alert's
annotations link back to the panel.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from tocsin.spec._promql import PromQL
from tocsin.spec._types import AlertName, Duration, Name, StrictModel

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

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}: use one of {', '.join(UNITS)}")
        return unit


class Dashboard(StrictModel):
    """A dashboard rendered by the console, ``tocsin top`` and Grafana alike."""

    title: str
    uid: Name | None = None
    refresh: Duration = "30s"
    time_from: str = "now-6h"
    panels: list[Panel]

    @property
    def slug(self) -> str:
        """``uid`` or a slug of the title (``OCR overview`` → ``ocr-overview``)."""
        if self.uid:
            return self.uid
        return "-".join("".join(c if c.isalnum() else " " for c in self.title.lower()).split())
