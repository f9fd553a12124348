"""What a report holds, independent of how it is drawn: sections of stats, tables and charts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Chart", "ChartSeries", "Item", "ReportDoc", "Section", "Stat", "Table", "format_value"]


@dataclass(frozen=True)
class Stat:
    """One number: ``value`` None means no data."""

    title: str
    value: float | None
    unit: str = "short"
    note: str = ""


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass(frozen=True)
class ChartSeries:
    label: str
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class Chart:
    """A line (or ``bars``) chart over the report's range; threshold lines from the linked alert."""

    title: str
    series: list[ChartSeries]
    unit: str = "short"
    kind: str = "timeseries"
    warning: float | None = None
    critical: float | None = None
    note: str = ""


Item = Stat | Table | Chart


@dataclass
class Section:
    title: str
    items: list[Item] = field(default_factory=list)
    text: str = ""


@dataclass
class ReportDoc:
    title: str
    period: str
    start: float
    end: float
    sections: list[Section] = field(default_factory=list)
    source: str = ""
    problems: list[str] = field(default_factory=list)


_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_BYTES = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def format_value(value: float | None, unit: str = "short") -> str:
    """``value`` as a person reads it in ``unit`` (the dashboard units: s, ms, percent, bytes, ...)."""
    if value is None:
        return "no data"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if unit == "percentunit":
        return f"{_number(value * 100)} %"
    if unit == "percent":
        return f"{_number(value)} %"
    if unit in ("s", "ms", "us", "ns", "m", "h", "d"):
        seconds = value * {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "m": 60, "h": 3600, "d": 86400}[unit]
        return _duration(seconds)
    if unit in ("bytes", "decbytes"):
        for size, suffix in (
            _BYTES if unit == "bytes" else ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"))
        ):
            if abs(value) >= size:
                return f"{_number(value / size)} {suffix}"
        return f"{_number(value)} B"
    suffix = {"reqps": " req/s", "rps": " /s", "ops": " ops/s", "rpm": " /min", "currencyEUR": " €"}.get(
        unit, ""
    )
    if unit == "currencyUSD":
        return f"${_number(value)}"
    for size, prefix in _SI:
        if abs(value) >= max(size, 1e6):  # counts below a million stay exact: 11,088
            return f"{_number(value / size)}{prefix}{suffix}"
    return f"{_number(value)}{suffix}"


def _duration(seconds: float) -> str:
    if seconds == 0:
        return "0 s"
    if abs(seconds) < 1:
        return f"{_number(seconds * 1000)} ms"
    if abs(seconds) < 120:
        return f"{_number(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
