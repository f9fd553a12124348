"""A small Prometheus HTTP API client, sync and async, on httpx.

Both twins share one core: a :class:`_Call` says what to request and how to read the answer, so the only
code that differs between :class:`PrometheusAPI` and :class:`AsyncPrometheusAPI` is the line that sends it
(the httpx habit; copying the twins by hand is how they drift apart)::

    from tocsin.promapi import PrometheusAPI

    with PrometheusAPI("http://127.0.0.1:9090") as prom:
        prom.ready()                      # True once the TSDB is loaded
        prom.query("up")                  # [{"metric": {...}, "value": [ts, "1"]}, ...]
        prom.targets()                    # active targets with health and lastError
        prom.web_ui("targets")            # the targets page's URL on this build (React or classic UI)

The same calls work against an Alertmanager for :meth:`~PrometheusAPI.ready`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

import httpx
import orjson

from tocsin.errors import TocsinError

__all__ = ["AsyncPrometheusAPI", "BadQueryError", "PrometheusAPI", "PrometheusAPIError"]

Time = float | datetime | str


class PrometheusAPIError(TocsinError):
    """Prometheus answered with an error (bad query, not ready) or could not be reached; says which URL.

    ``error_type`` is Prometheus' ``errorType`` (``bad_data``, ``execution``, ``timeout``...) when it
    answered, ``""`` when it could not be reached.
    """

    def __init__(self, message: str, error_type: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type


class BadQueryError(PrometheusAPIError):
    """Prometheus rejected the request itself (``bad_data``: PromQL that does not parse, a bad time or
    step): a usage error, so the CLI exits 2 rather than 1 as for an unreachable server."""

    exit_code = 2


def _time(value: Time) -> str:
    if isinstance(value, datetime):
        return f"{value.timestamp():.3f}"
    if isinstance(value, float | int):
        return f"{value:.3f}"
    return value


def _data(response: httpx.Response) -> Any:
    """The ``data`` member of a Prometheus API answer, or a :class:`PrometheusAPIError` naming the URL."""
    try:
        body = orjson.loads(response.content)  # 3-5x faster than json on big range-query answers
    except ValueError:
        raise PrometheusAPIError(
            f"{response.request.url}: HTTP {response.status_code}, not a Prometheus API answer"
        ) from None
    if not isinstance(body, dict):
        raise PrometheusAPIError(
            f"{response.request.url}: HTTP {response.status_code}, not a Prometheus API answer"
        )
    if body.get("status") != "success":
        kind = str(body.get("errorType", "error"))
        error = BadQueryError if kind == "bad_data" else PrometheusAPIError
        raise error(f"{response.request.url}: {kind}: {body.get('error', response.text)}", kind)
    return body["data"]


@dataclass(frozen=True)
class _Call:
    """One request and how to read its answer: the whole shared core of both clients."""

    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    parse: Callable[[httpx.Response], Any] = _data


def _query(expr: str, time: Time | None) -> _Call:
    params = {"query": expr}
    if time is not None:
        params["time"] = _time(time)
    return _Call("/api/v1/query", params, lambda r: _data(r)["result"])


def _query_range(expr: str, start: Time, end: Time, step: float | str) -> _Call:
    params = {"query": expr, "start": _time(start), "end": _time(end), "step": str(step)}
    return _Call("/api/v1/query_range", params, lambda r: _data(r)["result"])


def _label_values(label: str, match: str | None, start: Time | None, end: Time | None) -> _Call:
    params = {"match[]": match} if match else {}
    if start is not None:
        params["start"] = _time(start)
    if end is not None:
        params["end"] = _time(end)
    return _Call(f"/api/v1/label/{label}/values", params, lambda r: list(_data(r)))


def _targets(state: str) -> _Call:
    return _Call("/api/v1/targets", {"state": state}, lambda r: _data(r)["activeTargets"])


def _alerts() -> _Call:
    return _Call("/api/v1/alerts", {}, lambda r: _data(r)["alerts"])


def _rules(kind: str | None) -> _Call:
    return _Call("/api/v1/rules", {"type": kind} if kind else {}, lambda r: _data(r)["groups"])


def _ready() -> _Call:
    return _Call("/-/ready", {}, lambda r: r.status_code == 200)


#: where each build serves a web UI page: the React UI at ``/<page>``, or only the classic UI at
#: ``/classic/<page>`` (Debian's Prometheus 2.42 ships no React UI: its ``/targets`` is a 404)
_UI_PLACES = ("/{page}", "/classic/{page}")


def _ui_page(place: str, page: str) -> _Call:
    return _Call(place.format(page=page), {}, lambda r: r.status_code == 200)


def _ui_missing(base_url: str, page: str) -> PrometheusAPIError:
    tried = ", ".join(base_url + place.format(page=page) for place in _UI_PLACES)
    return PrometheusAPIError(f"{base_url}: no web UI page {page!r} (tried {tried})")


def _error(base_url: str, call: _Call, exc: httpx.HTTPError) -> PrometheusAPIError:
    what = f"{exc.__class__.__name__}: {exc}"
    if isinstance(exc, httpx.ConnectError):  # the usual case: no stack running (report, export from cron)
        what = (
            f"cannot connect ({what}): is Prometheus running at {base_url}? "
            "(`tocsin status` says; `tocsin up` starts the stack, --prometheus URL reads another)"
        )
    return PrometheusAPIError(f"{base_url}{call.path}: {what}")


class _Base:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")


class PrometheusAPI(_Base):
    """Blocking client; use as a context manager or call :meth:`close`."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        super().__init__(base_url)
        self._client = client or httpx.Client(base_url=self.base_url, timeout=timeout)

    def _send(self, call: _Call) -> Any:
        try:
            response = self._client.get(call.path, params=dict(call.params))
        except httpx.HTTPError as exc:
            raise _error(self.base_url, call, exc) from exc
        return call.parse(response)

    def query(self, expr: str, time: Time | None = None) -> list[dict[str, Any]]:
        """Instant query: the ``result`` list (vector samples)."""
        return self._send(_query(expr, time))  # type: ignore[no-any-return]

    def query_range(self, expr: str, start: Time, end: Time, step: float | str) -> list[dict[str, Any]]:
        """Range query: the ``result`` list (one matrix series per label set)."""
        return self._send(_query_range(expr, start, end, step))  # type: ignore[no-any-return]

    def label_values(
        self, label: str, match: str | None = None, start: Time | None = None, end: Time | None = None
    ) -> list[str]:
        """The values ``label`` takes (``__name__``: the metric names), of the series ``match``
        selects with samples in ``[start, end]`` when given: one index read, no sample read."""
        return self._send(_label_values(label, match, start, end))  # type: ignore[no-any-return]

    def targets(self, state: str = "active") -> list[dict[str, Any]]:
        """Scrape targets with ``health`` (up/down/unknown), ``lastError`` and ``scrapeUrl``."""
        return self._send(_targets(state))  # type: ignore[no-any-return]

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts as Prometheus sees them."""
        return self._send(_alerts())  # type: ignore[no-any-return]

    def rules(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Loaded rule groups (``kind`` "alert" or "record" filters)."""
        return self._send(_rules(kind))  # type: ignore[no-any-return]

    def ready(self) -> bool:
        """True when ``/-/ready`` answers 200; False while starting or unreachable."""
        try:
            return bool(self._send(_ready()))
        except PrometheusAPIError:
            return False

    def web_ui(self, page: str = "targets") -> str:
        """The URL of a page of this server's web UI (``targets``, ``graph``, ``alerts``, ``rules``) that
        opens here: ``/<page>`` where Prometheus serves its React UI, ``/classic/<page>`` where it has
        only the classic one. Both take the same query strings (``graph?g0.expr=...``)."""
        for place in _UI_PLACES:
            if self._send(_ui_page(place, page)):
                return self.base_url + place.format(page=page)
        raise _ui_missing(self.base_url, page)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncPrometheusAPI(_Base):
    """The asyncio twin of :class:`PrometheusAPI`, same methods awaited."""

    def __init__(
        self, base_url: str, *, timeout: float = 5.0, client: httpx.AsyncClient | None = None
    ) -> None:
        super().__init__(base_url)
        self._client = client or httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def _send(self, call: _Call) -> Any:
        try:
            response = await self._client.get(call.path, params=dict(call.params))
        except httpx.HTTPError as exc:
            raise _error(self.base_url, call, exc) from exc
        return call.parse(response)

    async def query(self, expr: str, time: Time | None = None) -> list[dict[str, Any]]:
        """Instant query: the ``result`` list (vector samples)."""
        return await self._send(_query(expr, time))  # type: ignore[no-any-return]

    async def query_range(self, expr: str, start: Time, end: Time, step: float | str) -> list[dict[str, Any]]:
        """Range query: the ``result`` list (one matrix series per label set)."""
        return await self._send(_query_range(expr, start, end, step))  # type: ignore[no-any-return]

    async def label_values(
        self, label: str, match: str | None = None, start: Time | None = None, end: Time | None = None
    ) -> list[str]:
        """The values ``label`` takes (see :meth:`PrometheusAPI.label_values`)."""
        return await self._send(_label_values(label, match, start, end))  # type: ignore[no-any-return]

    async def targets(self, state: str = "active") -> list[dict[str, Any]]:
        """Scrape targets with ``health`` (up/down/unknown), ``lastError`` and ``scrapeUrl``."""
        return await self._send(_targets(state))  # type: ignore[no-any-return]

    async def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts as Prometheus sees them."""
        return await self._send(_alerts())  # type: ignore[no-any-return]

    async def rules(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Loaded rule groups (``kind`` "alert" or "record" filters)."""
        return await self._send(_rules(kind))  # type: ignore[no-any-return]

    async def ready(self) -> bool:
        """True when ``/-/ready`` answers 200; False while starting or unreachable."""
        try:
            return bool(await self._send(_ready()))
        except PrometheusAPIError:
            return False

    async def web_ui(self, page: str = "targets") -> str:
        """The URL of a page of this server's web UI that opens here (see :meth:`PrometheusAPI.web_ui`)."""
        for place in _UI_PLACES:
            if await self._send(_ui_page(place, page)):
                return self.base_url + place.format(page=page)
        raise _ui_missing(self.base_url, page)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
