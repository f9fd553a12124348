"""Django middleware, sync and async: put it first in ``MIDDLEWARE``.

::

    MIDDLEWARE = [
        "tocsin.sdk.http.django.PrometheusMiddleware",
        ...
    ]

The route label is ``request.resolver_match.route`` as Django gives it: joined
across ``include()``, the regex for ``re_path``; ``/`` for the empty root route
(an empty label would mean "no label" to Prometheus). A request no URL pattern
matched is ``<unmatched>``. Streaming responses are timed until Django closes
them, after the last chunk. Options come from the ``TOCSIN_HTTP`` setting, a dict
of :class:`~tocsin.sdk.http.RequestMetrics` keyword arguments
(``{"excluded_paths": ["/metrics", "/health"]}``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from ._core import UNMATCHED, RequestMetrics, RouteSeries

__all__ = ["PrometheusMiddleware"]

_perf_counter = time.perf_counter
_SERIES_ATTR = "_tocsin_series"


def _request_metrics() -> RequestMetrics:
    """From the ``TOCSIN_HTTP`` setting; the metrics themselves are get-or-create in the factory,
    so middleware chains built more than once (tests, several handlers) share them."""
    options = getattr(settings, "TOCSIN_HTTP", None) or {}
    return RequestMetrics(**options)


def _client_errors() -> tuple[type[Exception], ...]:
    from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
    from django.http import Http404

    return (Http404, PermissionDenied, BadRequest, SuspiciousOperation)


def _route(request: Any) -> str:
    match = request.resolver_match
    if match is None:
        return UNMATCHED
    return match.route or "/"  # type: ignore[no-any-return]


class PrometheusMiddleware:
    """Measure every request by URL pattern: ``http_requests_total``, duration and in-progress.

    ``request_metrics`` is for tests and for sharing; Django passes only ``get_response``.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[Any], Any],
        request_metrics: RequestMetrics | None = None,
    ) -> None:
        self.get_response = get_response
        self.request_metrics = request_metrics if request_metrics is not None else _request_metrics()
        self._excluded = self.request_metrics.excluded_paths
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
            # Django adapts view middleware to the handler's mode; a matching one avoids a thread hop.
            self.process_view: Callable[..., Any] = self._aprocess_view
        else:
            self.process_view = self._process_view

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self.__acall__(request)
        if request.path in self._excluded:
            return self.get_response(request)
        started = _perf_counter()
        try:
            response = self.get_response(request)
        except BaseException:
            self._finish(request, "500", started)
            raise
        return self._measure(request, response, started)

    async def __acall__(self, request: Any) -> Any:
        if request.path in self._excluded:
            return await self.get_response(request)
        started = _perf_counter()
        try:
            response = await self.get_response(request)
        except BaseException:
            self._finish(request, "500", started)
            raise
        return self._measure(request, response, started)

    def _process_view(self, request: Any, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        """URL resolution just ended: the request is in progress under its route from now on."""
        if request.path in self._excluded:
            return
        series = self.request_metrics.series(request.method, _route(request))
        setattr(request, _SERIES_ATTR, series)
        series.enter()

    def process_exception(self, request: Any, exception: Exception) -> None:
        """The view raised: Django turns it into a response, so the type is counted here, unless it
        is one Django answers with a 4xx (``Http404``, ``PermissionDenied``...): those are answers,
        as Starlette's ``HTTPException`` and Flask's ``abort()`` are, not failures."""
        if not isinstance(exception, _client_errors()):
            self.request_metrics.record_exception(request.method, _route(request), exception)

    async def _aprocess_view(self, request: Any, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        self._process_view(request, view_func, view_args, view_kwargs)

    def _measure(self, request: Any, response: Any, started: float) -> Any:
        status = response.status_code
        if response.streaming:
            response._resource_closers.append(lambda: self._finish(request, status, started))
        else:
            self._finish(request, status, started)
        return response

    def _finish(self, request: Any, status: int | str, started: float) -> None:
        elapsed = _perf_counter() - started
        series: RouteSeries | None = request.__dict__.pop(_SERIES_ATTR, None)
        if series is None:
            series = self.request_metrics.series(request.method, _route(request))
        else:
            series.leave()
        series.record(status, elapsed)
