"""The queue, etl and analytics packs: names and labels as the seeds write them."""

from __future__ import annotations

import asyncio

import pytest

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Analytics, Etl, Queue
from tocsin.testing import fresh_metrics, sample_value


def test_queue_names_follow_seed_000_under_the_ocr_prefix() -> None:
    with fresh_metrics(prefix="ocr") as metrics:
        queue = Queue(items="documents", type_label="document_type", workers=4)
        queue.set_size(12)
        with queue.processing("invoice") as task:
            assert sample_value(metrics, "ocr_workers_active") == 1
            task.confidence(97.5)
        with pytest.raises(ValueError), queue.processing("receipt"):
            raise ValueError("unreadable")
        queue.processed("error", "receipt", seconds=0.5)
        assert sample_value(metrics, "ocr_queue_size") == 12
        assert sample_value(metrics, "ocr_workers_total") == 4
        assert sample_value(metrics, "ocr_workers_active") == 0
        processed = "ocr_documents_processed_total"
        assert sample_value(metrics, processed, {"status": "success", "document_type": "invoice"}) == 1
        assert sample_value(metrics, processed, {"status": "error", "document_type": "receipt"}) == 2
        assert sample_value(metrics, "ocr_confidence_score", {"document_type": "invoice"}) == 97.5
        count = sample_value(metrics, "ocr_processing_duration_seconds_count", {"document_type": "receipt"})
        assert count == 2


def test_queue_size_read_at_scrape_and_async_tasks(metrics: Metrics) -> None:
    waiting = [1, 2, 3]
    queue = Queue()
    queue.track_size(lambda: len(waiting))
    assert sample_value(metrics, "queue_size") == 3
    waiting.pop()
    assert sample_value(metrics, "queue_size") == 2

    async def work() -> None:
        async with queue.processing("pdf") as task:
            task.status = "partial"

    asyncio.run(work())
    assert sample_value(metrics, "items_processed_total", {"status": "partial", "type": "pdf"}) == 1


def test_etl_follows_seed_001() -> None:
    with fresh_metrics(prefix="kpi") as metrics:
        etl = Etl()
        with etl.time_operation("marketing", "validation"):
            etl.record_processed("marketing", "valid", 98)
            etl.record_processed("marketing", "invalid", 2)
        etl.set_quality_score("marketing", 69)
        etl.batch_processed("marketing", "success", size=100)
        etl.validation_error("marketing", "missing_field", 2)
        assert sample_value(metrics, "kpi_etl_records_processed_total", {"status": "valid"}) == 98
        assert sample_value(metrics, "kpi_etl_quality_score", {"model_name": "marketing"}) == 69
        assert sample_value(metrics, "kpi_etl_stage_duration_seconds_count", {"stage": "validation"}) == 1
        assert sample_value(metrics, "kpi_etl_batches_total", {"status": "success"}) == 1
        assert sample_value(metrics, "kpi_etl_batch_size_sum") == 100
        assert sample_value(metrics, "kpi_etl_validation_errors_total", {"error_type": "missing_field"}) == 2


def test_analytics_bounds_method_and_severity() -> None:
    with fresh_metrics(prefix="kpi") as metrics:
        analytics = Analytics()
        with analytics.analysis("marketing"):
            assert sample_value(metrics, "kpi_analytics_analyses_in_progress") == 1
            with analytics.stage("marketing", "statistical"):
                analytics.anomaly_detected("marketing", "revenue", "zscore", "high")
                analytics.anomaly_detected("marketing", "revenue", "my-own-method", "HIGH!!")
        analytics.insight_generated("medium")
        name = "kpi_analytics_anomalies_detected_total"
        assert sample_value(metrics, name, {"method": "zscore", "severity": "high"}) == 1
        assert sample_value(metrics, name, {"method": "other", "severity": "other"}) == 1
        assert sample_value(metrics, "kpi_analytics_analyses_total", {"status": "success"}) == 1
        assert sample_value(metrics, "kpi_analytics_analysis_duration_seconds_count", {"stage": "total"}) == 1
        assert sample_value(metrics, "kpi_analytics_insights_generated_total", {"severity": "medium"}) == 1
        assert sample_value(metrics, "kpi_analytics_analyses_in_progress") == 0


def test_label_children_past_the_cache_still_count(metrics: Metrics) -> None:
    etl = Etl()
    for i in range(1500):
        etl.record_processed(f"model-{i}", "valid")
    etl.record_processed("model-1499", "valid")
    assert sample_value(metrics, "etl_records_processed_total", {"model_name": "model-1499"}) == 2
