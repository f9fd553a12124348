"""ETL pipelines (seed 001): records by model and status, stage durations, quality, batch size, errors.

::

    from tocsin.sdk import metrics
    from tocsin.sdk.packs import Etl

    metrics.configure(app="kpi-system", prefix="kpi")
    etl = Etl()
    with etl.time_operation("marketing", "validation"):      # kpi_etl_stage_duration_seconds
        valid, invalid = validate(records)
    etl.record_processed("marketing", "valid", len(valid))    # kpi_etl_records_processed_total
    etl.record_processed("marketing", "invalid", len(invalid))
    etl.set_quality_score("marketing", 93.5)                  # kpi_etl_quality_score
    etl.batch_processed("marketing", "success", size=len(records))

Metrics (namespace ``etl``): ``records_processed_total{model_name, status}``,
``stage_duration_seconds{model_name, stage}``, ``quality_score{model_name}``
(gauge, 0 to 100), ``batches_total{model_name, status}``,
``batch_size{model_name}`` (histogram, 1 to 100,000 records) and
``validation_errors_total{model_name, error_type}``. The method names are seed
001's (``recordProcessed`` → :meth:`Etl.record_processed`), and so are the
names and labels: its ``ETLQualityLow`` rule (``kpi_etl_quality_score < 70``,
``$labels.model_name``) runs unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics, child
from ._buckets import SIZE_BUCKETS, TASK_BUCKETS

__all__ = ["Etl"]

_perf_counter = time.perf_counter


class Etl:
    """The metrics of ETL batches, per model (see the module docstring)."""

    def __init__(
        self,
        *,
        namespace: str = "etl",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        self.records = pack.counter(
            "records_processed_total", "Records processed, by model and status.", ["model_name", "status"]
        )
        self.stage_duration = pack.histogram(
            "stage_duration_seconds",
            "Duration of an ETL stage.",
            ["model_name", "stage"],
            buckets=TASK_BUCKETS,
        )
        self.quality = pack.gauge(
            "quality_score", "Data quality score of the model's last batch, 0 to 100.", ["model_name"],
            multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.batches = pack.counter(
            "batches_total", "Batches processed, by status.", ["model_name", "status"]
        )
        self.batch_size = pack.histogram(
            "batch_size", "Records per batch.", ["model_name"], buckets=SIZE_BUCKETS
        )
        self.validation_errors = pack.counter(
            "validation_errors_total", "Validation errors, by type.", ["model_name", "error_type"]
        )
        self._records: dict[Any, Any] = {}
        self._stages: dict[Any, Any] = {}
        self._errors: dict[Any, Any] = {}

    def record_processed(self, model: str, status: str, count: float = 1) -> None:
        """``count`` records of ``model`` ended with ``status`` (``valid``, ``invalid``, ``stored``...)."""
        key = (model, status)
        found = self._records.get(key)
        if found is None:
            found = child(self._records, self.records, key)
        found.inc(count)

    def observe_stage(self, model: str, stage: str, seconds: float) -> None:
        """A stage of ``model`` took ``seconds``."""
        key = (model, stage)
        found = self._stages.get(key)
        if found is None:
            found = child(self._stages, self.stage_duration, key)
        found.observe(seconds)

    @contextmanager
    def time_operation(self, model: str, stage: str) -> Iterator[None]:
        """Time the block as one ``stage`` of ``model`` (also when it raises)."""
        started = _perf_counter()
        try:
            yield
        finally:
            self.observe_stage(model, stage, _perf_counter() - started)

    def set_quality_score(self, model: str, score: float) -> None:
        """The data quality of ``model``'s last batch, 0 to 100."""
        self.quality.labels(model).set(score)

    def batch_processed(self, model: str, status: str, size: int | None = None) -> None:
        """One batch of ``model`` ended with ``status``; ``size`` records in it."""
        self.batches.labels(model, status).inc()
        if size is not None:
            self.batch_size.labels(model).observe(size)

    def validation_error(self, model: str, error_type: str, count: float = 1) -> None:
        """``count`` validation errors of ``error_type`` (``missing_field``, ``out_of_range``...)."""
        key = (model, error_type)
        found = self._errors.get(key)
        if found is None:
            found = child(self._errors, self.validation_errors, key)
        found.inc(count)
