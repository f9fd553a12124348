"""Pure ASGI middleware for Starlette and FastAPI (never ``BaseHTTPMiddleware``).

::

    from tocsin.sdk.http import PrometheusMiddleware

    app.add_middleware(PrometheusMiddleware)

The route label is the template the framework's own router matched; no path is
matched twice. Every Starlette version writes the endpoint it matched into the
scope (``scope["endpoint"]``); the route tree is read once per app, mapping each
endpoint to its whole template, mount and include prefixes joined
(:mod:`._routes`). The app gets the server's own scope dict, so routing costs
what it costs without the middleware, whatever the number of routes.

``http_requests_in_progress`` needs the route before the response ends. The
middleware drives the app's awaitable itself and looks at the first suspension:
routing is synchronous in Starlette and FastAPI, so by then the route is known
(if something inside suspended before routing, it looks again at the next
suspensions, up to a few). A request is in progress from that point until its
response ends; one answered without ever suspending was never observable in
progress and costs the gauge nothing. This works under any event loop (asyncio,
trio) and costs nothing per suspension once the route is known.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Generator
from types import CoroutineType, coroutine
from typing import TYPE_CHECKING, Any

from tocsin.sdk._types import ASGIApp, Message, Receive, Scope, Send

from ._core import UNMATCHED, RequestMetrics, RequestMetricsOptions, RouteSeries
from ._routes import RouteTemplates

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["PrometheusMiddleware"]


_perf_counter = time.perf_counter
# Suspensions at which a route not chosen yet is looked for again, before waiting for the response.
_LOOKS = 8
_ENDS = frozenset({"http.response.pathsend", "http.response.zerocopysend"})


class _Request:
    """One request being measured; its bound ``send`` is what the app is given.

    An object with slots, not closures: measured cheaper per request.
    """

    __slots__ = (
        "done",
        "middleware",
        "root_path",
        "routed_by",
        "scope",
        "send_next",
        "series",
        "started",
        "status",
    )

    # Set by PrometheusMiddleware.__call__ (no __init__ and its call: measured cheaper).
    middleware: PrometheusMiddleware
    scope: Scope
    send_next: Send
    root_path: str  # before routing (mounts change the scope's)
    series: RouteSeries | None
    routed_by: object  # the endpoint ``series`` was resolved from, once it is
    status: int  # what the server answers when the app ends without a response: 500
    done: bool
    started: float

    def routed(self) -> bool:
        """Put the request in progress under its route if the router has chosen it; False if not yet."""
        if self.series is not None or self.done:
            return True
        scope = self.scope
        middleware = self.middleware
        endpoint = scope.get("endpoint")
        known = middleware._by_endpoint.get(id(endpoint))
        if (known is None or known[0] is not endpoint) and middleware._templates.of_scope(
            scope, self.root_path
        ) == UNMATCHED:
            return False  # not routed yet (something suspended before routing), or never
        self.routed_by = endpoint
        series = self.series = middleware._series_of(scope, self.root_path)
        series.enter()
        return True

    def send(self, message: Message) -> Awaitable[None]:
        """The ``send`` the app gets: a plain function handing back the server's awaitable,
        so that no coroutine of ours is added per message. The request ends when the app hands
        over its last body message (the server then only writes it out).

        The common end (never in progress, the route's series cached) is recorded here, without
        a call of ours in between: each Python call is ~0.1 µs, twice that inside FastAPI.
        """
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
        elif not self.done and (
            (kind == "http.response.body" and not message.get("more_body", False)) or kind in _ENDS
        ):
            self.done = True
            elapsed = _perf_counter() - self.started
            scope = self.scope
            endpoint = scope.get("endpoint")
            by_endpoint = self.middleware._by_endpoint
            known = by_endpoint.get(id(endpoint))
            if known is None or known[0] is not endpoint:  # an endpoint at several places: its route
                route = scope.get("route")
                known = by_endpoint.get(id(route))
                if known is not None and getattr(route, "endpoint", None) is not endpoint:
                    known = None
            series = None
            if self.series is None and known is not None:
                series = known[1].get(scope["method"])
            if series is not None:
                series.record(self.status, elapsed)
            else:
                self.record(self.status, elapsed)
        return self.send_next(message)

    def finish(self, status: int) -> None:
        """End the request with ``status`` if the app's messages have not ended it."""
        if not self.done:
            self.done = True
            self.record(status, _perf_counter() - self.started)

    def record(self, status: int, elapsed: float) -> None:
        scope = self.scope
        series = self.series
        if series is not None:
            series.leave()
            if scope.get("endpoint") is not self.routed_by:  # routing went on after the first look (rare)
                series = None
        if series is None:
            series = self.middleware._series_of(scope, self.root_path)
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
        request_metrics: RequestMetrics | None = None,
        **options: Unpack[RequestMetricsOptions],
    ) -> None:
        self.app = app
        self.request_metrics = request_metrics = RequestMetrics.given(request_metrics, **options)
        self._excluded = request_metrics.excluded_paths
        self._templates = RouteTemplates(app)
        # id(endpoint) -> (it, {method: series}) for endpoints that one route alone carries (not
        # one function at two paths, nor routes mounted twice): one look-up per request. Also
        # id(route) -> ... for a route object at one place (scope["route"], Starlette >= 1.7).
        self._by_endpoint: dict[int, tuple[object, dict[str, RouteSeries]]] = {}

    def _series_of(self, scope: Scope, root_path: str) -> RouteSeries:
        method = scope["method"]
        endpoint = scope.get("endpoint")
        known = self._by_endpoint.get(id(endpoint))
        if known is None or known[0] is not endpoint:
            key = self._templates.settled(scope)  # a route object, when its endpoint is at several
            known = self._by_endpoint.get(id(key)) if key is not None else None
        if known is not None:
            found = known[1].get(method)
            if found is not None:
                return found
        template = self._templates.of_scope(scope, root_path)
        series = self.request_metrics.series(method, template)
        key = self._templates.settled(scope)
        # Invented methods fold into "other" and are not cached under their own names (bounded).
        if key is not None and series.method == method:
            self._by_endpoint.setdefault(id(key), (key, {}))[1][method] = series
        return series

    @coroutine
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Generator[Any, Any, None]:
        """Drive the app's awaitable, noticing its first suspensions (see the module docstring).

        A generator-based coroutine rather than ``async def``: the request is driven from this
        one frame, without a coroutine and an awaitable object of ours in between. While the
        route is being looked for, each suspension crosses this frame; once it is known (or
        given up on) and the event loop resumes with ``None`` (asyncio always does), ``yield
        from`` hands the rest to the interpreter. Whatever the event loop sends or throws in is
        passed on unchanged.
        """
        if scope["type"] != "http" or scope["path"] in self._excluded:
            passed: Any = self.app(scope, receive, send)
            passed_steps: Any = passed if type(passed) is CoroutineType else passed.__await__()
            yield from passed_steps
            return
        request = _Request()
        request.middleware = self
        request.scope = scope
        request.send_next = send
        request.root_path = scope.get("root_path", "")
        request.series = None  # routed_by is set with it
        request.status = 500
        request.done = False
        request.started = _perf_counter()
        app_call: Any = self.app(scope, receive, request.send)
        # A coroutine is stepped directly (no wrapper object); any other awaitable through __await__.
        steps: Any = app_call if type(app_call) is CoroutineType else app_call.__await__()
        to_send: Any = None
        to_throw: BaseException | None = None
        looks = 0
        try:
            while True:
                try:
                    yielded = steps.send(to_send) if to_throw is None else steps.throw(to_throw)
                except StopIteration:
                    break
                watching = looks < _LOOKS and not request.routed()  # suspended: routing is done, usually
                looks += 1
                to_send = to_throw = None
                try:
                    to_send = yield yielded
                except GeneratorExit:
                    steps.close()
                    raise
                except BaseException as exc:  # cancellation, thrown in by the event loop
                    to_throw = exc
                if not watching and to_send is None and to_throw is None:
                    yield from steps  # resumes it with None
                    break
        except BaseException as error:
            request.finish(500)
            route = self._templates.of_scope(scope, request.root_path)
            self.request_metrics.record_exception(scope["method"], route, error)
            raise
        if not request.done:  # returned without ending the response (or the client left)
            request.finish(request.status)
