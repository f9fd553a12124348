"""Outgoing HTTP calls (seed 004's inter-service latency, timeouts, Django → FastAPI auth).

::

    from tocsin.sdk.packs import HttpClient

    calls = HttpClient()
    auth_api = httpx.Client(base_url="http://auth:8000", transport=calls.httpx_transport("auth"))
    coach_api = httpx.AsyncClient(transport=calls.httpx_async_transport("coach"))
    session = calls.requests_session("billing")        # a requests.Session, all URLs under "billing"

Metrics (namespace ``http_client``; ``target`` is the name given, never the URL):
``requests_total{target, method, status}`` (responses, by status code),
``request_duration_seconds{target, method}`` (histogram, 10 ms to 2 min; until
the response headers, as ``requests``' own ``elapsed``, for both libraries) and
``errors_total{target, method, type}`` where ``type`` is ``timeout``,
``connect`` or the exception class: no response at all. Methods outside the
standard ones count as ``other``. The transports wrap httpx's own (or the one
given); the requests integration is an ``HTTPAdapter`` mounted on the session.
httpx and requests are imported only by the functions that build them.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics
from ._buckets import TASK_BUCKETS

__all__ = ["HttpClient", "error_type"]

_perf_counter = time.perf_counter
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def error_type(error: BaseException) -> str:
    """``timeout``, ``connect`` or the exception's class name, for an exception that left no response."""
    names = [k.__name__ for k in type(error).__mro__]
    if isinstance(error, TimeoutError) or any("Timeout" in n for n in names):
        return "timeout"
    if any(n in ("ConnectError", "ConnectionError", "ConnectionRefusedError") for n in names):
        return "connect"
    return type(error).__name__


class HttpClient:
    """The metrics of outgoing HTTP calls, by target service (see the module docstring)."""

    def __init__(
        self,
        *,
        namespace: str = "http_client",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        self.requests = pack.counter(
            "requests_total", "Outgoing HTTP requests answered, by status.", ["target", "method", "status"]
        )
        self.duration = pack.histogram(
            "request_duration_seconds", "Outgoing HTTP request latency, to the response headers.",
            ["target", "method"], buckets=TASK_BUCKETS,
        )  # fmt: skip
        self.errors = pack.counter(
            "errors_total", "Outgoing HTTP requests with no response (timeouts, refused connections).",
            ["target", "method", "type"],
        )  # fmt: skip
        self._series: dict[Any, Any] = {}

    def record(self, target: str, method: str, status: int, seconds: float) -> None:
        """One call to ``target`` answered ``status`` after ``seconds``."""
        key = (target, method, status)
        found = self._series.get(key)
        if found is None:
            folded = method if method in _METHODS else "other"
            found = (self.requests.labels(target, folded, str(status)), self.duration.labels(target, folded))
            if len(self._series) < 1000:
                self._series[key] = found
        found[0].inc()
        found[1].observe(seconds)

    def failed(self, target: str, method: str, error: BaseException, seconds: float) -> None:
        """One call to ``target`` got no response: ``error`` (a timeout, a refused connection...)."""
        folded = method if method in _METHODS else "other"
        self.errors.labels(target, folded, error_type(error)).inc()
        self.duration.labels(target, folded).observe(seconds)

    def httpx_transport(self, target: str, transport: Any = None) -> Any:
        """An ``httpx.BaseTransport`` measuring calls as ``target`` (wraps ``transport``, default httpx's)."""
        from ._httpx import InstrumentedTransport

        return InstrumentedTransport(self, target, transport)

    def httpx_async_transport(self, target: str, transport: Any = None) -> Any:
        """The ``httpx.AsyncBaseTransport`` twin of :meth:`httpx_transport`."""
        from ._httpx import AsyncInstrumentedTransport

        return AsyncInstrumentedTransport(self, target, transport)

    def requests_adapter(self, target: str, **adapter_options: Any) -> Any:
        """A ``requests`` ``HTTPAdapter`` measuring calls as ``target`` (options: HTTPAdapter's)."""
        from ._requests import instrumented_adapter

        return instrumented_adapter(self, target, **adapter_options)

    def requests_session(self, target: str, session: Any = None, **adapter_options: Any) -> Any:
        """``session`` (default: a new ``requests.Session``) with the adapter mounted for http and https."""
        import requests

        session = session if session is not None else requests.Session()
        adapter = self.requests_adapter(target, **adapter_options)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session
