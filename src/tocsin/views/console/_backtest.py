"""An alert's page: its backtest over the range of the dashboard that shows it (or ``?from=&to=``).

The alert's compiled rules come with the view model (``rules``, from
:func:`tocsin.history.backtest.light.rule_models`); the console plans the range queries with
:func:`~tocsin.history.backtest.light.plan_requests`, sends them through its own client and replays the
answers with :func:`~tocsin.history.backtest.light.replay_answers` (stdlib only: the console stays light).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tocsin.history.backtest.light import plan_requests, replay_answers
from tocsin.views._stackapi import UpstreamError
from tocsin.views._time import parse_time
from tocsin.views.console._state import Console

__all__ = ["alert_page"]

_WIDTH = 900
_ROW = 26


def _range(console: Console, info: dict[str, Any], request: Request) -> tuple[float, float, str]:
    panel = info.get("panel") or ""
    slug = panel.split("/dashboards/", 1)[-1].split("#", 1)[0] if "/dashboards/" in panel else ""
    board = console.dashboard(slug) if slug else None
    default = board["time_from"] if board else "now-24h"
    now = time.time()
    start = parse_time(request.query_params.get("from", default), now)
    end = parse_time(request.query_params.get("to", "now"), now)
    if end <= start:
        raise ValueError("the range ends before it starts (from must be before to)")
    return start, end, default


def _timeline(
    result: dict[str, Any], rules: list[dict[str, Any]], start: float, end: float
) -> dict[str, Any]:
    """Bars for an SVG: one row per rule, firing episodes red/amber, pending-only ones grey ticks."""
    span = end - start

    def x(ts: float) -> float:
        return round(max(0.0, min(1.0, (ts - start) / span)) * _WIDTH, 1)

    rows = []
    for index, rule in enumerate(rules):
        severity = rule["labels"].get("severity", "")
        bars = []
        for e in result["episodes"]:
            if e["alert"] != rule["alert"] or e["labels"].get("severity", "") != severity:
                continue
            begin = e["fired_at"] if e["fired_at"] is not None else e["active_at"]
            stop = e["resolved_at"] if e["resolved_at"] is not None else end
            kind = (
                ("critical" if severity == "critical" else "warning")
                if e["fired_at"] is not None
                else "pending"
            )
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(begin))
            bars.append(
                {
                    "x": x(begin),
                    "w": max(1.5, x(stop) - x(begin)),
                    "kind": kind,
                    "title": f"{kind} {when} UTC",
                }
            )
        rows.append({"y": index * _ROW, "label": severity or rule["alert"], "bars": bars})
    return {"width": _WIDTH, "height": max(1, len(rules)) * _ROW, "rows": rows}


async def alert_page(request: Request) -> Response:
    console: Console = request.app.state.console
    name = request.path_params["name"]
    info: dict[str, Any] | None = console.model["alerts"].get(name)  # type: ignore[assignment]
    if info is None:
        return console.render(request, "error.html", 404, active="alerts", title="No such alert",
                              message=f"no alert {name!r} in the spec")  # fmt: skip
    rules = list(info.get("rules") or [])
    error, result, timeline = "", None, None
    try:
        start, end, default = _range(console, info, request)
    except ValueError as exc:
        start, end, default, error = time.time() - 86400, time.time(), "now-24h", str(exc)
    if rules and not error:
        requests = plan_requests(rules, start, end)
        try:
            answers = await asyncio.gather(
                *(console.api.query_range(r["query"], r["start"], r["end"], r["step"]) for r in requests)
            )
            result = replay_answers(rules, requests, answers, start, end)
            timeline = _timeline(result, rules, start, end)
        except UpstreamError as exc:
            error = str(exc)
    return console.render(
        request, "alert.html", active="alerts", name=name, info=info, result=result, timeline=timeline,
        error=error, start=start, end=end, default=default,
    )  # fmt: skip
