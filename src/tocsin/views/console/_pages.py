"""The read-only pages: dashboards, alerts, targets, rules, checklist, health, logs, explore.

Each page is rendered on the server (readable without JavaScript, by a screen reader, with the keyboard);
dashboards and explore then draw their charts in the browser from ``/api/...``. A component that does not
answer gives the page an error banner naming it, never a 500.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tocsin.stack.targets import explain_scrape_error
from tocsin.views._http import HTTPError
from tocsin.views._stackapi import UpstreamError
from tocsin.views._time import RANGES
from tocsin.views.console._backtest import alert_page
from tocsin.views.console._state import Console

__all__ = ["PAGES"]

_SEVERITY_ORDER = {"critical": 0, "warning": 1}


def _script_json(payload: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: a ``</script>`` in a title cannot end it."""
    return orjson.dumps(payload).decode().replace("<", "\\u003c")


def _console(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


async def index(request: Request) -> Response:
    """``/``: Alertmanager's notification links (``/#/alerts``, ``/#/silences/new?filter=``) land here."""
    return _console(request).render(request, "index.html")


async def dashboards(request: Request) -> Response:
    console = _console(request)
    boards = console.model["dashboards"]
    return console.render(request, "dashboards.html", active="dashboards", dashboards=boards)


async def dashboard(request: Request) -> Response:
    console = _console(request)
    board = console.dashboard(request.path_params["slug"])
    if board is None:
        return console.render(
            request, "error.html", 404, active="dashboards", title="No such dashboard",
            message=f"there is no dashboard {request.path_params['slug']!r} in the spec",
        )  # fmt: skip
    start = request.query_params.get("from", board["time_from"])
    end = request.query_params.get("to", "now")
    refresh = request.query_params.get("refresh", f"{board['refresh']:g}s")
    config = {
        "slug": board["slug"],
        "panels": board["panels"],
        "from": start,
        "to": end,
        "refresh": refresh,
        "scrape": console.model["scrape_interval"],
    }
    return console.render(
        request, "dashboard.html", active="dashboards", board=board, ranges=RANGES, start=start, end=end,
        refresh=refresh, config=_script_json(config),
    )  # fmt: skip


def _relative(url: str | None) -> str | None:
    """A console link (dashboard_url) as a path, so it works whichever host name opened the console."""
    if not url:
        return None
    parts = urlsplit(url)
    return (
        parts.path + (f"#{parts.fragment}" if parts.fragment else "")
        if parts.path.startswith(("/dashboards/", "/runbooks/"))
        else url
    )


def _silence_link(labels: dict[str, str]) -> str:
    keep = ("alertname", "severity", "service", "instance", "job")
    matchers = [f'{k}="{labels[k]}"' for k in keep if k in labels]
    return "/silences/new?" + urlencode([("matcher", m) for m in matchers])


async def alerts(request: Request) -> Response:
    console = _console(request)
    api, info = console.api, console.model["alerts"]
    errors: list[str] = []

    async def guarded(coro: Any, default: Any) -> Any:
        try:
            return await coro
        except UpstreamError as exc:
            errors.append(str(exc))
            return default

    prom, managed, history = await asyncio.gather(
        guarded(api.prom("/api/v1/alerts"), {"alerts": []}),
        guarded(api.am("GET", "/alerts"), []) if console.model["alertmanager"] else asyncio.sleep(0, []),
        guarded(_history(console), []) if console.model["receiver"] else asyncio.sleep(0, []),
    )
    silenced = [a for a in managed if a.get("status", {}).get("silencedBy")]
    rows = []
    for alert in prom["alerts"]:
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        name = labels.get("alertname", "")
        meta: dict[str, Any] = dict(info.get(name, {}))
        silences = [
            sid
            for a in silenced
            if all(a["labels"].get(k) == v for k, v in labels.items())
            for sid in a["status"]["silencedBy"]
        ]
        rows.append(
            {
                "name": name,
                "state": alert.get("state", ""),
                "severity": labels.get("severity", ""),
                "priority": labels.get("priority") or meta.get("priority", ""),
                "summary": notes.get("summary", ""),
                "runbook": _relative(notes.get("runbook_url")) or meta.get("runbook"),
                "panel": _relative(notes.get("dashboard_url")) or meta.get("panel"),
                "since": alert.get("activeAt", ""),
                "value": alert.get("value", ""),
                "labels": labels,
                "silence": _silence_link(labels),
                "silenced_by": sorted(set(silences)),
            }
        )
    rows.sort(
        key=lambda r: (
            r["state"] != "firing",
            _SEVERITY_ORDER.get(r["severity"], 2),
            r["priority"],
            r["name"],
        )
    )
    return console.render(
        request, "alerts.html", active="alerts", rows=rows, history=history, errors=errors,
        firing=sum(r["state"] == "firing" for r in rows), pending=sum(r["state"] == "pending" for r in rows),
    )  # fmt: skip


async def _history(console: Console) -> list[dict[str, Any]]:
    """The receiver's one history of every sink (webhook, Slack-compatible, email), newest first."""
    rows = await console.api.receiver_get("/api/v1/notifications", {"limit": "150"})
    return [
        {
            "when": n.get("received_at"),
            "sink": n.get("sink", ""),
            "receiver": n.get("receiver", ""),
            "status": n.get("status", ""),
            "alert": n.get("alertname", ""),
            "severity": n.get("severity", ""),
            "priority": n.get("priority", ""),
            "text": n.get("summary", ""),
            "alerts": n.get("alerts", 1),
        }
        for n in rows
    ]


async def targets(request: Request) -> Response:
    console = _console(request)
    errors, rows = [], []
    try:
        data = await console.api.prom("/api/v1/targets", {"state": "active"})
    except UpstreamError as exc:
        errors.append(str(exc))
        data = {"activeTargets": []}
    for t in data["activeTargets"]:
        labels = t.get("labels", {})
        rows.append(
            {
                "job": labels.get("job", t.get("scrapePool", "")),
                "instance": labels.get("instance", ""),
                "url": t.get("scrapeUrl", ""),
                "state": t.get("health", "unknown"),
                "last": t.get("lastScrape", ""),
                "duration": t.get("lastScrapeDuration", 0),
                "error": explain_scrape_error(t.get("lastError", ""), t.get("scrapeUrl", "")),
                "raw_error": t.get("lastError", ""),
            }
        )
    rows.sort(key=lambda r: (r["state"] == "up", r["job"], r["instance"]))
    down = sum(r["state"] != "up" for r in rows)
    return console.render(request, "targets.html", active="targets", rows=rows, errors=errors, down=down)


async def rules(request: Request) -> Response:
    console = _console(request)
    errors: list[str] = []
    try:
        groups = (await console.api.prom("/api/v1/rules"))["groups"]
    except UpstreamError as exc:
        errors.append(str(exc))
        groups = []
    broken = sum(r.get("health") == "err" for g in groups for r in g.get("rules", []))
    return console.render(request, "rules.html", active="rules", groups=groups, errors=errors, broken=broken)


async def checklist(request: Request) -> Response:
    """The spec's checklist evaluated now, as ``tocsin checklist --period`` would (every period)."""
    from tocsin.history.checklist import CheckItem, error_result, judge
    from tocsin.views._time import parse_time

    console = _console(request)
    items = [CheckItem.from_json(i) for i in console.model.get("checklist") or []]
    given = request.query_params.get("at", "").strip()
    try:
        at = parse_time(given) if given else None
    except ValueError as exc:
        return console.render(
            request, "error.html", 400, active="checklist", title="Bad time", message=f"at: {exc}"
        )

    async def evaluate(item: CheckItem) -> Any:
        try:
            return judge(item, await console.api.query(item.query, at))
        except UpstreamError as exc:
            return error_result(item, exc)

    results = await asyncio.gather(*(evaluate(i) for i in items))
    failed = sum(not r.passed for r in results)
    return console.render(
        request, "checklist.html", active="checklist", results=results, failed=failed, at=at
    )


async def _probe(console: Console, url: str) -> dict[str, Any]:
    started = time.monotonic()
    try:
        reply = await console.api.http.request(
            "GET", url, headers={"Accept": "application/health+json, application/json"}, limit=5
        )
    except HTTPError as exc:
        return {"url": url, "state": "down", "code": None, "ms": None, "error": str(exc), "checks": []}
    ms = (time.monotonic() - started) * 1000
    checks: list[dict[str, Any]] = []
    status = ""
    try:
        body = reply.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        status = str(body.get("status", ""))
        raw = body.get("checks") or {}
        for key, entry in raw.items() if isinstance(raw, dict) else ():
            for item in entry if isinstance(entry, list) else [entry]:
                if isinstance(item, dict):
                    checks.append(
                        {
                            "name": key,
                            "status": str(item.get("status", "")),
                            "value": item.get("observedValue", item.get("duration_ms", "")),
                            "unit": item.get("observedUnit", "ms" if "duration_ms" in item else ""),
                            "output": str(item.get("output", item.get("error", "")) or ""),
                        }
                    )
    healthy = 200 <= reply.status < 300
    state = "up" if healthy and status not in ("warn", "degraded") else ("degraded" if healthy else "down")
    return {
        "url": url,
        "state": state,
        "code": reply.status,
        "ms": ms,
        "status": status,
        "error": "",
        "checks": checks,
    }


async def health(request: Request) -> Response:
    console = _console(request)
    services = console.model["services"]
    jobs = [(name, url) for name, s in services.items() for url in s["health"]]
    probes = await asyncio.gather(*(_probe(console, url) for _, url in jobs))
    rows = [{"service": name, **probe} for (name, _), probe in zip(jobs, probes, strict=True)]
    without = sorted(name for name, s in services.items() if not s["health"])
    return console.render(request, "health.html", active="health", rows=rows, without=without)


async def logs(request: Request) -> Response:
    from tocsin.views.console._logs import search

    console = _console(request)
    q = request.query_params
    logs = console.model.get("logs")
    if logs is None:
        db, why = (
            None,
            "this stack has no log watcher (add a logs: section to the spec, see docs/logwatch.md)",
        )
    elif not logs["enabled"]:
        db, why = None, "the log watcher's store is switched off (logs: store: enabled: false)"
    else:
        db, why = (Path(logs["db"]) if logs["db"] else console.config.logs_db), ""
    result = search(
        db,
        q.get("level") or None,
        q.get("grep") or None,
        q.get("source") or None,
        q.get("from", "now-1h"),
        q.get("to", "now"),
    )
    if why:
        result["error"] = why
    return console.render(request, "logs.html", active="logs", ranges=RANGES, q=q, **result)


async def explore(request: Request) -> Response:
    console = _console(request)
    q = request.query_params
    config = {
        "q": q.get("q", ""),
        "from": q.get("from", "now-1h"),
        "to": q.get("to", "now"),
        "scrape": console.model["scrape_interval"],
    }
    return console.render(
        request, "explore.html", active="explore", ranges=RANGES, config=_script_json(config),
        q=config["q"], start=config["from"], end=config["to"],
    )  # fmt: skip


async def graph(request: Request) -> Response:
    """Prometheus' ``/graph?g0.expr=`` (alerts' generatorURL) opened in explore."""
    expr = request.query_params.get("g0.expr", "")
    return RedirectResponse("/explore?" + urlencode({"q": expr}), status_code=302)


async def runbooks(request: Request) -> Response:
    console = _console(request)
    pages = console.model.get("runbooks") or {}
    return console.render(request, "runbooks.html", active="alerts", runbooks=pages)


async def runbook(request: Request) -> Response:
    """A runbook kept next to the spec (``runbook: runbooks/x.md``), rendered when the model was built."""
    console = _console(request)
    slug = request.path_params["slug"]
    page = (console.model.get("runbooks") or {}).get(slug)
    if page is None:
        return console.render(
            request, "error.html", 404, active="alerts", title="No such runbook",
            message=f"the spec links no runbook {slug!r} (see /runbooks)",
        )  # fmt: skip
    return console.render(request, "runbook.html", active="alerts", page=page)


async def ready(request: Request) -> Response:
    return Response("tocsin console is ready.\n", media_type="text/plain")


PAGES = {
    "/": index,
    "/alerts/{name}": alert_page,  # engineer "history": the alert's backtest
    "/dashboards": dashboards,
    "/dashboards/{slug}": dashboard,
    "/alerts": alerts,
    "/targets": targets,
    "/rules": rules,
    "/checklist": checklist,
    "/health": health,
    "/logs": logs,
    "/explore": explore,
    "/graph": graph,
    "/runbooks": runbooks,
    "/runbooks/{slug}": runbook,
    "/-/ready": ready,
    "/-/healthy": ready,
}
