"""The one core every HTTP middleware shares: metrics, label rules and the pre-resolved children.

Framework adapters (ASGI, WSGI, Django) only find out three things per request
(method, route template, status) and hand them here. What is done per request
is kept to dict look-ups on label children resolved once: no label tuples, no
string formatting, one lock per request (not one per value cell).
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypedDict

from prometheus_client import CollectorRegistry
from prometheus_client.values import MutexValue

from tocsin.sdk.metrics import Metrics, get_metrics

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_EXCLUDED_PATHS",
    "OTHER_METHOD",
    "UNMATCHED",
    "RequestMetrics",
    "RequestMetricsOptions",
    "RouteSeries",
]

#: Latency buckets for web requests (seconds): fine below 100 ms, where most requests land.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
#: Paths not measured at all unless told otherwise: scraping must not measure itself.
DEFAULT_EXCLUDED_PATHS: tuple[str, ...] = ("/metrics",)
#: The ``route`` of a request no route of the application matched (404s, slash redirects).
UNMATCHED = "<unmatched>"
#: The ``method`` of a request whose method is not a standard one (bounded cardinality).
OTHER_METHOD = "other"

_NAMESPACE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_METHODS: dict[str, str] = {m: m for m in _STANDARD_METHODS}


class RouteSeries:
    """The label children of one ``(method, route)``, resolved once and reused by every request.

    Adapters call :meth:`enter`/:meth:`leave` around a request (``http_requests_in_progress``)
    and :meth:`record` when it ends. Below the children, their value cells are resolved too:
    a request then costs a few C calls instead of prometheus_client's checks and frames around
    them (measured: about half the cost in the middle of a large framework). prometheus_client's
    ``MutexValue`` cells (the single-process default) are written as their ``inc()`` does, under
    one lock for the counter and the histogram instead of one lock each; mmap-backed cells
    (multiprocess mode) through their ``inc()``. Where a child does not have the cells (another
    prometheus_client layout), its public API is used.
    """

    __slots__ = (
        "_active",
        "_bounds",
        "_buckets",
        "_by_status",
        "_exemplar",
        "_lock",
        "_locked",
        "_otel_context",
        "_requests",
        "_sum",
        "duration",
        "in_progress",
        "method",
        "route",
    )

    def __init__(self, core: RequestMetrics, method: str, route: str) -> None:
        self.method = method
        self.route = route
        self._requests = core.requests
        self._by_status: dict[object, tuple[Any, Any]] = {}  # status -> (child, its value cell)
        self.duration: Any = core.duration.labels(method, route)
        self.in_progress: Any = core.in_progress.labels(method, route)
        self._active = _cell(self.in_progress)
        self._sum: Any = getattr(self.duration, "_sum", None)
        self._buckets: Any = getattr(self.duration, "_buckets", None)
        self._bounds: Any = getattr(self.duration, "_upper_bounds", None)
        if self._sum is None or self._buckets is None or self._bounds is None:
            self._buckets = None  # use observe()
        # When the histogram's cells (and the counter's, checked per status as its children are
        # made) are prometheus_client's MutexValues, a request updates them under one lock of its
        # own, shared by every RouteSeries of these children and taken by every write of ours.
        self._locked = self._buckets is not None and all(
            type(c) is MutexValue for c in (self._sum, *self._buckets)
        )
        self._lock = _shared_lock(self.duration)
        self._exemplar = core._exemplar
        self._otel_context = core._otel_context

    def enter(self) -> None:
        """One more request of this route in progress."""
        self._active.inc(1)

    def leave(self) -> None:
        """One request of this route less in progress."""
        self._active.inc(-1)

    def record(self, status: int | str, seconds: float) -> None:
        """Count one request that ended with ``status`` after ``seconds``.

        ``status`` is the int of ASGI or the first three characters of a WSGI status line.
        """
        found = self._by_status.get(status)
        if found is None:
            child = self._requests.labels(self.method, self.route, str(status))
            found = self._by_status[status] = (child, _cell(child))
            if type(found[1]) is not MutexValue:
                self._locked = False
        exemplar = None
        if self._exemplar is not None:
            context = self._otel_context
            # An empty OpenTelemetry context (no span anywhere, the common case) is read in C.
            if context is None or context.get():
                exemplar = self._exemplar()
        buckets = self._buckets
        lock = self._lock
        lock.acquire()  # cheaper than ``with`` (measured)
        try:
            if exemplar is not None or buckets is None:
                found[0].inc(1, exemplar)
                self.duration.observe(seconds, exemplar)
            elif self._locked:
                # prometheus_client's MutexValues, updated as their inc() does but under one lock
                # for the three instead of one each (the locks were most of the cost per request).
                found[1]._value += 1
                self._sum._value += seconds
                buckets[bisect_left(self._bounds, seconds)]._value += 1  # the first bucket with seconds <= le
            else:
                found[1].inc(1)
                self._sum.inc(seconds)
                buckets[bisect_left(self._bounds, seconds)].inc(1)
        finally:
            lock.release()


_LOCKS_GUARD = threading.Lock()
_LOCK_ATTRIBUTE = "_tocsin_record_lock"


def _shared_lock(child: Any) -> threading.Lock:
    """The lock of the writes of ours to ``child`` and its request counters, kept on the child.

    On the child, not on the RouteSeries: RouteSeries of two RequestMetrics on the same metrics
    share the cells, so they must share the lock too.
    """
    with _LOCKS_GUARD:
        lock: threading.Lock | None = getattr(child, _LOCK_ATTRIBUTE, None)
        if lock is None:
            lock = threading.Lock()
            setattr(child, _LOCK_ATTRIBUTE, lock)
        return lock


def _cell(child: Any) -> Any:
    """The value cell behind a counter or gauge child (``inc(amount)``), or the child itself."""
    cell = getattr(child, "_value", None)
    return cell if cell is not None and hasattr(cell, "inc") else child


class RequestMetricsOptions(TypedDict, total=False):
    """The keyword arguments every adapter passes on to :class:`RequestMetrics`."""

    metrics: Metrics | None
    registry: CollectorRegistry | None
    excluded_paths: Iterable[str]
    buckets: Iterable[float]
    exemplars: bool | None
    namespace: str


class RequestMetrics:
    """The HTTP request metrics and the rules that keep their labels bounded.

    - ``http_requests_total{method,route,status}`` (counter)
    - ``http_request_duration_seconds{method,route}`` (histogram, ``buckets``)
    - ``http_requests_in_progress{method,route}`` (gauge, ``livesum`` across worker processes)
    - ``http_exceptions_total{method,route,type}`` (exceptions escaping the app, by class name)

    ``namespace`` is the ``http`` in those names: ``""`` drops it, so a Django app under
    ``configure(prefix="django")`` exposes ``django_requests_total`` and
    ``django_request_duration_seconds``, the names seed 004's queries use.

    The metrics come from ``metrics`` (default: :func:`tocsin.sdk.metrics.get_metrics`, so its
    prefix, constant labels and series cap apply) on ``registry`` (default: the factory's).
    ``method`` is folded to ``other`` outside the standard methods; ``route`` is a template from
    the framework's router or ``<unmatched>``; requests to ``excluded_paths`` are not measured.
    ``exemplars`` attaches ``{trace_id=...}`` of the active OpenTelemetry span: ``None`` (the
    default) turns it on when ``opentelemetry`` is installed, which is only imported then.
    """

    def __init__(
        self,
        metrics: Metrics | None = None,
        *,
        registry: CollectorRegistry | None = None,
        excluded_paths: Iterable[str] = DEFAULT_EXCLUDED_PATHS,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        exemplars: bool | None = None,
        namespace: str = "http",
    ) -> None:
        factory = metrics if metrics is not None else get_metrics()
        labels = ("method", "route")
        ns = _namespace(namespace)
        self.requests = factory.counter(
            f"{ns}requests_total", "HTTP requests by route template and status.", (*labels, "status"),
            registry=registry,
        )  # fmt: skip
        self.duration = factory.histogram(
            f"{ns}request_duration_seconds",
            "HTTP request duration until the last byte of the body, by route template.",
            labels,
            buckets=buckets,
            registry=registry,
        )
        self.in_progress = factory.gauge(
            f"{ns}requests_in_progress",
            "HTTP requests being served, by route template.",
            labels,
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.exceptions = factory.counter(
            f"{ns}exceptions_total", "Exceptions the app raised, by route template and class.",
            (*labels, "type"), registry=registry,
        )  # fmt: skip
        self.excluded_paths: frozenset[str] = frozenset(excluded_paths)
        self._exemplar: Callable[[], dict[str, str] | None] | None = _trace_exemplar_source(exemplars)
        self._otel_context: ContextVar[Any] | None = _otel_context_var() if self._exemplar else None
        self._series: dict[str, dict[str, RouteSeries]] = {}

    @classmethod
    def given(
        cls, request_metrics: RequestMetrics | None, **options: Unpack[RequestMetricsOptions]
    ) -> RequestMetrics:
        """``request_metrics`` if given (shared between apps), else a new one from ``options``."""
        return request_metrics if request_metrics is not None else cls(**options)

    def record_exception(self, method: str, route: str, error: BaseException) -> None:
        """Count ``error`` (an ``Exception``; cancellations are not errors) raised serving ``route``."""
        if isinstance(error, Exception):
            self.exceptions.labels(_METHODS.get(method, OTHER_METHOD), route, type(error).__name__).inc()

    def series(self, method: str, route: str) -> RouteSeries:
        """The pre-resolved children for ``method`` (raw, folded here) and ``route`` (a template)."""
        by_method = self._series.get(route)
        if by_method is not None:
            found = by_method.get(method)
            if found is not None:
                return found
        else:
            by_method = self._series[route] = {}
        # Unknown methods share the "other" entry under their own key only once folded, so a
        # flood of invented methods cannot grow this cache.
        folded = _METHODS.get(method, OTHER_METHOD)
        found = by_method.get(folded)
        if found is None:
            found = by_method[folded] = RouteSeries(self, folded, route)
        if folded == method:
            by_method[method] = found
        return found


def _namespace(namespace: str) -> str:
    """``"http"`` -> ``"http_"``; ``""`` -> ``""``; a namespace no metric name can start with raises."""
    if not namespace:
        return ""
    if not _NAMESPACE.fullmatch(namespace):
        from tocsin.errors import ConfigurationError

        raise ConfigurationError(
            f"namespace {namespace!r}: use letters, digits and '_', not starting with a digit"
        )
    return f"{namespace}_"


def _otel_context_var() -> ContextVar[Any] | None:
    """The ``ContextVar`` behind OpenTelemetry's default runtime context, read directly per request.

    ``opentelemetry.context.get_current()`` is two Python calls down to this variable; ``None``
    (then it is called) when another runtime context is configured or the layout differs.
    """
    try:
        from opentelemetry import context
        from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
    except ImportError:  # pragma: no cover - only asked for when the exemplar source exists
        return None
    runtime = getattr(context, "_RUNTIME_CONTEXT", None)
    if type(runtime) is not ContextVarsRuntimeContext:
        return None
    var = getattr(runtime, "_current_context", None)
    return var if isinstance(var, ContextVar) else None


def _trace_exemplar_source(wanted: bool | None) -> Callable[[], dict[str, str] | None] | None:
    """A function returning ``{"trace_id": ...}`` of the active sampled span, or ``None`` when off.

    OpenTelemetry is imported only here, only when it is installed (or asked for): without it
    the hot path pays one ``is None`` test.
    """
    if wanted is False:
        return None
    try:
        from opentelemetry.context import get_current
        from opentelemetry.trace import get_current_span
    except ImportError:
        if wanted:
            from tocsin.errors import ConfigurationError

            raise ConfigurationError(
                "exemplars=True needs OpenTelemetry (pip install 'tocsin[otel]')"
            ) from None
        return None

    def trace_exemplar() -> dict[str, str] | None:
        if not get_current():  # an empty context: no span anywhere (the cheap, common case)
            return None
        context = get_current_span().get_span_context()
        if not context.is_valid or not context.trace_flags.sampled:
            return None
        return {"trace_id": format(context.trace_id, "032x")}

    return trace_exemplar
