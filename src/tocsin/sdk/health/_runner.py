"""The runner: every check concurrently, each under its own timeout, cached and single-flight.

Why each piece:

- **concurrently**: five 100 ms checks answer in ~100 ms, not 500 ms as a
  hand-written endpoint does (seed 002), and one hung dependency costs its
  timeout, not the sum of all of them.
- **timeout per check**: a check that never returns is a failed check after
  ``timeout`` seconds (default 2 s); the endpoint still answers.
- **single-flight**: concurrent probes of the same check share one in-flight
  run, and **cache_ttl** reuses a result for a short while, so a storm of
  probes (load balancer + Kubernetes + people) cannot overload a dependency.
- **metrics**: ``tocsin_health_check_up{check}`` and
  ``tocsin_health_check_duration_seconds{check}`` so alerts can use them,
  **fresh at scrape time**: every ``/metrics`` front end of
  :mod:`tocsin.sdk.exposition` runs the checks whose last result is older than
  ``refresh_min_interval`` before it renders (through the same cache and
  single-flight), so the gauges do not depend on something probing.

Sync frameworks (Flask, Django) call :meth:`Health.check_sync`, which runs
the same coroutine on one background event loop owned by the runner, so
caching and single-flight work across their worker threads too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from tocsin.errors import ConfigurationError
from tocsin.sdk import _scrape
from tocsin.sdk.metrics import Metrics

from ._check import DEFAULT_TIMEOUT, Check, CheckFailed, CheckResult, Observation
from ._metrics import own_metrics
from ._redact import redact

__all__ = ["Health", "HealthStatus", "Probe", "Report"]

#: ``healthy``: all up; ``degraded``: a non-critical check down or any check warning; ``unhealthy``: a
#: critical check down.
HealthStatus = Literal["healthy", "degraded", "unhealthy"]
#: ``live``: the process only (never external systems); ``ready``: the dependencies; ``all``: both.
Probe = Literal["live", "ready", "all"]

_log = logging.getLogger("tocsin.health")
T = TypeVar("T")
#: What a scrape waits beyond the longest check timeout (the runs themselves stop at their timeout).
_SCRAPE_MARGIN = 0.25


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Report:
    """One probe's answer: the overall status and every check's result, in declaration order."""

    status: HealthStatus
    probe: Probe
    results: tuple[CheckResult, ...]
    time: str
    duration_seconds: float

    @staticmethod
    def status_of(results: Iterable[CheckResult]) -> HealthStatus:
        """Critical down → unhealthy; anything else down or warning → degraded; else healthy."""
        status: HealthStatus = "healthy"
        for result in results:
            if result.status == "down" and result.critical:
                return "unhealthy"
            if result.status != "up":
                status = "degraded"
        return status


class Health:
    """The checks of one service, split into liveness and readiness.

    ::

        health = Health(
            ready=[checks.sql("database", dsn), checks.redis("cache", url, critical=False)],
            live=[checks.uptime()],
        )
        report = await health.check("ready")

    ``live`` defaults to :func:`~tocsin.sdk.health.checks.uptime` alone: liveness
    must not depend on external systems, or one shared outage restarts every
    instance. ``cache_ttl=0`` disables caching (single-flight stays).

    ``refresh_on_scrape`` (default on): a scrape of the metrics registry runs the
    checks whose last result is older than ``refresh_min_interval`` seconds
    (default 5) before the page is rendered, so ``tocsin_health_check_up`` is
    current even when nothing probes; ``refresh_min_interval`` keeps a 1 s
    scrape interval from querying the database every second.
    """

    def __init__(
        self,
        ready: Sequence[Check] = (),
        *,
        live: Sequence[Check] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        cache_ttl: float = 1.0,
        metrics: Metrics | None = None,
        refresh_on_scrape: bool = True,
        refresh_min_interval: float = 5.0,
    ) -> None:
        if live is None:
            from .checks import uptime

            live = [uptime()]
        if timeout <= 0:
            raise ConfigurationError(f"health timeout must be > 0 seconds, got {timeout}")
        if cache_ttl < 0:
            raise ConfigurationError(f"cache_ttl must be >= 0 seconds, got {cache_ttl}")
        if refresh_min_interval < 0:
            raise ConfigurationError(f"refresh_min_interval must be >= 0 seconds, got {refresh_min_interval}")
        self.live: tuple[Check, ...] = tuple(live)
        self.ready: tuple[Check, ...] = tuple(ready)
        for check in (*self.live, *self.ready):
            if not isinstance(check, Check):
                raise ConfigurationError(
                    f"{check!r} is not a health check (use checks.custom() to wrap a function)"
                )
        names = [c.name for c in (*self.live, *self.ready)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigurationError(f"health check names must be unique; repeated: {', '.join(duplicates)}")
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self.refresh_min_interval = refresh_min_interval
        factory = own_metrics(metrics)
        self.registry = factory.registry
        # Under gunicorn each probe reaches one worker: the check's state is the latest result of any
        # of them ("mostrecent"), not one series per worker that keeps its own stale value.
        self._up = factory.gauge(
            "tocsin_health_check_up",
            "1 when the health check passed on its last run, else 0.",
            ["check"],
            multiprocess_mode="mostrecent",
        )
        self._duration = factory.gauge(
            "tocsin_health_check_duration_seconds",
            "How long the last run of the health check took.",
            ["check"],
            multiprocess_mode="mostrecent",
        )
        self._cache: dict[str, tuple[float, CheckResult]] = {}
        self._inflight: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[CheckResult]]] = {}
        self._portal: asyncio.AbstractEventLoop | None = None
        self._portal_thread: threading.Thread | None = None
        self._portal_lock = threading.Lock()
        self._finished: dict[str, float] = {}  # check name -> monotonic time its latest run ended
        if refresh_on_scrape:
            _scrape.register(self)

    def checks(self, probe: Probe) -> tuple[Check, ...]:
        """The checks a probe runs."""
        if probe == "live":
            return self.live
        if probe == "ready":
            return self.ready
        if probe == "all":
            return (*self.live, *self.ready)
        raise ConfigurationError(f"unknown probe {probe!r} (use 'live', 'ready' or 'all')")

    async def check(self, probe: Probe = "ready") -> Report:
        """Run the probe's checks concurrently and return the report (never raises for a failed check)."""
        started = time.perf_counter()
        stamp = _now()
        checks = self.checks(probe)
        results = await asyncio.gather(*(self._result(c) for c in checks))
        return Report(
            status=Report.status_of(results),
            probe=probe,
            results=tuple(results),
            time=stamp,
            duration_seconds=time.perf_counter() - started,
        )

    def check_sync(self, probe: Probe = "ready") -> Report:
        """:meth:`check` for sync code (Flask, Django, scripts), on the runner's own event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._submit(self.check(probe)).result()
        raise ConfigurationError("check_sync() would block this event loop; use `await health.check()` here")

    @property
    def refresh_bound(self) -> float:
        """The longest a scrape waits for this runner's checks: the longest check timeout, plus a margin."""
        timeouts = [c.timeout if c.timeout is not None else self.timeout for c in self.checks("all")]
        return max(timeouts, default=self.timeout) + _SCRAPE_MARGIN

    def _due(self) -> list[Check]:
        oldest = time.monotonic() - self.refresh_min_interval
        return [c for c in self.checks("all") if self._finished.get(c.name, -float("inf")) <= oldest]

    async def refresh(self) -> None:
        """Run the checks (liveness and readiness) whose latest result is older than ``refresh_min_interval``.

        Called by the ``/metrics`` front ends before they render; results only go to the gauges.
        """
        due = self._due()
        if due:
            await asyncio.gather(*(self._result(c) for c in due))

    def refresh_soon(self) -> Future[None] | None:
        """:meth:`refresh` started on the runner's own loop thread (sync front ends wait on it);
        ``None`` when no check is due, which spares the scrape a round trip to that thread."""
        return self._submit(self.refresh()) if self._due() else None

    def close(self) -> None:
        """Stop the background loop :meth:`check_sync` started (it is a daemon thread otherwise).

        A closed runner is no longer refreshed by scrapes.
        """
        _scrape.unregister(self)
        with self._portal_lock:
            loop, self._portal = self._portal, None
            thread, self._portal_thread = self._portal_thread, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not threading.current_thread():
                thread.join(5)

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        with self._portal_lock:
            if self._portal is None or self._portal.is_closed():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    try:
                        loop.run_forever()
                    finally:
                        loop.close()

                thread = threading.Thread(target=serve, name="tocsin-health-loop", daemon=True)
                thread.start()
                ready.wait()
                self._portal, self._portal_thread = loop, thread
            return asyncio.run_coroutine_threadsafe(coro, self._portal)

    async def _result(self, check: Check) -> CheckResult:
        if self.cache_ttl:
            cached = self._cache.get(check.name)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
        loop = asyncio.get_running_loop()
        inflight = self._inflight.get(check.name)
        if inflight is None or inflight[0] is not loop or inflight[1].done():
            task = loop.create_task(self._run(check), name=f"tocsin-health-{check.name}")
            self._inflight[check.name] = (loop, task)
            task.add_done_callback(functools.partial(self._forget, check.name))
            inflight = (loop, task)
        # shield: a probe that goes away (client disconnect) must not cancel the run others wait for
        return await asyncio.shield(inflight[1])

    def _forget(self, name: str, task: asyncio.Future[CheckResult]) -> None:
        current = self._inflight.get(name)
        if current is not None and current[1] is task:
            del self._inflight[name]
        if not task.cancelled():
            self._finished[name] = time.monotonic()
        if not task.cancelled() and task.exception() is None and self.cache_ttl:
            self._cache[name] = (time.monotonic() + self.cache_ttl, _as_cached(task.result()))

    async def _run(self, check: Check) -> CheckResult:
        timeout = check.timeout if check.timeout is not None else self.timeout
        stamp = _now()
        started = time.perf_counter()
        observation: Observation | None = None
        error: BaseException | None = None
        try:
            async with asyncio.timeout(timeout):
                observation = await check()
        except TimeoutError as exc:
            error = exc
        except Exception as exc:  # a check that raises is a failed check, never a crash
            error = exc
        duration = time.perf_counter() - started
        if error is None:
            obs = observation if isinstance(observation, Observation) else Observation()
            result = CheckResult(
                name=check.name,
                status=obs.status,
                critical=check.critical,
                duration_seconds=duration,
                time=stamp,
                component_type=check.component_type,
                measurement=check.measurement,
                value=obs.value,
                unit=obs.unit,
                output=redact(obs.output, check.secrets) if obs.output else None,
            )
        else:
            raw = f"timed out after {timeout:g}s" if isinstance(error, TimeoutError) else _describe(error)
            safe = redact(raw, check.secrets)
            _log.warning("health check %r failed: %s", check.name, safe)
            result = CheckResult(
                name=check.name,
                status="down",
                critical=check.critical,
                duration_seconds=duration,
                time=stamp,
                component_type=check.component_type,
                measurement=check.measurement,
                value=error.value if isinstance(error, CheckFailed) else None,
                unit=error.unit if isinstance(error, CheckFailed) else None,
                output=safe,
                error=raw,
            )
        self._up.labels(check.name).set(1 if result.up else 0)
        self._duration.labels(check.name).set(duration)
        return result


def _describe(error: BaseException) -> str:
    if isinstance(error, CheckFailed):
        return str(error)
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _as_cached(result: CheckResult) -> CheckResult:
    from dataclasses import replace

    return replace(result, cached=True)
