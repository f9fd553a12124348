"""Histogram buckets the packs use, each chosen for what it measures (all in seconds unless said)."""

from __future__ import annotations

__all__ = [
    "BATCH_BUCKETS",
    "CONFIDENCE_BUCKETS",
    "FAST_BUCKETS",
    "LLM_BUCKETS",
    "PAGE_BUCKETS",
    "QUERY_BUCKETS",
    "SESSION_BUCKETS",
    "SIZE_BUCKETS",
    "TASK_BUCKETS",
]

#: Cache and broker round trips, WebSocket fan-out: 0.1 ms to 1 s.
FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
#: SQL statements: 0.5 ms to 10 s.
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: One task of a worker (an OCR page, an ETL stage, an outgoing call): 10 ms to 2 min.
TASK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
#: LLM calls: 100 ms to 5 min (long completions, slow providers).
LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
#: Batch jobs: 1 s to 1 day (the default buckets stop at 10 s; seed 003's batches take minutes).
BATCH_BUCKETS = (
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0,
    3600.0, 5400.0, 7200.0, 10800.0, 14400.0, 21600.0, 43200.0, 86400.0,
)  # fmt: skip
#: Browser timings (First Contentful Paint, Time to Interactive, API calls): 50 ms to 30 s.
PAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 30.0)
#: User sessions: 10 s to 8 h.
SESSION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0)
#: Counts per batch (records, recipients): 1 to 100,000.
SIZE_BUCKETS = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 100000.0)
#: Confidence scores, 0 to 100 (OCR, classifiers): finer near the top, where the targets are (> 95 %,
#: "si confiance < 90 %", < 80 alerts).
CONFIDENCE_BUCKETS = (50.0, 60.0, 70.0, 80.0, 85.0, 90.0, 95.0, 98.0, 100.0)
