"""Pure ASGI middleware for Starlette and FastAPI (never ``BaseHTTPMiddleware``).

::

    from tocsin.sdk.http import PrometheusMiddleware

    app.add_middleware(PrometheusMiddleware)

The route label is the template the framework's own router matched; no path is
matched twice. Starlette's router writes the route it matched into the scope
(``scope["route"]``), FastAPI also the effective route of included routers (with
their prefixes); the middleware reads them and adds the prefixes of the mounts
above the route (:mod:`._routes`). The app gets the server's own scope dict, so
routing costs what it costs without the middleware, whatever the number of routes.

``http_requests_in_progress`` needs the route before the response: it is taken
on the event loop's first turn after the request started (routing is done by then
unless middleware inside this one suspends first), or else at the response start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._core import DEFAULT_BUCKETS, DEFAULT_EXCLUDED_PATHS, UNMATCHED, RequestMetrics, RouteSeries
from ._routes import RouteTemplates

__all__ = ["PrometheusMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_perf_counter = time.perf_counter
_get_running_loop = asyncio.get_running_loop
_ENDS_RESPONSE = frozenset({"http.response.pathsend", "http.response.zerocopysend"})


class _Exchange:
    """The state of one request, and the ``send`` the app is given."""

    __slots__ = ("_done", "_mw", "_root_path", "_scope", "_send", "_series", "_started", "_status")

    def __init__(self, mw: PrometheusMiddleware, scope: Scope, send: Send) -> None:
        self._mw = mw
        self._scope = scope
        self._send = send
        self._root_path: str = scope.get("root_path", "")
        self._series: RouteSeries | None = None
        self._status = 500  # what the server answers when the app ends without a response
        self._done = False
        self._started = _perf_counter()

    def routed(self) -> None:
        """Count the request in progress under its route, once the router has chosen it."""
        if self._series is not None or self._done:
            return
        route = self._mw._templates.of_scope(self._scope, self._root_path)
        if route is not UNMATCHED:
            series = self._series = self._mw.request_metrics.series(self._scope["method"], route)
            series.in_progress.inc()

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._status = message["status"]
            if self._series is None:
                self.routed()
        elif (kind == "http.response.body" and not message.get("more_body", False)) or kind in _ENDS_RESPONSE:
            try:
                await self._send(message)
            finally:
                self.finish(self._status)
            return
        await self._send(message)

    def finish(self, status: int) -> None:
        if self._done:
            return
        self._done = True
        elapsed = _perf_counter() - self._started
        series = self._series
        route = self._mw._templates.of_scope(self._scope, self._root_path)
        if series is None or series.route != route:
            if series is not None:  # routing went on after the first look (rare): the last word wins
                series.in_progress.dec()
            series = self._mw.request_metrics.series(self._scope["method"], route)
        else:
            series.in_progress.dec()
        series.record(status, elapsed)


class PrometheusMiddleware:
    """Measure every HTTP request of an ASGI app (Starlette, FastAPI) by route template.

    ``app.add_middleware(PrometheusMiddleware)`` or ``PrometheusMiddleware(app)``. Emits the
    metrics of :class:`~tocsin.sdk.http.RequestMetrics`; keyword arguments are its own, or pass
    a ready ``request_metrics`` to share one between apps. Non-HTTP scopes (lifespan, websocket)
    and ``excluded_paths`` pass straight through. A streaming response is timed until its last
    body message; an exception escaping the app counts as status 500 and is re-raised.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
        excluded_paths: Iterable[str] = DEFAULT_EXCLUDED_PATHS,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        exemplars: bool | None = None,
        request_metrics: RequestMetrics | None = None,
    ) -> None:
        self.app = app
        self.request_metrics = request_metrics = request_metrics or RequestMetrics(
            metrics, registry=registry, excluded_paths=excluded_paths, buckets=buckets, exemplars=exemplars
        )
        self._excluded = request_metrics.excluded_paths
        self._templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._excluded:
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(self, scope, send)
        try:
            _get_running_loop().call_soon(exchange.routed)
        except RuntimeError:  # not asyncio (trio): the route is taken at the response start
            pass
        try:
            await self.app(scope, receive, exchange.send)
        except BaseException:
            exchange.finish(500)
            raise
        exchange.finish(exchange._status)  # returned without ending the response (or client left)
