"""The analytics worker: the ETL, then anomaly detection, correlations, trends and cross-model benchmarks.

Every ``--every`` seconds, for each model: one ETL batch (:mod:`.etl`), then an analysis of what it
stored (the seed's ``AnalyticsEngine.runAnalysis``), in stages:

- ``statistical``: each new value against its series' history with z-score, IQR and modified
  z-score (:mod:`.detection`); every finding is counted (``kpi_analytics_anomalies_detected_total``
  by model, metric, method, severity), stored in ``insight`` and broadcast (an ``anomaly`` event);
  each anomalous value is one insight of its worst severity;
- ``correlation``: Pearson correlations between the model's metrics and each metric's trend (the
  least-squares slope over the window, ``kpi_analytics_trend_slope``);
- and a ``kpi_update`` event per batch for the real-time dashboards.

Every ``BENCHMARK_EVERY`` seconds the models are compared metric by metric (the seed's
"Cross-Model Benchmarks"): a model more than 20 % behind the best one on a metric is a learning
opportunity; the confidence of a comparison falls with the spread of the series compared.

``/metrics`` and ``/health`` are served on ``--port`` (``tocsin.sdk.packs.serve``). The health
report has the database, the ETL loop's freshness and the instrumentation itself (series dropped
by the cardinality cap: the seed's "instrumentation health").
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from tocsin.sdk import metrics
from tocsin.sdk.health import Health, checks
from tocsin.sdk.logging import get_logger
from tocsin.sdk.packs import Analytics, Etl, serve
from tocsin.signals import on_signals

from .catalogue import LOWER_IS_BETTER, METRICS, MODELS
from .detection import WINDOW, Finding, detect
from .etl import Batch, EtlProcessor
from .store import connect, notify

__all__ = ["AnalyticsEngine", "main"]

BENCHMARK_EVERY = 5.0
LEARNING_GAP = 0.2
_SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2}
log = get_logger("kpi.analytics")


class AnalyticsEngine:
    """Analyses and benchmarks on one connection, with the anomaly pack and the seed's extra metrics."""

    def __init__(self, conn: psycopg.Connection[Any], m: metrics.Metrics) -> None:
        self.conn = conn
        self.analytics = Analytics()
        for model in MODELS:  # at 0 from the start: rate() sees the first anomaly, dashboards show 0
            for metric in METRICS:
                for method in ("zscore", "iqr", "modified_zscore"):
                    self.analytics.anomalies.labels(model, metric, method, "high")
        for severity in ("low", "medium", "high"):
            self.analytics.insights.labels(severity)
        self.points = m.counter(
            "analytics_data_points_processed_total", "KPI values analysed, by model.", ["model_name"]
        )
        self.correlations = m.counter(
            "analytics_correlations_computed_total", "Correlations computed between a model's metrics.",
            ["model_name"],
        )  # fmt: skip
        self.trend = m.gauge(
            "analytics_trend_slope", "Least-squares slope of the metric over its window, per record.",
            ["model_name", "metric"],
        )  # fmt: skip
        self.benchmarks = m.counter(
            "benchmark_calculations_total", "Benchmark calculations, by metric.", ["metric"]
        )
        self.opportunities = m.counter(
            "benchmark_learning_opportunities_total", "Learning opportunities found, by metric.", ["metric"]
        )
        self.confidence = m.gauge(
            "benchmark_confidence_score", "Mean confidence of the last benchmark, 0 to 1."
        )
        self.compared = m.gauge("benchmark_models_compared", "Models compared in the last benchmark.")

    def _series(self, model: str, metric: str, before: int | None = None, limit: int = WINDOW) -> list[float]:
        rows = self.conn.execute(
            "SELECT value FROM kpi_record WHERE model_name = %s AND metric = %s AND id < %s "
            "ORDER BY id DESC LIMIT %s",
            (model, metric, before if before is not None else 2**62, limit),
        ).fetchall()
        return [float(r[0]) for r in reversed(rows)]

    def analyse(self, batch: Batch) -> None:
        """Anomalies, correlations and trends for what ``batch`` stored."""
        model = batch.model
        if not batch.stored_ids:
            return
        first = min(batch.stored_ids)
        new: dict[str, list[float]] = {}
        for _, metric, value, _ in batch.valid:
            new.setdefault(metric, []).append(value)
        with self.analytics.analysis(model):
            with self.analytics.stage(model, "statistical"):
                for metric, values in new.items():
                    self._anomalies(model, metric, values, self._series(model, metric, before=first))
            with self.analytics.stage(model, "correlation"):
                self._correlations(model)
        self.points.labels(model).inc(len(batch.valid))
        notify(self.conn, json.dumps({"type": "kpi_update", "model_name": model, "records": len(batch.valid),
                                      "quality": round(batch.quality, 1)}))  # fmt: skip

    def _anomalies(self, model: str, metric: str, values: list[float], history: list[float]) -> None:
        findings = detect(values, history)
        worst: dict[float, Finding] = {}
        for f in findings:
            self.analytics.anomaly_detected(model, metric, f.method, f.severity)
            if f.value not in worst or _SEVERITY_ORDER[f.severity] > _SEVERITY_ORDER[worst[f.value].severity]:
                worst[f.value] = f
        if not findings:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO insight (model_name, metric, kind, method, severity, value, score) "
                "VALUES (%s, %s, 'anomaly', %s, %s, %s, %s)",
                [(model, metric, f.method, f.severity, f.value, f.score) for f in findings],
            )
        for f in worst.values():
            self.analytics.insight_generated(f.severity)
            event = {"type": "anomaly", "model_name": model, "metric": metric, "method": f.method,
                     "severity": f.severity, "value": f.value}  # fmt: skip
            notify(self.conn, json.dumps(event))
        log.warning("anomalies_detected", model_name=model, metric=metric, findings=len(findings),
                    worst=max(_SEVERITY_ORDER[f.severity] for f in findings))  # fmt: skip

    def _correlations(self, model: str) -> None:
        series = {metric: self._series(model, metric, limit=50) for metric in METRICS}
        usable = {k: v for k, v in series.items() if len(v) >= 10 and len(set(v)) > 1}
        names = sorted(usable)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                n = min(len(usable[a]), len(usable[b]))
                statistics.correlation(usable[a][-n:], usable[b][-n:])
                self.correlations.labels(model).inc()
        for metric, values in usable.items():
            slope, _ = statistics.linear_regression(range(len(values)), values)
            self.trend.labels(model, metric).set(round(slope, 6))

    def benchmark(self) -> None:
        """Compare the models metric by metric; store and count the learning opportunities."""
        confidences: list[float] = []
        compared: set[str] = set()
        for metric in METRICS:
            means = {}
            for model in MODELS:
                values = self._series(model, metric, limit=50)
                if len(values) >= 10:
                    mean = statistics.fmean(values)
                    means[model] = mean
                    spread = statistics.stdev(values) / mean if mean else 1.0
                    confidences.append(max(0.0, 1.0 - spread) * min(1.0, len(values) / 50))
            if len(means) < 2:
                continue
            self.benchmarks.labels(metric).inc()
            compared.update(means)
            lower = metric in LOWER_IS_BETTER
            best = (min if lower else max)(means.values())
            for model, mean in means.items():
                gap = (mean - best) / best if lower else (best - mean) / best
                if best and gap > LEARNING_GAP:
                    self.opportunities.labels(metric).inc()
                    self.conn.execute(
                        "INSERT INTO insight (model_name, metric, kind, severity, value, score) "
                        "VALUES (%s, %s, 'benchmark', 'low', %s, %s)",
                        (model, metric, mean, round(gap, 4)),
                    )
        if confidences:
            self.confidence.set(round(statistics.fmean(confidences), 4))
        self.compared.set(len(compared))


class Worker:
    """The loop: connect, then ETL + analysis per model every ``every`` seconds, benchmarks now and then."""

    def __init__(self, schema: str, every: float, m: metrics.Metrics) -> None:
        self.schema, self.every, self.metrics = schema, every, m
        self.etl = Etl()
        self.stopping = threading.Event()
        self.last_cycle = time.monotonic()

    def fresh(self) -> bool:
        """The health check: a cycle completed within the last 10 intervals."""
        return time.monotonic() - self.last_cycle < max(10 * self.every, 5.0)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with connect(self.schema, "kpi-analytics") as conn:
                    self._cycles(conn)
            except psycopg.OperationalError as exc:
                log.error("database_unreachable", error=" ".join(str(exc).split())[:200])
                self.stopping.wait(1.0)

    def _cycles(self, conn: psycopg.Connection[Any]) -> None:
        processor = EtlProcessor(conn, self.etl)
        engine = AnalyticsEngine(conn, self.metrics)
        benchmarked = 0.0
        # the seed's @Timed decorator: tocsin.sdk.metrics.timed wraps the method, success or error
        benchmark = metrics.timed(
            self.metrics.histogram(
                "benchmark_duration_seconds", "Time to benchmark every model.", ["outcome"]
            ),
            outcome_label="outcome",
        )(engine.benchmark)
        while not self.stopping.is_set():
            started = time.monotonic()
            for model in MODELS:
                batch = processor.process(model)
                if batch is not None:
                    engine.analyse(batch)
            if started - benchmarked >= BENCHMARK_EVERY:
                benchmark()
                benchmarked = started
            self.last_cycle = time.monotonic()
            self.stopping.wait(max(0.0, self.every - (self.last_cycle - started)))


def main(schema: str, port: int, every: float, state_dir: Path) -> int:
    """Run the worker with /metrics and /health on ``port`` until SIGTERM or SIGINT."""
    m = metrics.get_metrics()
    worker = Worker(schema, every, m)
    health = Health(
        ready=[
            checks.sql("database", "postgresql://127.0.0.1:5432/test", timeout=2),
            checks.custom("etl_loop", worker.fresh),
            checks.instrumentation(),
        ],
    )
    server = serve(port, health=health)  # details (observed values, errors) only with TOCSIN_HEALTH_TOKEN
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "analytics.pid").write_text(f"{os.getpid()}\n", encoding="utf-8")
    on_signals(worker.stopping.set, (signal.SIGTERM, signal.SIGINT))
    log.info("analytics_started", metrics=server.url, health=server.health_url, every=every)
    try:
        worker.run()
    finally:
        server.close()
    log.info("analytics_stopped")
    return 0
