"""Batch jobs (seed 003's archiver): item outcomes, duration up to hours, last success, Pushgateway.

::

    from tocsin.sdk.packs import Jobs, Pushgateway

    jobs = Jobs(items="orders", done="archived")
    with jobs.run("archiver", push=Pushgateway("127.0.0.1:9091", job="archiver")) as run:
        run.found(len(orders))
        for order in orders:
            ...
            run.done()            # orders_archived_total{job_name="archiver"} += 1

Metrics (``job_name`` on every one; ``<items>`` and ``<done>`` as configured):

- ``<items>_found_total``, ``<items>_<done>_total``, ``<items>_duplicates_total``,
  ``<items>_incomplete_total``, ``<items>_errors_total``: counters, live during the run;
- ``<items>_<outcome>_last_run``: the same counts for the last finished run (gauges,
  what "errors > 0 on the last run" and "archived < 95 % of found" compare);
- ``job_runs_total{outcome}`` (success / error), ``job_duration_seconds{outcome}``
  (buckets 1 s to 1 day), ``job_last_duration_seconds``,
  ``job_last_success_timestamp_seconds``, ``job_last_run_timestamp_seconds``.

The label is ``job_name`` (as kube-state-metrics names Kubernetes jobs), not
``job``: in-process, ``job`` is the scrape job's; pushed, the Pushgateway's
grouping key adds ``job`` itself. A run ends in ``error`` when an exception
escapes the block (re-raised) or ``run.fail()`` was called. Record calls are
the counters' own bound ``inc`` methods: they cost exactly the raw call.
Last-run counts are the counters' growth during the run, so two overlapping
runs of the same job in one process share their counts (a warning says so).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics, get_metrics

from ._base import PackMetrics, check_name_part
from ._buckets import BATCH_BUCKETS
from ._push import PushError, Pushgateway

__all__ = ["OUTCOMES", "JobRun", "Jobs", "job_run"]

_log = logging.getLogger("tocsin.packs.jobs")

#: Item outcome keys, in the order of the metrics; ``done`` is named by ``Jobs(done=...)``.
OUTCOMES = ("found", "done", "duplicates", "incomplete", "errors")


class Jobs:
    """The metrics of a process's batch jobs. ``items`` names what a job handles, ``done`` its success."""

    def __init__(
        self,
        *,
        items: str = "items",
        done: str = "processed",
        namespace: str = "",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        check_name_part(items, "items")
        check_name_part(done, "done")
        pack = PackMetrics(namespace, metrics, registry)
        self.registry = pack.registry
        self.items = items
        self.done_name = done
        names = {"found": "found", "done": done, "duplicates": "duplicates"}
        names |= {"incomplete": "incomplete", "errors": "errors"}
        describe = {
            "found": f"{items} the job found to handle",
            "done": f"{items} {done}",
            "duplicates": f"{items} skipped as duplicates",
            "incomplete": f"{items} skipped because their data was incomplete",
            "errors": f"{items} that failed",
        }
        self._counters = {
            key: pack.counter(f"{items}_{names[key]}_total", f"{describe[key].capitalize()}.", ["job_name"])
            for key in OUTCOMES
        }
        self._last = {
            key: pack.gauge(
                f"{items}_{names[key]}_last_run",
                f"{describe[key].capitalize()} in the job's last finished run.",
                ["job_name"],
                multiprocess_mode="mostrecent",
            )
            for key in OUTCOMES
        }
        self.runs = pack.counter(
            "job_runs_total", "Job runs by outcome (success, error).", ["job_name", "outcome"]
        )
        self.duration = pack.histogram(
            "job_duration_seconds", "Job run duration.", ["job_name", "outcome"], buckets=BATCH_BUCKETS
        )
        self.last_duration = pack.gauge(
            "job_last_duration_seconds", "Duration of the job's last run.", ["job_name"],
            multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.last_success = pack.gauge(
            "job_last_success_timestamp_seconds",
            "Unix time the job last finished successfully.",
            ["job_name"],
            multiprocess_mode="max",
        )
        self.last_run = pack.gauge(
            "job_last_run_timestamp_seconds", "Unix time the job last finished, whatever the outcome.",
            ["job_name"], multiprocess_mode="max",
        )  # fmt: skip
        self._active: dict[str, int] = {}
        self._lock = threading.Lock()

    def run(self, job: str, *, push: Pushgateway | None = None, push_errors: str = "log") -> JobRun:
        """A context manager for one run of ``job``; ``push`` sends the registry at the end.

        ``push_errors="log"`` (default) logs a failed push, so the job's own outcome
        stands; ``"raise"`` raises :class:`~tocsin.sdk.packs.PushError` instead.
        """
        if push_errors not in ("log", "raise"):
            raise ValueError("push_errors must be 'log' or 'raise'")
        return JobRun(self, job, push, push_errors == "raise")


class JobRun:
    """One run: ``found(n)``, ``done(n)``, ``duplicates(n)``, ``incomplete(n)``, ``errors(n)``, ``fail()``."""

    def __init__(self, jobs: Jobs, job: str, push: Pushgateway | None, raise_push: bool) -> None:
        if not job:
            raise ValueError("a job needs a name")
        self.jobs = jobs
        self.job = job
        self._push = push
        self._raise_push = raise_push
        self._children = {key: counter.labels(job) for key, counter in jobs._counters.items()}
        self.found = self._children["found"].inc
        self.done = self._children["done"].inc
        self.duplicates = self._children["duplicates"].inc
        self.incomplete = self._children["incomplete"].inc
        self.errors = self._children["errors"].inc
        self.failed = False
        self.elapsed: float | None = None
        self._started: float | None = None
        self._at_start: dict[str, float] = {}

    def fail(self) -> None:
        """End this run as ``error`` even though no exception escapes."""
        self.failed = True

    def counts(self) -> dict[str, float]:
        """The items counted so far in this run, by outcome key."""
        return {key: _value(c) - self._at_start.get(key, 0.0) for key, c in self._children.items()}

    def __enter__(self) -> JobRun:
        jobs = self.jobs
        with jobs._lock:
            overlapping = jobs._active.get(self.job, 0)
            jobs._active[self.job] = overlapping + 1
        if overlapping:
            _log.warning(
                "job %r started while another run of it is active: their last-run counts mix", self.job
            )
        self._at_start = {key: _value(c) for key, c in self._children.items()}
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._started is not None, "JobRun: __exit__ without __enter__"
        jobs, job = self.jobs, self.job
        self.elapsed = elapsed = time.perf_counter() - self._started
        outcome = "error" if (exc_type is not None or self.failed) else "success"
        for key, count in self.counts().items():
            jobs._last[key].labels(job).set(count)
        jobs.runs.labels(job, outcome).inc()
        jobs.duration.labels(job, outcome).observe(elapsed)
        jobs.last_duration.labels(job).set(elapsed)
        now = time.time()
        jobs.last_run.labels(job).set(now)
        if outcome == "success":
            jobs.last_success.labels(job).set(now)
        with jobs._lock:
            jobs._active[job] -= 1
        if self._push is not None:
            try:
                self._push.push(jobs.registry)
            except PushError:
                if self._raise_push and exc_type is None:
                    raise
                _log.exception("job %r: pushing its metrics failed", job)


def _value(child: Any) -> float:
    return float(child._value.get())


_defaults: weakref.WeakKeyDictionary[Metrics, Jobs] = weakref.WeakKeyDictionary()
_defaults_lock = threading.Lock()


def job_run(
    job: str, *, push: Pushgateway | None = None, items: str = "items", done: str = "processed"
) -> JobRun:
    """``Jobs(items=..., done=...).run(job, push=push)`` on one :class:`Jobs` per metrics factory.

    The first call fixes ``items`` and ``done``; build a :class:`Jobs` yourself for others.
    """
    factory = get_metrics()
    with _defaults_lock:
        jobs = _defaults.get(factory)
        if jobs is None:
            jobs = _defaults[factory] = Jobs(items=items, done=done, metrics=factory)
        elif (jobs.items, jobs.done_name) != (items, done):
            raise ValueError(
                f"job_run(): the default Jobs counts {jobs.items!r}/{jobs.done_name!r}; "
                "make a Jobs(items=..., done=...) for other names"
            )
    return jobs.run(job, push=push)
