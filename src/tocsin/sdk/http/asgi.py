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

``http_requests_in_progress`` needs the route before the response ends: a request
is in progress from the event loop's first turn after it arrived (routing is done
by then, unless middleware inside this one suspended before routing; then from
that turn on) until its response ends. A request answered before the loop turns
once was never observable in progress and costs the gauge nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
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
_EMPTY_CONTEXT = contextvars.Context()  # ``routed`` reads no context variable: no copy per request
# Looking again for a route not chosen at the first turn: 2 ms, 4 ms, ... up to ~0.5 s after arrival.
_RETRY_FIRST_DELAY = 0.002
_RETRIES = 8
_ENDS = frozenset({"http.response.pathsend", "http.response.zerocopysend"})


class _Request:
    """One request being measured; its bound ``send`` is what the app is given.

    An object with slots, not closures: measured cheaper per request.
    """

    __slots__ = (
        "done",
        "middleware",
        "retries",
        "root_path",
        "route_at_start",
        "routed_by",
        "scope",
        "send_next",
        "series",
        "started",
        "status",
    )

    def __init__(self, middleware: PrometheusMiddleware, scope: Scope, send: Send) -> None:
        self.middleware = middleware
        self.scope = scope
        self.send_next = send
        self.root_path: str = scope.get("root_path", "")
        self.series: RouteSeries | None = None
        self.routed_by: object = None  # the route object ``series`` was resolved from
        self.status = 500  # what the server answers when the app ends without a response
        self.done = False
        self.route_at_start = False
        self.retries = 0
        self.started = _perf_counter()

    def routed(self) -> None:
        """Put the request in progress under its route, once the router has chosen it."""
        if self.series is not None or self.done:
            return
        scope = self.scope
        route = self.middleware._templates.of_scope(scope, self.root_path)
        if route == UNMATCHED:  # not routed yet (something suspended before routing), or never
            self.route_at_start = True
            if self.retries < _RETRIES:  # look again, less and less often
                delay = _RETRY_FIRST_DELAY * 2**self.retries
                self.retries += 1
                _get_running_loop().call_later(delay, self.routed, context=_EMPTY_CONTEXT)
            return
        self.routed_by = scope.get("route")
        series = self.series = self.middleware.request_metrics.series(scope["method"], route)
        series.enter()

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            if self.route_at_start:
                self.routed()
        elif (kind == "http.response.body" and not message.get("more_body", False)) or kind in _ENDS:
            try:
                await self.send_next(message)
            finally:
                self.finish(self.status)
            return
        await self.send_next(message)

    def finish(self, status: int) -> None:
        if self.done:
            return
        self.done = True
        elapsed = _perf_counter() - self.started
        scope = self.scope
        series = self.series
        if series is not None:
            series.leave()
            if scope.get("route") is not self.routed_by:  # routing went on after the first look (rare)
                series = None
        if series is None:
            route = self.middleware._templates.of_scope(scope, self.root_path)
            series = self.middleware.request_metrics.series(scope["method"], route)
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
        request = _Request(self, scope, send)
        try:
            _get_running_loop().call_soon(request.routed, context=_EMPTY_CONTEXT)
        except RuntimeError:  # not asyncio (trio): in progress from the response start
            request.route_at_start = True
        try:
            await self.app(scope, receive, request.send)
        except BaseException:
            request.finish(500)
            raise
        request.finish(request.status)  # returned without ending the response (or the client left)
