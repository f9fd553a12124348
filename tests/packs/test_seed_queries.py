"""The seeds' own PromQL, unchanged, against the packs' metrics in a real Prometheus.

One worker server exposes the packs as seeds 000 (OCR, prefix ``ocr``), 001 (KPI system, prefix
``kpi``) and 004 (coaching AI: ``django`` prefix, ``openai`` namespace) would use them; a real
Prometheus scrapes it every second; each query of the seeds' plans must run and return series.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from tests.conftest import wait_for
from tests.packs.conftest import Process, query

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import (
    LLM,
    Analytics,
    Cache,
    Database,
    Etl,
    Queue,
    Security,
    WebSockets,
    WorkerServer,
    serve,
)

pytestmark = pytest.mark.integration

#: seed 000 "Requêtes Prometheus utiles" and "Rapport hebdomadaire", verbatim, plus its alert conditions.
SEED_000 = [
    "sum(rate(ocr_documents_processed_total[5m])) * 60",
    "sum by (document_type) (rate(ocr_documents_processed_total[5m])) * 60",
    "rate(ocr_processing_duration_seconds_sum[5m]) / rate(ocr_processing_duration_seconds_count[5m])",
    "histogram_quantile(0.95, rate(ocr_processing_duration_seconds_bucket[5m]))",
    'rate(ocr_documents_processed_total{status="error"}[5m]) / rate(ocr_documents_processed_total[5m])',
    'increase(ocr_documents_processed_total{status="error"}[1h])',
    "rate(ocr_cache_hits_total[5m]) / (rate(ocr_cache_hits_total[5m]) + rate(ocr_cache_misses_total[5m]))",
    "increase(ocr_cache_hits_total[1h]) * 2",
    "sum(increase(ocr_documents_processed_total[7d]))",
    "ocr_queue_size > 20",
    'rate(ocr_documents_processed_total{status="error"}[5m]) > 0.1',
    "avg(ocr_confidence_score) < 80",
]
#: seed 001's four alert rules' expressions, verbatim.
SEED_001 = [
    "kpi_etl_quality_score < 70",
    'rate(kpi_analytics_anomalies_detected_total{severity="high"}[5m]) > 0.1',
    "kpi_websocket_active_connections > 1000",
    "rate(kpi_security_intrusion_attempts_total[1m]) > 0",
]
#: seed 004's runbook queries that name the packs' metrics, verbatim.
SEED_004 = ["django_db_connections_active", "django_auth_failures_total"]
#: seed 004 queries that run unchanged but can return nothing, whatever the instrumentation: a
#: histogram has no series under its bare name; the request histogram is the HTTP middleware's.
SEED_004_EMPTY = ["openai_request_duration_seconds", "django_request_duration_seconds_bucket"]


class SeedApps:
    """The packs as the three seeds' services would create them, on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        ocr, kpi, django = (Metrics(prefix=p, registry=registry) for p in ("ocr", "kpi", "django"))
        self.queue = Queue(items="documents", type_label="document_type", metrics=ocr)
        self.cache = Cache("ocr", metrics=ocr)
        self.etl, self.analytics = Etl(metrics=kpi), Analytics(metrics=kpi)
        self.ws, self.security = WebSockets(metrics=kpi), Security(metrics=kpi)
        self.db = Database(metrics=django)
        self.auth = Security(namespace="", metrics=django)
        self.llm = LLM(namespace="openai", metrics=Metrics(registry=registry))

    def traffic(self) -> None:
        self.queue.set_size(25)
        for i in range(400):  # enough errors for seed 000's "> 0.1 per second" over a 5 m window
            kind = "invoice" if i % 2 else "receipt"
            self.queue.processed(
                "error" if i % 4 == 0 else "success", kind, seconds=0.5 + i / 40, confidence=70
            )
            self.cache.record(i % 3 != 0)
        self.etl.set_quality_score("marketing", 65)
        self.analytics.anomaly_detected("marketing", "revenue", "zscore", "high", count=200)
        self.ws.active.set(1500)
        self.security.intrusion_attempt("sql_injection")
        self.db.active.labels("default").set(3)
        self.auth.auth_failed("invalid_credentials", source="10.0.0.1")
        self.llm.record("gpt-4o-mini", 1.2, 10, 20)


@pytest.fixture(scope="module")
def prometheus(prometheus_factory_module: object) -> Iterator[Process]:
    registry = CollectorRegistry()
    server: WorkerServer = serve(0, registry=registry)
    prom = prometheus_factory_module([f"127.0.0.1:{server.port}"])  # type: ignore[operator]

    def scrapes() -> float:
        result = query(prom, 'count_over_time(up{job="app"}[1m])')
        return float(result[0]["value"][1]) if result else 0.0

    apps = SeedApps(registry)
    try:
        for _ in range(3):  # counters grow between scrapes, so rate() has two points to use
            apps.traffic()
            target = scrapes() + 2
            wait_for(lambda t=target: scrapes() >= t, 60, interval=0.2, what="two more scrapes")
        yield prom
    finally:
        server.close()


@pytest.mark.parametrize("promql", SEED_000 + SEED_001 + SEED_004)
def test_the_seed_query_returns_series(prometheus: Process, promql: str) -> None:
    result = query(prometheus, promql)
    assert result, f"no series for {promql}"


@pytest.mark.parametrize("promql", SEED_004_EMPTY)
def test_the_seed_query_runs(prometheus: Process, promql: str) -> None:
    assert query(prometheus, promql) == []


def test_the_invalid_seed_query_is_invalid_and_its_intent_runs(prometheus: Process) -> None:
    answer = httpx.get(
        prometheus.url + "/api/v1/query",
        params={"query": "django_auth_failures_total by (reason)"},
        timeout=10,
    ).json()
    assert answer["status"] == "error"  # seed 004 writes it so; Prometheus refuses it as anyone would
    [series] = query(prometheus, "sum by (reason) (django_auth_failures_total)")
    assert series["metric"] == {"reason": "invalid_credentials"}


def test_seed_000_hit_rate_is_the_ratio_counted(prometheus: Process) -> None:
    [series] = query(prometheus, SEED_000[6])
    assert float(series["value"][1]) == pytest.approx(2 / 3, rel=0.05)  # i % 3 != 0 of each round: hits
