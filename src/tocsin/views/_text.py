"""Panels as lines of text with Rich markup, for ``tocsin top``: sparklines, bars, gauges, tables.

Pure functions of a panel and its data (:mod:`tocsin.views.data`), so they are tested without a terminal.
Every status is a word and a shape as well as a colour (``✓ OK``, ``◆ WARNING``, ``▲ CRITICAL``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.markup import escape

from tocsin.views._schema import PanelModel
from tocsin.views.units import format_value

__all__ = ["STATUS", "alert_lines", "panel_lines", "sparkline"]

STATUS = {
    "ok": "[green]✓ OK[/]",
    "warning": "[yellow]◆ WARNING[/]",
    "critical": "[bold red]▲ CRITICAL[/]",
    "nodata": "[dim]– NO DATA[/]",
    "error": "[bold red]✗ ERROR[/]",
}
_TICKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None], width: int) -> str:
    """The last ``width`` samples as block characters, a space where a sample is missing."""
    tail = list(values)[-width:]
    present = [v for v in tail if v is not None]
    if not present:
        return ""
    lo, hi = min(present), max(present)
    span = (hi - lo) or 1.0
    return "".join(" " if v is None else _TICKS[min(int((v - lo) / span * 7.999), 7)] for v in tail)


def _bar(fraction: float, width: int) -> str:
    full = max(0, min(width, round(fraction * width)))
    return "█" * full + "░" * (width - full)


def _last(values: Sequence[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def panel_lines(panel: PanelModel, data: dict[str, Any], width: int = 60) -> list[str]:
    """The panel's title line and its body, at most ``width`` cells wide."""
    unit, kind = panel["unit"], panel["kind"]
    title = f"[bold]{escape(panel['title'])}[/]"
    if "error" in data:
        return [f"{title}  {STATUS['error']}", f"  [red]{escape(str(data['error']))}[/]"]
    if kind in ("stat", "gauge"):
        status = data["status"]
        line = f"{title}  [bold]{escape(format_value(data['value'], unit))}[/]  {STATUS[status]}"
        if kind == "gauge" and data["value"] is not None:
            top = (
                panel["max"]
                or max(
                    data["value"], *(v for v in (panel["thresholds"] or {}).values() if isinstance(v, float))
                )
                * 1.25
            )
            low = panel["min"] or 0.0
            line += "  " + _bar((data["value"] - low) / ((top - low) or 1), 20)
        extra = [
            f"  {escape(r['name'])}: {escape(format_value(r['value'], unit))}" for r in data["rows"][1:6]
        ]
        return [line, *extra]
    if kind == "timeseries":
        series = data["series"]
        if not series:
            return [f"{title}  {STATUS['nodata']}"]
        name_width = min(24, max(len(s["name"]) for s in series))
        spark = max(10, width - name_width - 14)
        lines = [title]
        for s in series[:8]:
            value = escape(format_value(_last(s["values"]), unit))
            name = escape(s["name"][:name_width])
            lines.append(f"  {name:<{name_width}} {sparkline(s['values'], spark)} {value}")
        if len(series) > 8:
            lines.append(f"  [dim]+{len(series) - 8} more series[/]")
        return lines
    if kind == "bars":
        if data.get("period"):
            items = [
                (
                    time.strftime(
                        "%a %d" if data["period"] >= 86400 else "%H:%M", time.localtime(t - data["period"])
                    ),
                    v,
                )
                for s in data["series"][:1]
                for t, v in zip(data["t"], s["values"], strict=True)
            ]
        else:
            items = [(r["name"], r["value"]) for r in data["rows"][:12]]
        if not items:
            return [f"{title}  {STATUS['nodata']}"]
        top = max((v or 0 for _, v in items), default=0) or 1.0
        label = min(20, max(len(n) for n, _ in items))
        lines = [title]
        bar_width = max(10, width - label - 16)
        for name, value in items:
            bar = _bar((value or 0) / top, bar_width)
            lines.append(f"  {escape(name[:label]):<{label}} {bar} {escape(format_value(value, unit))}")
        lines.append(f"  {'Total':<{label}} [bold]{escape(format_value(data['total'], unit))}[/]")
        return lines
    rows = data["rows"][:10]
    if not rows:
        return [f"{title}  {STATUS['nodata']}"]
    return [title] + [
        f"  {escape(r['name'])}: {escape(format_value(r['value'], unit))} {STATUS[r['status']]}" for r in rows
    ]


def alert_lines(alerts: Sequence[dict[str, Any]]) -> list[str]:
    """Firing alerts first, then pending: state, name, severity, priority, since, summary."""
    order = sorted(
        alerts, key=lambda a: (a.get("state") != "firing", a.get("labels", {}).get("alertname", ""))
    )
    lines = []
    for alert in order:
        labels = alert.get("labels", {})
        state = "[bold red]● FIRING[/]" if alert.get("state") == "firing" else "[magenta]○ PENDING[/]"
        since = alert.get("activeAt", "")[11:19]
        summary = alert.get("annotations", {}).get("summary", "")
        lines.append(
            f"{state} [bold]{escape(labels.get('alertname', ''))}[/] {escape(labels.get('severity', ''))} "
            f"{escape(labels.get('priority', ''))} since {since}  {escape(summary)}"
        )
    return lines or ["[green]✓ no alert firing[/]"]
