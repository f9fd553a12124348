"""A real Prometheus holding 7 days of known samples (backfilled with promtool), shared by the module."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tests.history._prom import backfill, prometheus, write_openmetrics

DAY = 86_400
#: Seconds between two stored samples.
RAW_INTERVAL = 60


def known_value(series: int, t: int) -> float:
    """The stored value of ``hx_gauge{series="s<series>"}`` at second ``t``: exact in float64."""
    return series * 1_000_000 + (t // RAW_INTERVAL) % 1_000_000


def queue_value(start: int, t: int) -> float:
    """``bt_queue{queue="orders"}``: each day 30 min at 25 from 10:00 (critical and warning), 20 min at 15
    from 15:00 (warning), and on days 1, 3 and 5 five runs of 3 min at 12 then 1 min at 5 from 18:00 (a flap
    that a 5-minute ``for`` absorbs); 2 otherwise. Offsets are from the start of the week."""
    day, second = divmod(t - start, DAY)
    if 36_000 <= second < 37_800:
        return 25.0
    if 54_000 <= second < 55_200:
        return 15.0
    if day in (1, 3, 5) and 64_800 <= second < 64_800 + 5 * 240:
        return 12.0 if (second - 64_800) % 240 < 180 else 5.0
    return 2.0


def service_series(start: int) -> list[tuple[str, dict[str, str], object]]:
    """A week of a web service, an OCR service (seed 000) and an order archiver (seed 003), as counters
    growing at known rates from the start, and an alert that fired each day 02:00-02:30 (ALERTS)."""

    def rate(per_second: float) -> object:
        return lambda t: per_second * (t - start)

    def firing(t: int) -> float | None:
        return 1.0 if 7200 <= (t - start) % DAY < 9000 else None

    docs_ok, docs_error = 1 / 60, 1 / 600
    return [
        ("http_requests_total", {"job": "web", "status": "200", "route": "/"}, rate(10)),
        ("http_requests_total", {"job": "web", "status": "500", "route": "/"}, rate(0.1)),
        ("http_request_duration_seconds_bucket", {"job": "web", "le": "0.1"}, rate(5)),
        ("http_request_duration_seconds_bucket", {"job": "web", "le": "0.5"}, rate(9)),
        ("http_request_duration_seconds_bucket", {"job": "web", "le": "+Inf"}, rate(10.1)),
        ("up", {"job": "web", "instance": "127.0.0.1:8000"}, lambda t: 1.0),
        # Prometheus' own HTTP metrics (handler/code, no route): not an application's traffic
        (
            "prometheus_http_requests_total",
            {"job": "prometheus", "code": "200", "handler": "/metrics"},
            rate(1),
        ),
        ("prometheus_http_request_duration_seconds_bucket", {"job": "prometheus", "le": "+Inf"}, rate(1)),
        # an app under metrics.configure(prefix="ocr"): its HTTP metrics carry the prefix
        ("ocr_http_requests_total", {"job": "ocr", "status": "202", "route": "/documents"}, rate(2)),
        ("ocr_http_requests_total", {"job": "ocr", "status": "500", "route": "/documents"}, rate(0.02)),
        ("ocr_http_request_duration_seconds_bucket", {"job": "ocr", "le": "0.1"}, rate(2.02)),
        ("ocr_http_request_duration_seconds_bucket", {"job": "ocr", "le": "+Inf"}, rate(2.02)),
        ("ocr_documents_processed_total", {"job": "ocr", "status": "ok"}, rate(docs_ok)),
        ("ocr_documents_processed_total", {"job": "ocr", "status": "error"}, rate(docs_error)),
        ("ocr_processing_duration_seconds_sum", {"job": "ocr"}, rate(1.5 * (docs_ok + docs_error))),
        ("ocr_processing_duration_seconds_count", {"job": "ocr"}, rate(docs_ok + docs_error)),
        ("ocr_cache_hits_total", {"job": "ocr"}, rate(1 / 300)),
        ("ocr_cache_misses_total", {"job": "ocr"}, rate(1 / 75)),
        ("orders_found_total", {"job_name": "archiver"}, rate(1 / 60)),
        ("orders_archived_total", {"job_name": "archiver"}, rate(0.97 / 60)),
        ("orders_duplicates_total", {"job_name": "archiver"}, rate(0.01 / 60)),
        ("orders_incomplete_total", {"job_name": "archiver"}, rate(0.02 / 60)),
        ("orders_errors_total", {"job_name": "archiver"}, lambda t: 0.0),
        ("ALERTS", {"alertname": "NightlyBackupSlow", "alertstate": "firing", "severity": "warning"}, firing),
    ]


@dataclass(frozen=True)
class Week:
    url: str
    start: int
    end: int


@pytest.fixture(scope="session")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Week]:
    root = tmp_path_factory.mktemp("week")
    end = (int(time.time()) // 3600) * 3600 - 3600
    start = end - 7 * DAY
    series = [("hx_gauge", {"series": f"s{i}"}, functools.partial(known_value, i)) for i in range(3)]
    series.append(("bt_queue", {"queue": "orders"}, functools.partial(queue_value, start)))
    series += service_series(start)  # type: ignore[arg-type]
    write_openmetrics(root / "week.om", series, start, end, RAW_INTERVAL)
    backfill(root / "week.om", root / "tsdb")
    with prometheus(root / "tsdb") as url:
        yield Week(url, start, end)
