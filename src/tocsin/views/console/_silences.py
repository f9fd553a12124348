"""Silences through Alertmanager's v2 API: Debian's Alertmanager ships no UI, so this is it.

List, create (matchers pre-filled from an alert: ``/silences/new?matcher=alertname="X"``), expire. With an
HA pair the call goes to the first Alertmanager that answers; the cluster gossips the silence to the
other. Matchers are written as in PromQL and amtool: ``name="value"``, ``name!=value``, ``name=~regex``,
``name!~regex``.
"""

from __future__ import annotations

import getpass
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tocsin.views._stackapi import UpstreamError
from tocsin.views._time import seconds
from tocsin.views.console._state import Console

__all__ = ["SILENCE_ROUTES", "parse_matcher"]

_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
DURATIONS = ("15m", "1h", "2h", "4h", "8h", "1d", "7d")


def parse_matcher(text: str) -> dict[str, Any]:
    """``severity="warning"`` → Alertmanager's matcher object; ValueError saying how to write one."""
    match = _MATCHER.match(text)
    if match is None:
        raise ValueError(
            f'{text!r} is not a matcher: write name="value", name!=value, name=~regex or name!~regex'
        )
    name, op, value = match.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"')
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{text!r}: the regex does not compile ({exc})") from None
    return {"name": name, "value": value, "isRegex": op in ("=~", "!~"), "isEqual": op in ("=", "=~")}


def _show(matcher: dict[str, Any]) -> str:
    op = {(True, False): "=", (False, False): "!=", (True, True): "=~", (False, True): "!~"}[
        (bool(matcher.get("isEqual", True)), bool(matcher["isRegex"]))
    ]
    return f'{matcher["name"]}{op}"{matcher["value"]}"'


def _console(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


async def silences(request: Request) -> Response:
    console = _console(request)
    errors: list[str] = []
    try:
        found = await console.api.am("GET", "/silences")
    except UpstreamError as exc:
        errors.append(str(exc))
        found = []
    order = {"active": 0, "pending": 1, "expired": 2}
    found.sort(key=lambda s: (order.get(s["status"]["state"], 3), s.get("endsAt", "")), reverse=False)
    for s in found:
        s["shown"] = [_show(m) for m in s.get("matchers", [])]
    return console.render(
        request, "silences.html", active="silences", silences=found, errors=errors,
        created=request.query_params.get("created", ""), expired=request.query_params.get("expired", ""),
        counts={state: sum(s["status"]["state"] == state for s in found) for state in order},
    )  # fmt: skip


def _form(
    console: Console,
    request: Request,
    *,
    matchers: list[str],
    problems: list[str],
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    values = values or {}
    return console.render(
        request, "silence_new.html", status, active="silences", matchers="\n".join(matchers),
        problems=problems, durations=DURATIONS, duration=values.get("duration", "2h"),
        author=values.get("author") or _author(),
        comment=values.get("comment", ""),
    )  # fmt: skip


def _author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


async def new_silence(request: Request) -> Response:
    matchers = request.query_params.getlist("matcher")
    filter_ = request.query_params.get("filter", "")  # Alertmanager's own link: filter={a="b",c="d"}
    if filter_:
        matchers += [m for m in (part.strip() for part in filter_.strip("{}").split(",")) if m]
    return _form(_console(request), request, matchers=matchers, problems=[])


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def _checked_form(request: Request) -> tuple[dict[str, str], str | None]:
    # urlencoded only (what the console's forms send): no python-multipart needed in this process
    body = await request.body()
    values = (
        dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)) if len(body) < 65536 else {}
    )
    if not _same_origin(request) or values.get("csrf") != _console(request).token:
        return values, "this form was not sent by this console (reload the page and send it again)"
    return values, None


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


async def create_silence(request: Request) -> Response:
    console = _console(request)
    values, refused = await _checked_form(request)
    lines = [line for line in values.get("matchers", "").splitlines() if line.strip()]
    if refused:
        return _form(console, request, matchers=lines, problems=[refused], status=403, values=values)
    problems, matchers = [], []
    for line in lines:
        try:
            matchers.append(parse_matcher(line))
        except ValueError as exc:
            problems.append(str(exc))
    if not matchers and not problems:
        problems.append('give at least one matcher, e.g. alertname="BookshopErrorRate"')
    try:
        length = seconds(values.get("duration", "").strip())
        if length <= 0:
            raise ValueError("a silence must last longer than 0")
    except ValueError:
        problems.append(f"duration {values.get('duration', '')!r} is not like 2h, 30m or 1d")
        length = 0
    for field, what in (("author", "who creates the silence"), ("comment", "why (Alertmanager requires it)")):
        if not values.get(field, "").strip():
            problems.append(f"{field} is empty: say {what}")
    if problems:
        return _form(console, request, matchers=lines, problems=problems, status=400, values=values)
    now = time.time()
    body = {
        "matchers": matchers,
        "startsAt": _iso(now),
        "endsAt": _iso(now + length),
        "createdBy": values["author"].strip(),
        "comment": values["comment"].strip(),
    }
    try:
        created = await console.api.am("POST", "/silences", json=body)
    except UpstreamError as exc:
        return _form(console, request, matchers=lines, problems=[str(exc)], status=502, values=values)
    return RedirectResponse(f"/silences?created={created['silenceID']}", status_code=303)


async def expire_silence(request: Request) -> Response:
    console = _console(request)
    _, refused = await _checked_form(request)
    sid = request.path_params["sid"]
    if refused:
        return console.render(request, "error.html", 403, active="silences", title="Refused", message=refused)
    if not re.fullmatch(r"[0-9a-fA-F-]{8,64}", sid):
        return console.render(
            request, "error.html", 400, active="silences", title="Bad silence id", message=sid
        )
    try:
        await console.api.am("DELETE", f"/silence/{sid}")
    except UpstreamError as exc:
        return console.render(
            request, "error.html", 502, active="silences", title="Could not expire", message=str(exc)
        )
    return RedirectResponse(f"/silences?expired={sid}", status_code=303)


SILENCE_ROUTES = [
    ("/silences", silences, ["GET"]),
    ("/silences/new", new_silence, ["GET"]),
    ("/silences", create_silence, ["POST"]),
    ("/silences/{sid}/expire", expire_silence, ["POST"]),
]
