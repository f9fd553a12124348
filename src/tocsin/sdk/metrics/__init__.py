"""In-app Prometheus metrics: identity, prefix, factories, series cap and timing.

::

    from tocsin.sdk import metrics

    m = metrics.configure(app="kpi-system", version="1.0.0", environment="production", prefix="kpi")
    records = m.counter("etl_records_processed_total", "ETL records", ["model", "status"])

    @metrics.timed(m.histogram("etl_batch_duration_seconds", "ETL batch time", ["outcome"]),
                   outcome_label="outcome")
    async def process_batch(records): ...
"""

from __future__ import annotations

from ._capped import OVERFLOW, CappedCounter, CappedGauge, CappedHistogram, CappedSummary
from ._config import (
    DEFAULT_MAX_SERIES,
    Identity,
    Metrics,
    clear_metrics,
    configure,
    counter,
    gauge,
    get_metrics,
    histogram,
    summary,
)
from ._timing import Timed, timed

__all__ = [
    "DEFAULT_MAX_SERIES",
    "OVERFLOW",
    "CappedCounter",
    "CappedGauge",
    "CappedHistogram",
    "CappedSummary",
    "Identity",
    "Metrics",
    "Timed",
    "clear_metrics",
    "configure",
    "counter",
    "gauge",
    "get_metrics",
    "histogram",
    "summary",
    "timed",
]
