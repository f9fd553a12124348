"""JSON for the charts: a dashboard's panels (all queried concurrently), explore's query and completion."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tocsin.views._stackapi import UpstreamError
from tocsin.views._time import choose_step, parse_time
from tocsin.views.console._state import Console
from tocsin.views.data import dashboard_data, range_columns

__all__ = ["API_ROUTES"]

_NAMES_TTL = 30.0


def _json(payload: Any, status: int = 200) -> Response:
    # orjson writes NaN/Inf as null, which is what a chart wants for a missing sample
    return Response(
        orjson.dumps(payload),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def _console(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def _range(request: Request, default_from: str) -> tuple[float, float]:
    now = time.time()
    start = parse_time(request.query_params.get("from", default_from), now)
    end = parse_time(request.query_params.get("to", "now"), now)
    if end <= start:
        raise ValueError("the range ends before it starts (from must be before to)")
    return start, end


def _widths(text: str) -> list[int]:
    try:
        return [min(max(int(w), 10), 4000) for w in text.split(",") if w]
    except ValueError:
        raise ValueError(f"widths {text!r} are not pixel counts like 600,300") from None


async def dashboard_json(request: Request) -> Response:
    console = _console(request)
    board = console.dashboard(request.path_params["slug"])
    if board is None:
        return _json({"error": f"no dashboard {request.path_params['slug']!r}"}, 404)
    try:
        start, end = _range(request, board["time_from"])
        widths = _widths(request.query_params.get("widths", ""))
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    panels = await dashboard_data(console.api, board, start, end, widths, console.model["scrape_interval"])
    return _json({"from": start, "to": end, "panels": panels})


async def query(request: Request) -> Response:
    """Explore: the graph (range) and the table (instant at the range's end) of one expression."""
    console = _console(request)
    expr = request.query_params.get("q", "").strip()
    if not expr:
        return _json({"error": "type a PromQL expression"}, 400)
    try:
        start, end = _range(request, "now-1h")
        width = _widths(request.query_params.get("width", "800"))[0]
    except (ValueError, IndexError) as exc:
        return _json({"error": str(exc) or "bad width"}, 400)
    step = choose_step(start, end, width, console.model["scrape_interval"])
    begin = start - start % step
    try:
        instant = await console.api.query(expr, end)
        series = await console.api.query_range(expr, begin, end, step)
    except UpstreamError as exc:
        return _json({"error": str(exc)}, 422)
    rows = [{"labels": r.get("metric", {}), "value": r["value"][1]} for r in instant[:500]]
    graph = range_columns(series, begin, end, step, None) if series and "values" in series[0] else None
    return _json({"rows": rows, "graph": graph, "step": step, "count": len(instant)})


async def metric_names(request: Request) -> Response:
    """Metric names for explore's completion, cached for half a minute."""
    console = _console(request)
    cached = getattr(request.app.state, "names", None)
    if cached and time.monotonic() - cached[0] < _NAMES_TTL:
        return _json(cached[1])
    try:
        names = await console.api.prom("/api/v1/label/__name__/values")
    except UpstreamError as exc:
        return _json({"error": str(exc)}, 502)
    request.app.state.names = (time.monotonic(), names)
    return _json(names)


API_ROUTES = [
    ("/api/dashboards/{slug}", dashboard_json),
    ("/api/query", query),
    ("/api/metric-names", metric_names),
]
