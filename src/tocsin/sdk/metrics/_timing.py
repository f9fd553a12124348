"""``timed``: measure a block or a function, sync or async, into a histogram, summary or gauge.

prometheus_client's ``Histogram.time()`` used as a decorator on an ``async def``
times the creation of the coroutine (~0 s), not its run. ``timed`` looks at
what it decorates and awaits coroutines inside the timing, so the recorded
duration is the real one. Sync and async share one core (:class:`_Timing`).
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from tocsin.errors import ConfigurationError

__all__ = ["timed"]

P = ParamSpec("P")
R = TypeVar("R")

SUCCESS = "success"
ERROR = "error"


class _Observer(Protocol):
    def observe(self, amount: float) -> None: ...


class _Timing:
    """Resolves the metric children once; ``record`` picks the one for the outcome."""

    __slots__ = ("_children", "_clock", "_labels", "_metric", "_outcome_label")

    def __init__(
        self,
        metric: Any,
        labels: Mapping[str, str],
        outcome_label: str | None,
        clock: Callable[[], float],
    ) -> None:
        labelnames = tuple(getattr(metric, "_labelnames", ()))
        expected = set(labels) | ({outcome_label} if outcome_label else set())
        if set(labelnames) != expected:
            raise ConfigurationError(
                f"timed(): metric {getattr(metric, '_name', metric)!r} has labels {list(labelnames)}, "
                f"but timed() was given {sorted(expected)}"
            )
        if not hasattr(metric, "observe") and not hasattr(metric, "set"):
            raise ConfigurationError("timed() needs a Histogram, Summary or Gauge")
        self._metric = metric
        self._labels = dict(labels)
        self._outcome_label = outcome_label
        self._clock = clock
        self._children: dict[str, Any] = {}
        if not outcome_label:
            self._children[SUCCESS] = self._children[ERROR] = self._resolve(None)

    def _resolve(self, outcome: str | None) -> Any:
        labels = dict(self._labels)
        if self._outcome_label and outcome:
            labels[self._outcome_label] = outcome
        return self._metric.labels(**labels) if labels else self._metric

    def record(self, started: float, failed: bool) -> float:
        elapsed = self._clock() - started
        outcome = ERROR if failed else SUCCESS
        child = self._children.get(outcome)
        if child is None:
            child = self._children[outcome] = self._resolve(outcome)
        if hasattr(child, "observe"):
            child.observe(elapsed)
        else:
            child.set(elapsed)
        return elapsed


class Timed:
    """What :func:`timed` returns: a decorator and a (sync or async) context manager.

    As a context manager it is single-use per ``with`` block: write
    ``with timed(h):`` at the place of use. ``elapsed`` holds the last duration.
    """

    def __init__(self, timing: _Timing) -> None:
        self._timing = timing
        self._started: float | None = None
        self.elapsed: float | None = None

    def __enter__(self) -> Timed:
        self._started = self._timing._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._started is not None, "timed: __exit__ without __enter__"
        self.elapsed = self._timing.record(self._started, exc_type is not None)
        self._started = None

    async def __aenter__(self) -> Timed:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...
    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        timing = self._timing
        clock = timing._clock
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                started = clock()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException:
                    timing.record(started, True)
                    raise
                timing.record(started, False)
                return result

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            started = clock()
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                timing.record(started, True)
                raise
            timing.record(started, False)
            return result

        return wrapper


def timed(
    metric: Any,
    *,
    labels: Mapping[str, str] | None = None,
    outcome_label: str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Timed:
    """Time a function or block into ``metric`` (Histogram, Summary, or Gauge: last duration).

    ``labels`` fixes the metric's label values; ``outcome_label`` names a label
    that receives ``success`` or ``error`` (an exception escaped). Works on
    ``def`` and ``async def`` alike and records the real duration of both::

        @timed(m.histogram("ocr_seconds", "OCR time", ["outcome"]), outcome_label="outcome")
        async def ocr(doc): ...

        with timed(batch_seconds, labels={"model": "marketing"}):
            run_batch()
    """
    return Timed(_Timing(metric, labels or {}, outcome_label, clock))
