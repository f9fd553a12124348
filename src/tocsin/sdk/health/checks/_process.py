"""Checks of this process and its machine: disk, memory, uptime (no external system involved)."""

from __future__ import annotations

import shutil
import time

from tocsin.sdk.metrics import Metrics, get_metrics

from .._check import BaseCheck, CheckFailed, Observation
from .._threads import ThreadGate

__all__ = [
    "DiskCheck",
    "InstrumentationCheck",
    "MemoryCheck",
    "UptimeCheck",
    "disk",
    "instrumentation",
    "memory",
    "uptime",
]

_STARTED = time.time()


def _threshold(kind: str, bad: float, warn: float | None, *, below: bool) -> None:
    if not 0 <= bad <= 100 or (warn is not None and not 0 <= warn <= 100):
        raise ValueError(f"{kind} thresholds are percentages between 0 and 100")
    if warn is not None and (warn < bad if below else warn > bad):
        side = "above" if below else "below"
        raise ValueError(f"{kind}: the warning threshold must be {side} the failure threshold")


class DiskCheck(BaseCheck):
    """Free space on the file system holding ``path``, in percent (``statvfs`` in a thread: NFS can hang)."""

    component_type = "system"
    measurement = "utilization"

    def __init__(
        self,
        name: str,
        path: str,
        *,
        min_free_percent: float,
        warn_free_percent: float | None,
        critical: bool,
        timeout: float | None,
    ) -> None:
        _threshold("disk", min_free_percent, warn_free_percent, below=True)
        super().__init__(name, critical=critical, timeout=timeout)
        self.path = path
        self.min_free_percent = min_free_percent
        self.warn_free_percent = warn_free_percent
        self._gate = ThreadGate(name)

    async def __call__(self) -> Observation:
        usage = await self._gate.run(lambda: shutil.disk_usage(self.path))
        free = round(usage.free * 100.0 / usage.total, 2) if usage.total else 0.0
        if free < self.min_free_percent:
            raise CheckFailed(
                f"{free}% free on {self.path}, under {self.min_free_percent}%", value=free, unit="%free"
            )
        warn = self.warn_free_percent is not None and free < self.warn_free_percent
        return Observation(free, "%free", "warn" if warn else "up")


class MemoryCheck(BaseCheck):
    """Used system memory in percent (psutil); fails above ``max_used_percent``."""

    component_type = "system"
    measurement = "utilization"

    def __init__(
        self,
        name: str,
        *,
        max_used_percent: float,
        warn_used_percent: float | None,
        critical: bool,
        timeout: float | None,
    ) -> None:
        _threshold("memory", max_used_percent, warn_used_percent, below=False)
        super().__init__(name, critical=critical, timeout=timeout)
        self.max_used_percent = max_used_percent
        self.warn_used_percent = warn_used_percent
        import psutil  # now, not inside the first probe's timeout

        self._virtual_memory = psutil.virtual_memory

    async def __call__(self) -> Observation:
        used = float(self._virtual_memory().percent)
        if used > self.max_used_percent:
            raise CheckFailed(f"{used}% memory used, over {self.max_used_percent}%", value=used, unit="%used")
        warn = self.warn_used_percent is not None and used > self.warn_used_percent
        return Observation(used, "%used", "warn" if warn else "up")


class UptimeCheck(BaseCheck):
    """Seconds since the process imported tocsin: always up; the liveness probe's default."""

    component_type = "system"
    measurement = "uptime"

    async def __call__(self) -> Observation:
        return Observation(round(time.time() - _STARTED, 3), "s")


class InstrumentationCheck(BaseCheck):
    """The metrics themselves (seed 001's "instrumentation health"): ``warn`` once the series cap drops data.

    The observed value is the number of observations folded into ``overflow``
    series (``tocsin_series_dropped_total``): a label is exploding somewhere.
    """

    measurement = "droppedObservations"

    def __init__(self, name: str, metrics: Metrics | None) -> None:
        super().__init__(name, critical=False)
        self.metrics = metrics

    async def __call__(self) -> Observation:
        from tocsin.sdk.metrics._config import _dropped_counters

        counter = _dropped_counters.get((self.metrics or get_metrics()).registry)
        dropped = 0.0
        worst: tuple[float, str] = (0.0, "")
        for family in counter.collect() if counter is not None else ():
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.value:
                    dropped += sample.value
                    worst = max(worst, (sample.value, sample.labels.get("metric", "")))
        if not dropped:
            return Observation(0, "observations")
        output = f"{dropped:g} observations folded into overflow series; most from {worst[1]}"
        return Observation(dropped, "observations", "warn", output)


def instrumentation(name: str = "instrumentation", metrics: Metrics | None = None) -> InstrumentationCheck:
    """Warns when a metric hit its series cap (non-critical: the service works, its metrics lose detail)."""
    return InstrumentationCheck(name, metrics)


def disk(
    name: str = "disk",
    path: str = "/",
    *,
    min_free_percent: float = 20.0,
    warn_free_percent: float | None = None,
    critical: bool = False,
    timeout: float | None = None,
) -> DiskCheck:
    """Fails when less than ``min_free_percent`` is free on ``path`` (seed 002: 20 %).

    Non-critical by default: a full disk degrades the service, it does not take it out.
    """
    return DiskCheck(
        name,
        path,
        min_free_percent=min_free_percent,
        warn_free_percent=warn_free_percent,
        critical=critical,
        timeout=timeout,
    )


def memory(
    name: str = "memory",
    *,
    max_used_percent: float = 90.0,
    warn_used_percent: float | None = None,
    critical: bool = False,
    timeout: float | None = None,
) -> MemoryCheck:
    """Fails when more than ``max_used_percent`` of memory is used (seed 002: 90 %).

    Non-critical by default, like :func:`disk`.
    """
    return MemoryCheck(
        name,
        max_used_percent=max_used_percent,
        warn_used_percent=warn_used_percent,
        critical=critical,
        timeout=timeout,
    )


def uptime(name: str = "uptime") -> UptimeCheck:
    """The process is alive and scheduling coroutines; reports its uptime in seconds."""
    return UptimeCheck(name)
