"""Anomaly detection and analytics (seed 001): anomalies by model, metric, method and severity.

::

    from tocsin.sdk.packs import Analytics

    analytics = Analytics()                                     # namespace "analytics"
    with analytics.analysis("marketing"):                       # analyses_total, in progress, duration
        with analytics.stage("marketing", "statistical"):
            for metric, score in zscores.items():
                if abs(score) > 3:
                    analytics.anomaly_detected("marketing", metric, "zscore", "high")
        analytics.insight_generated("medium")

Metrics (namespace ``analytics``): ``anomalies_detected_total{model_name,
metric, method, severity}``, ``analyses_total{model_name, status}``,
``analyses_in_progress{model_name}``, ``analysis_duration_seconds{model_name,
stage}`` (``stage="total"`` for a whole analysis) and
``insights_generated_total{severity}``. Under ``prefix="kpi"`` seed 001's
``HighAnomalyRate`` rule (``rate(kpi_analytics_anomalies_detected_total{severity="high"}[5m]) > 0.1``)
runs unchanged. ``method`` is one of :data:`METHODS` or ``other``, ``severity``
one of :data:`SEVERITIES` or ``other``: free text there would be a series per typo.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics, child
from ._buckets import TASK_BUCKETS

__all__ = ["METHODS", "SEVERITIES", "Analytics"]

#: Detection methods counted under their own name (seed 001); others count as ``other``.
METHODS = frozenset({"zscore", "iqr", "modified_zscore", "isolation_forest", "mad", "threshold"})
#: Severities counted under their own name; others count as ``other``.
SEVERITIES = frozenset({"low", "medium", "high", "critical"})

_perf_counter = time.perf_counter


class Analytics:
    """The metrics of an analytics engine that detects anomalies (see the module docstring)."""

    def __init__(
        self,
        *,
        namespace: str = "analytics",
        methods: frozenset[str] = METHODS,
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        self.methods = frozenset(methods)
        self.anomalies = pack.counter(
            "anomalies_detected_total",
            "Anomalies detected, by model, metric, method and severity.",
            ["model_name", "metric", "method", "severity"],
        )
        self.analyses = pack.counter("analyses_total", "Analyses run, by status.", ["model_name", "status"])
        self.in_progress = pack.gauge(
            "analyses_in_progress", "Analyses running.", ["model_name"], multiprocess_mode="livesum"
        )
        self.duration = pack.histogram(
            "analysis_duration_seconds", "Duration of an analysis stage (total: the whole analysis).",
            ["model_name", "stage"], buckets=TASK_BUCKETS,
        )  # fmt: skip
        self.insights = pack.counter(
            "insights_generated_total", "Insights generated, by severity.", ["severity"]
        )
        self._anomalies: dict[Any, Any] = {}

    def anomaly_detected(self, model: str, metric: str, method: str, severity: str, count: float = 1) -> None:
        """``count`` anomalies of ``metric`` in ``model`` found by ``method``, of ``severity``."""
        key = (model, metric, method, severity)
        found = self._anomalies.get(key)
        if found is None:
            method = method if method in self.methods else "other"
            severity = severity if severity in SEVERITIES else "other"
            found = child(self._anomalies, self.anomalies, key, (model, metric, method, severity))
        found.inc(count)

    def analysis_started(self, model: str) -> None:
        """An analysis of ``model`` began (seed 001's ``analysisStarted``)."""
        self.in_progress.labels(model).inc()

    def analysis_completed(self, model: str, status: str, seconds: float | None = None) -> None:
        """The analysis of ``model`` ended with ``status`` after ``seconds`` (``analysisCompleted``)."""
        self.in_progress.labels(model).dec()
        self.analyses.labels(model, status).inc()
        if seconds is not None:
            self.duration.labels(model, "total").observe(seconds)

    @contextmanager
    def analysis(self, model: str) -> Iterator[None]:
        """One whole analysis: in progress meanwhile, ``success``/``error`` and duration at the end."""
        self.analysis_started(model)
        started = _perf_counter()
        status = "error"
        try:
            yield
            status = "success"
        finally:
            self.analysis_completed(model, status, _perf_counter() - started)

    @contextmanager
    def stage(self, model: str, stage: str) -> Iterator[None]:
        """Time one stage (``statistical``, ``correlation``, ``llm``...) of an analysis."""
        started = _perf_counter()
        try:
            yield
        finally:
            self.duration.labels(model, stage).observe(_perf_counter() - started)

    def insight_generated(self, severity: str, count: float = 1) -> None:
        """``count`` insights of ``severity`` were generated."""
        self.insights.labels(severity if severity in SEVERITIES else "other").inc(count)
