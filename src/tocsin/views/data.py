"""What each panel shows, computed from Prometheus: the one data path of the console and ``tocsin top``.

Every panel of a dashboard is queried concurrently (:func:`dashboard_data`): range queries for
timeseries (one point per pixel of the panel, never finer than the scrape interval) and period bars,
instant queries for stat, gauge, table and plain bars. The answers are column-shaped, as uPlot wants
them: one shared time array and one value array per series, ``None`` where a series has no sample.
"""

from __future__ import annotations

import asyncio
import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tocsin.views._schema import DashboardModel, PanelModel
from tocsin.views._stackapi import StackAPI, UpstreamError, sample_value
from tocsin.views._time import choose_step

__all__ = ["dashboard_data", "legend_name", "panel_data", "range_columns", "status_of"]

_LEGEND = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
MAX_SERIES = 50  # a panel with more is unreadable; the rest are counted, not drawn


def legend_name(labels: Mapping[str, str], legend: str | None) -> str:
    """``{{route}}`` filled from the labels; without a legend, the labels as PromQL writes them."""
    if legend:
        return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), legend)
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if not shown:
        return labels.get("__name__", "value")
    return labels.get("__name__", "") + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}"


_COMPARE = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def status_of(value: float | None, panel: PanelModel) -> str:
    """``ok``, ``warning``, ``critical`` or ``nodata`` for a value against the panel's thresholds.

    Lines from an alert compare as its rule does (``ops``); a panel's own lines are reached at
    ``>=`` (or ``<=`` with ``direction: below``).
    """
    if value is None:
        return "nodata"
    lines = panel["thresholds"]
    if lines is None:
        return "ok"
    inclusive = ">=" if lines["direction"] == "above" else "<="
    ops = lines.get("ops", {})
    for level in ("critical", "warning"):
        limit = lines[level]  # type: ignore[literal-required]
        if limit is not None and _COMPARE[ops.get(level, inclusive)](value, limit):
            return level
    return "ok"


_RANK = {"nodata": 0, "ok": 1, "warning": 2, "critical": 3}


def _worst_last(series: Sequence[Mapping[str, Any]], panel: PanelModel) -> str:
    """The status of a timeseries panel: its worst series, judged by each one's latest sample."""
    statuses = [
        status_of(next((v for v in reversed(s["values"]) if v is not None), None), panel) for s in series
    ]
    return max(statuses, key=_RANK.__getitem__, default="nodata")


def _compact(stamp: float) -> float:
    """Whole seconds as integers in the JSON (``1796143140``, not ``1796143140.0``)."""
    return int(stamp) if stamp == int(stamp) else stamp


def _rounded(value: float | None) -> float | None:
    """Six significant digits: more than a chart can show, and a third less JSON than ``repr``."""
    return None if value is None else float(f"{value:.6g}")


def range_columns(
    result: Sequence[Mapping[str, Any]], start: float, end: float, step: float, legend: str | None
) -> dict[str, Any]:
    """A matrix on the step grid ``start, start+step, ..`` as ``{"t": [...], "series": [...]}``."""
    count = int((end - start) // step) + 1
    times = [_compact(start + i * step) for i in range(count)]
    series = []
    for item in list(result)[:MAX_SERIES]:
        values: list[float | None] = [None] * count
        for stamp, text in item.get("values", ()):
            i = round((float(stamp) - start) / step)
            if 0 <= i < count:
                values[i] = _rounded(sample_value(text))
        series.append({"name": legend_name(item.get("metric", {}), legend), "values": values})
    series.sort(key=lambda s: str(s["name"]))
    return {"t": times, "series": series, "dropped": max(0, len(result) - MAX_SERIES)}


def _instant(result: Sequence[Mapping[str, Any]], legend: str | None) -> list[dict[str, Any]]:
    rows = [
        {
            "name": legend_name(item.get("metric", {}), legend),
            "labels": {k: v for k, v in item.get("metric", {}).items()},
            "value": sample_value(item["value"][1]),
        }
        for item in list(result)[: MAX_SERIES * 4]
    ]
    rows.sort(key=lambda r: str(r["name"]))
    return rows


async def panel_data(
    api: StackAPI, panel: PanelModel, start: float, end: float, width: int, min_step: float
) -> dict[str, Any]:
    """One panel's answer; an error becomes ``{"error": ...}`` so one bad query blanks only its panel."""
    kind = panel["kind"]
    try:
        if kind == "timeseries":
            step = choose_step(start, end, width, min_step)
            begin = start - start % step  # steps on round times: refreshes reuse Prometheus' results
            result = await api.query_range(panel["expr"], begin, end, step)
            columns = range_columns(result, begin, end, step, panel["legend"])
            return {"kind": kind, "step": step, **columns, "status": _worst_last(columns["series"], panel)}
        if kind == "bars" and panel["period"]:
            period, span = panel["period"], panel["range"] or panel["period"]
            first = end - span + period
            result = await api.query_range(panel["expr"], first, end, period)
            columns = range_columns(result, first, end, period, panel["legend"])
            totals = [sum(v for v in s["values"] if v is not None) for s in columns["series"]]
            return {"kind": kind, "period": period, **columns, "totals": totals, "total": sum(totals)}
        rows = _instant(await api.query(panel["expr"], end), panel["legend"])
        for row in rows:
            row["status"] = status_of(row["value"], panel)
        answer: dict[str, Any] = {"kind": kind, "rows": rows}
        if kind == "bars":
            answer["total"] = sum(r["value"] for r in rows if r["value"] is not None)
        if kind in ("stat", "gauge"):
            value = rows[0]["value"] if rows else None
            answer |= {"value": value, "status": status_of(value, panel)}
        return answer
    except UpstreamError as exc:
        return {"kind": kind, "error": str(exc)}


async def dashboard_data(
    api: StackAPI,
    dashboard: DashboardModel,
    start: float,
    end: float,
    widths: Sequence[int],
    min_step: float,
) -> list[dict[str, Any]]:
    """Every panel's answer, queried concurrently, in panel order."""
    panels = dashboard["panels"]
    sizes = [widths[i] if i < len(widths) else 600 for i in range(len(panels))]
    return list(
        await asyncio.gather(
            *(panel_data(api, p, start, end, w, min_step) for p, w in zip(panels, sizes, strict=True))
        )
    )
