# ruff: noqa: E501 - PromQL and SVG markup read best on one line each
"""Charts as SVG: the same markup inlined in the HTML report and rendered to PNG for Markdown.

Hand-written because a report needs two chart shapes (lines over time, bars per day) that must look the
same inline and as PNG, offline, with no script: the SVG is plain elements and presentation attributes
(no CSS, no fonts beyond a generic family) so a browser and cairosvg draw it identically.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape

from tocsin.history.report._doc import Chart, format_value

__all__ = ["PALETTE", "chart_svg"]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 40


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(count + 3) if first + i * step <= high + step * 0.5]


def _time_label(ts: float, span: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    if span <= 2 * 86400:
        return moment.strftime("%H:%M")
    return moment.strftime("%d %b")


def _time_ticks(start: float, end: float) -> list[float]:
    """Round UTC times inside the range: midnights (every n days) past two days, else whole hours."""
    span = end - start
    hours = (1, 2, 3, 6, 12)
    if span > 2 * 86400:
        every = 86400 * max(1, math.ceil(span / 86400 / 8))
    else:
        every = 3600 * next((h for h in hours if span / (3600 * h) <= 8), 24)
    first = math.ceil(start / every) * every
    ticks = [t for t in range(int(first), int(end) + 1, int(every))]
    margin = span * 0.04  # a label centred on the very edge would be cut
    return [float(t) for t in ticks if start + margin <= t <= end - margin]


def chart_svg(chart: Chart, start: float, end: float) -> str:
    """One self-contained ``<svg>`` for ``chart`` over ``[start, end]`` (UTC axis)."""
    values = [v for s in chart.series for _, v in s.points if math.isfinite(v)]
    values += [v for v in (chart.warning, chart.critical) if v is not None]
    low = min([0.0, *values]) if values else 0.0
    high = max(values) if values else 1.0
    ticks = _ticks(low, high)
    low, high = min(ticks[0], low), max(ticks[-1], high)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(end - start, 1.0)

    def x(ts: float) -> float:
        return LEFT + (ts - start) / span * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - (v - low) / ((high - low) or 1) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' role="img" aria-label="{escape(chart.title)}" font-family="sans-serif" font-size="11">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold" fill="#222222">{escape(chart.title)}</text>',
    ]
    for tick in ticks:
        if low <= tick <= high:
            out.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e5e5"/>'
            )
            out.append(
                f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#555555">'
                f"{escape(format_value(tick, chart.unit))}</text>"
            )
    for ts in _time_ticks(start, end):
        out.append(
            f'<line x1="{x(ts):.1f}" x2="{x(ts):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" stroke="#999999"/>'
        )
        out.append(
            f'<text x="{x(ts):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555555">'
            f"{_time_label(ts, span)}</text>"
        )
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#999999"/>'
    )
    for value, colour, name in (
        (chart.warning, "#e6a700", "warning"),
        (chart.critical, "#d62728", "critical"),
    ):
        if value is not None:
            out.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{colour}"'
                f' stroke-dasharray="6 4"><title>{name} {escape(format_value(value, chart.unit))}</title></line>'
            )
    for index, series in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        points = [(ts, v) for ts, v in series.points if math.isfinite(v)]
        if chart.kind == "bars" and points:
            width = max(2.0, plot_w / max(len(points), 1) / max(len(chart.series), 1) * 0.8)
            for ts, v in points:
                top, base = y(max(v, 0)), y(min(v, 0) if low < 0 else low)
                left = x(ts) - width * (
                    len(chart.series) - index
                )  # a bar ends at its sample: the day before it
                out.append(
                    f'<rect x="{max(left, LEFT):.1f}" y="{top:.1f}" width="{width:.1f}"'
                    f' height="{max(base - top, 0.5):.1f}" fill="{colour}"/>'
                )
            continue
        path, pen = [], "M"
        previous: float | None = None
        gap = span / 50
        for ts, v in points:
            if previous is not None and ts - previous > gap:
                pen = "M"  # no line across missing data
            path.append(f"{pen}{x(ts):.1f},{y(v):.1f}")
            pen, previous = "L", ts
        if path:
            out.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    legend_x = LEFT
    named = len(chart.series) > 1 or any(s.label != "value" for s in chart.series)
    for index, series in enumerate(chart.series[:8] if named else []):
        colour = PALETTE[index % len(PALETTE)]
        label = escape(series.label[:40])
        out.append(f'<rect x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{legend_x + 14}" y="{HEIGHT - 5}" fill="#333333">{label}</text>')
        legend_x += 24 + 6 * len(series.label[:40])
    if not chart.series:
        out.append(
            f'<text x="{WIDTH / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#999999">no data</text>'
        )
    out.append("</svg>")
    return "".join(out)
