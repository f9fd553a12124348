"""Work queues and their workers (seed 000's OCR service): size, workers, processing time, outcomes.

::

    from tocsin.sdk import metrics
    from tocsin.sdk.packs import Queue

    metrics.configure(app="ocr-service", prefix="ocr")
    queue = Queue(items="documents", type_label="document_type", workers=4)
    queue.track_size(lambda: redis.llen("ocr:jobs"))        # ocr_queue_size, read at scrape

    with queue.processing("invoice") as task:                # ocr_workers_active + 1 meanwhile
        text, confidence = ocr(page)
        task.confidence(confidence)                          # ocr_confidence_score{document_type},
                                                             # ocr_confidence{document_type} observes it
    # ocr_documents_processed_total{status="success", document_type="invoice"} += 1
    # ocr_processing_duration_seconds{document_type="invoice"} observes the time

Metrics: ``queue_size``, ``workers_active``, ``workers_total`` (gauges),
``processing_duration_seconds{<type>}`` (histogram, 10 ms to 2 min),
``<items>_processed_total{status, <type>}``, ``confidence_score{<type>}``
(gauge: the last score, 0 to 100) and ``confidence{<type>}`` (histogram of the
scores, 50 to 100). ``status`` is ``success`` or ``error`` (an
exception escaped, or ``task.status = "error"``), or whatever
:meth:`Queue.processed` is given. The names follow seed 000 exactly under
``prefix="ocr"``, so its throughput, percentile and error-rate queries run unchanged.

Why a histogram next to the plan's gauge: the gauge holds the *last* score of each type until the
next item of that type, so an alert on it judges old news. One blurred page of a rare type, or
workers that stop reading (a stall: nothing replaces the last score), kept a low score standing and
fired "confidence low" for as long as nothing new was read. The pack's alert and panels use the
histogram instead, ``sum(rate(confidence_sum[5m])) / sum(rate(confidence_count[5m]))``: the mean
score of the items read in the last five minutes, with no value (so no alert) when none were read,
and its buckets tell what share of the items fell under 90 or 80.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import MAX_CACHED, PackMetrics, check_label_name, check_name_part, child
from ._buckets import CONFIDENCE_BUCKETS, TASK_BUCKETS

__all__ = ["Queue", "Task"]

_perf_counter = time.perf_counter


class Queue:
    """The metrics of one work queue and its workers (see the module docstring)."""

    def __init__(
        self,
        *,
        items: str = "items",
        type_label: str = "type",
        workers: int | None = None,
        buckets: Iterable[float] = TASK_BUCKETS,
        namespace: str = "",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        check_name_part(items, "items")
        check_label_name(type_label, "type_label")
        pack = PackMetrics(namespace, metrics, registry)
        self.size = pack.gauge(
            "queue_size", f"{items.capitalize()} waiting in the queue.", multiprocess_mode="max"
        )
        self.workers_active = pack.gauge(
            "workers_active", "Workers busy with an item.", multiprocess_mode="livesum"
        )
        self.workers_total = pack.gauge("workers_total", "Workers available.", multiprocess_mode="livesum")
        self.duration = pack.histogram(
            "processing_duration_seconds",
            f"Time to process one of the {items}.",
            [type_label],
            buckets=buckets,
        )
        self.processed_total = pack.counter(
            f"{items}_processed_total", f"{items.capitalize()} processed, by status.", ["status", type_label]
        )
        self.confidence_score = pack.gauge(
            "confidence_score", "Confidence of the last result, 0 to 100.", [type_label],
            multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.confidence = pack.histogram(
            "confidence", "Confidence of the results, 0 to 100.", [type_label], buckets=CONFIDENCE_BUCKETS
        )
        self.set_size: Callable[[float], None] = self.size.set
        self._processed: dict[Any, Any] = {}
        self._durations: dict[Any, Any] = {}
        self._confidence: dict[Any, Any] = {}
        self._active = self.workers_active
        if workers is not None:
            self.workers_total.set(workers)

    def track_size(self, read: Callable[[], float]) -> None:
        """Read the queue size with ``read()`` at every scrape (single-process only)."""
        self.size.set_function(read)

    def set_workers(self, total: int) -> None:
        """How many workers there are (the ``workers_total`` gauge)."""
        self.workers_total.set(total)

    def processed(
        self,
        status: str,
        item_type: str = "",
        seconds: float | None = None,
        confidence: float | None = None,
    ) -> None:
        """Count one item with ``status``; with ``seconds`` its duration, with ``confidence`` its score."""
        key = (status, item_type)
        found = self._processed.get(key)
        if found is None:
            found = child(self._processed, self.processed_total, key)
        found.inc()
        if seconds is not None:
            timer = self._durations.get(item_type)
            if timer is None:
                timer = child(self._durations, self.duration, item_type, (item_type,))
            timer.observe(seconds)
        if confidence is not None:
            pair = self._confidence.get(item_type)
            if pair is None:
                pair = (self.confidence_score.labels(item_type), self.confidence.labels(item_type))
                if len(self._confidence) < MAX_CACHED:
                    self._confidence[item_type] = pair
            pair[0].set(confidence)
            pair[1].observe(confidence)

    def processing(self, item_type: str = "") -> Task:
        """A context manager around one item: worker busy, duration, status from the outcome."""
        return Task(self, item_type)


class Task:
    """One item being processed; set ``status`` or call :meth:`confidence` inside the block."""

    __slots__ = ("_confidence", "_queue", "_started", "item_type", "status")

    def __init__(self, queue: Queue, item_type: str) -> None:
        self._queue = queue
        self.item_type = item_type
        self.status: str | None = None
        self._confidence: float | None = None
        self._started = 0.0

    def confidence(self, score: float) -> None:
        """The item's confidence score (0 to 100), recorded when the block ends."""
        self._confidence = score

    def __enter__(self) -> Task:
        self._queue._active.inc()
        self._started = _perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        elapsed = _perf_counter() - self._started
        queue = self._queue
        queue._active.dec()
        status = self.status or ("error" if exc_type is not None else "success")
        queue.processed(status, self.item_type, elapsed, self._confidence)

    async def __aenter__(self) -> Task:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)
