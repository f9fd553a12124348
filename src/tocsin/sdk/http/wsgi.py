"""WSGI middleware, and Flask instrumentation on top of it.

::

    from tocsin.sdk.http import instrument_flask

    instrument_flask(app)

The route label is the rule Flask's router matched (``request.url_rule.rule``:
blueprints and ``url_prefix`` included), read from the werkzeug request Flask
leaves in the environ; a 405 keeps the rule of its path; requests no rule
matched are ``<unmatched>``. The request
is timed until the server closes the response iterable, so a streamed
(generator) body is measured to its end. Flask itself is imported only by
:func:`instrument_flask`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tocsin.sdk._types import Environ, StartResponse, WSGIApp, close_body

from ._core import UNMATCHED, RequestMetrics, RequestMetricsOptions, RouteSeries

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ENVIRON_KEY", "PrometheusWSGIMiddleware", "instrument_flask", "werkzeug_route"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]

#: The environ key under which the request's measurement lives while it is served.
ENVIRON_KEY = "tocsin.http"

_perf_counter = time.perf_counter


def werkzeug_route(environ: Environ) -> str | None:
    """The rule werkzeug's router matched (Flask's ``request.url_rule.rule``), if any."""
    request = environ.get("werkzeug.request")
    rule = getattr(request, "url_rule", None)
    return rule.rule if rule is not None else None  # type: ignore[no-any-return]


class _Exchange:
    """One request: its ``start_response`` wrapper and, once known, its route series."""

    __slots__ = ("_done", "_environ", "_mw", "_series", "_start_response", "_started", "_status")

    def __init__(self, mw: PrometheusWSGIMiddleware, environ: Environ, start_response: StartResponse) -> None:
        self._mw = mw
        self._environ = environ
        self._start_response = start_response
        self._status = "500"
        self._series: RouteSeries | None = None
        self._done = False
        self._started = _perf_counter()

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Any:
        self._status = status[:3]
        return self._start_response(status, headers, exc_info)

    def routed(self, route: str) -> None:
        """Count the request in progress under ``route`` (called as soon as the router matched)."""
        if self._series is None and not self._done:
            series = self._series = self._mw.request_metrics.series(self._environ["REQUEST_METHOD"], route)
            series.enter()

    def finish(self, status: str) -> None:
        if self._done:
            return
        self._done = True
        elapsed = _perf_counter() - self._started
        series = self._series
        if series is None:
            route = self._mw._route_of(self._environ) or UNMATCHED
            series = self._mw.request_metrics.series(self._environ["REQUEST_METHOD"], route)
        else:
            series.leave()
        series.record(status, elapsed)


class _Body:
    """The response iterable, measured until the server closes it (the end of a streamed body)."""

    __slots__ = ("_body", "_exchange")

    def __init__(self, body: Iterable[bytes], exchange: _Exchange) -> None:
        self._body = body
        self._exchange = exchange

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks()  # a generator: the per-chunk cost stays in C

    def _chunks(self) -> Iterator[bytes]:
        try:
            yield from self._body
        except GeneratorExit:
            raise
        except BaseException:
            self._exchange.finish("500")  # the body failed half-way: the client got a broken response
            raise

    def close(self) -> None:
        try:
            close_body(self._body)
        finally:
            self._exchange.finish(self._exchange._status)


class PrometheusWSGIMiddleware:
    """Measure every request of a WSGI app by route template.

    ``route`` reads the route template from the environ after the app ran (default:
    :func:`werkzeug_route`, right for Flask and werkzeug routing). Keyword arguments are
    those of :class:`~tocsin.sdk.http.RequestMetrics`, or pass a ready ``request_metrics``.
    An exception escaping the app counts as status 500 and is re-raised.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        route: Callable[[Environ], str | None] = werkzeug_route,
        request_metrics: RequestMetrics | None = None,
        **options: Unpack[RequestMetricsOptions],
    ) -> None:
        self.app = app
        self.request_metrics = request_metrics = RequestMetrics.given(request_metrics, **options)
        self._route_of = route
        self._excluded = request_metrics.excluded_paths

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self._excluded:
            return self.app(environ, start_response)
        exchange = environ[ENVIRON_KEY] = _Exchange(self, environ, start_response)
        try:
            body = self.app(environ, exchange.start_response)
        except BaseException as error:
            exchange.finish("500")
            route = self._route_of(environ) or UNMATCHED
            self.request_metrics.record_exception(environ["REQUEST_METHOD"], route, error)
            raise
        return _Body(body, exchange)


class _RoutedOnMatch:
    """``view_args`` of the instrumented Flask request class. Flask sets ``url_rule`` then
    ``view_args`` right after matching; this puts the request in progress under its rule then
    (cheaper than a ``before_request`` hook, and ``view_args`` is read less than ``url_rule``)."""

    def __get__(self, request: Any, owner: type | None = None) -> Any:
        return None if request is None else request.__dict__.get("_tocsin_view_args")

    def __set__(self, request: Any, view_args: Any) -> None:
        fields = request.__dict__
        fields["_tocsin_view_args"] = view_args
        rule = fields.get("url_rule")
        exchange = request.environ.get(ENVIRON_KEY) if rule is not None else None
        if exchange is not None:
            exchange.routed(rule.rule)


class _RoutedOn405:
    """``routing_exception`` of the instrumented Flask request class. Flask sets it when matching
    failed; for a 405 (the path has a rule, not for this method) werkzeug keeps only the allowed
    methods, so the rule is matched once more with one of them: only 405s pay for it, and the
    request keeps its route as it would have with the right method."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def __get__(self, request: Any, owner: type | None = None) -> Any:
        return None if request is None else request.__dict__.get("_tocsin_routing_exception")

    def __set__(self, request: Any, error: Any) -> None:
        request.__dict__["_tocsin_routing_exception"] = error
        exchange = request.environ.get(ENVIRON_KEY)
        allowed = getattr(error, "valid_methods", None)
        if exchange is None or not allowed or getattr(error, "code", None) != 405:
            return
        try:
            rule, _ = self._app.create_url_adapter(request).match(method=allowed[0], return_rule=True)
        except Exception:  # routing says no: the request stays <unmatched>
            return
        exchange.routed(rule.rule)


def instrument_flask(
    app: Any, *, request_metrics: RequestMetrics | None = None, **options: Unpack[RequestMetricsOptions]
) -> PrometheusWSGIMiddleware:
    """Measure every request of the Flask ``app``; returns the middleware it installed.

    Wraps ``app.wsgi_app``, and subclasses ``app.request_class`` so that the request is in
    progress under its rule as soon as Flask has matched it, and a 405 keeps the rule of its
    path (set a custom request class before calling this).
    """
    middleware = PrometheusWSGIMiddleware(app.wsgi_app, request_metrics=request_metrics, **options)
    app.wsgi_app = middleware
    _count_flask_exceptions(app, middleware.request_metrics)
    base = app.request_class
    fields = {
        "view_args": _RoutedOnMatch(),
        "routing_exception": _RoutedOn405(app),
        "__module__": base.__module__,
    }
    app.request_class = type(base.__name__, (base,), fields)
    return middleware


def _count_flask_exceptions(app: Any, request_metrics: RequestMetrics) -> None:
    """Flask turns an unhandled exception into a 500 inside ``wsgi_app``; its ``got_request_exception``
    signal is where the exception is still known (``http_exceptions_total``)."""
    from flask import got_request_exception, request

    def counted(sender: Any, exception: BaseException, **extra: Any) -> None:
        rule = request.url_rule
        request_metrics.record_exception(
            request.method, rule.rule if rule is not None else UNMATCHED, exception
        )

    app.extensions["tocsin_http_exceptions"] = counted  # the signal holds receivers weakly: keep it alive
    got_request_exception.connect(counted, app)
