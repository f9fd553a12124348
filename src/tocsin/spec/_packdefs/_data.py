# ruff: noqa: E501 - PromQL reads best on one line each; these modules are data
"""Packs for caches, ETL pipelines, anomaly detection and databases (seeds 000, 001, 002, 004)."""

from __future__ import annotations

from ._model import AlertDef, PackDef, PanelDef, RecordDef

__all__ = ["ANOMALY", "CACHE", "DB", "ETL"]

_HIT_RATIO = (
    "sum by (cache) (rate(${m}cache_hits_total$sel[5m])) / (sum by (cache) (rate(${m}cache_hits_total$sel[5m]))"
    " + sum by (cache) (rate(${m}cache_misses_total$sel[5m])))"
)

CACHE = PackDef(
    name="cache",
    title="Cache",
    summary="Cache hits and misses by cache (redis-py wrappers, memoiser); hit ratio; Redis memory via the exporter.",
    sdk='Cache("$cache") or RedisCache(redis.Redis(), "$cache")',
    namespace="",
    params={"cache": "", "redis_exporter": False},
    name_from="cache",
    matchers={"cache": "cache"},
    seeds="000, 002",
    records=(
        RecordDef(
            "${m}cache:hit_ratio:rate5m",
            _HIT_RATIO,
            keeps=("cache",),
            expect="0.75",
            test_series={"${m}cache_hits_total": "0+3x20", "${m}cache_misses_total": "0+1x20"},
        ),
    ),
    alerts=(
        AlertDef(
            "hit_ratio",
            "${Name}CacheHitRatioLow",
            "min by (cache) (${m}cache:hit_ratio:rate5m$sel)",
            "Cache {{ $labels.cache }} hit ratio is {{ $value | humanizePercentage }}",
            warning="< 0.5",
            critical="< 0.3",
            for_="10m",
            priority="P3",
            seed="002: hit rate < 50 % (warning); 000: > 30 % target",
        ),
    ),
    panels=(
        PanelDef(
            "Cache hit ratio",
            "${m}cache:hit_ratio:rate5m$sel",
            unit="percentunit",
            alert="hit_ratio",
            legend="{{cache}}",
        ),
        PanelDef(
            "Cache look-ups/s",
            "sum by (cache) (rate(${m}cache_hits_total$sel[5m]))",
            unit="ops",
            legend="{{cache}} hits",
        ),
        PanelDef(
            "Cache misses/s",
            "sum by (cache) (rate(${m}cache_misses_total$sel[5m]))",
            unit="ops",
            legend="{{cache}} misses",
        ),
        PanelDef("Redis memory", "redis_memory_used_bytes", unit="bytes", when="redis_exporter"),
    ),
)

ETL = PackDef(
    name="etl",
    title="ETL",
    summary="ETL pipelines: records by model and status, stage durations, quality score, batch size, validation errors.",
    sdk="Etl()",
    namespace="etl",
    seeds="001",
    alerts=(
        AlertDef(
            "quality",
            "${Name}ETLQualityLow",
            "min by (model_name) (${m}quality_score$sel)",
            "ETL data quality is low for {{ $labels.model_name }}",
            warning="< 70",
            critical="< 50",
            for_="5m",
            priority="P2",
            seed="001: ETLQualityLow (kpi_etl_quality_score < 70 for 5m)",
        ),
        AlertDef(
            "batch_errors",
            "${Name}ETLBatchesFailing",
            'sum by (model_name) (increase(${m}batches_total{status="error"$and}[15m]))',
            "{{ $value }} ETL batches of {{ $labels.model_name }} failed in 15 minutes",
            warning="> 0",
            for_="1m",
            priority="P2",
            seed="001: batch status error",
        ),
    ),
    panels=(
        PanelDef(
            "Records/s by status",
            "sum by (status) (rate(${m}records_processed_total$sel[5m]))",
            unit="ops",
            legend="{{status}}",
        ),
        PanelDef(
            "Quality score",
            "min by (model_name) (${m}quality_score$sel)",
            kind="gauge",
            alert="quality",
            legend="{{model_name}}",
        ),
        PanelDef(
            "Stage duration p95",
            "histogram_quantile(0.95, sum by (le, stage) (rate(${m}stage_duration_seconds_bucket$sel[5m])))",
            unit="s",
            legend="{{stage}}",
        ),
        PanelDef(
            "Batch size p50",
            "histogram_quantile(0.5, sum by (le, model_name) (rate(${m}batch_size_bucket$sel[15m])))",
            legend="{{model_name}}",
        ),
        PanelDef(
            "Validation errors by type",
            "sum by (error_type) (increase(${m}validation_errors_total$sel[1h]))",
            kind="bars",
            legend="{{error_type}}",
        ),
    ),
)

ANOMALY = PackDef(
    name="anomaly",
    title="Anomaly detection",
    summary="Anomalies by model, metric, method (zscore, iqr, modified_zscore) and severity; analyses; insights.",
    sdk="Analytics()",
    namespace="analytics",
    seeds="001",
    alerts=(
        AlertDef(
            "high_rate",
            "${Name}HighAnomalyRate",
            'sum by (model_name) (rate(${m}anomalies_detected_total{severity="high"$and}[5m]))',
            "High anomaly detection rate for {{ $labels.model_name }}",
            critical="> 0.1",
            for_="2m",
            priority="P1",
            seed='001: HighAnomalyRate (rate(...{severity="high"}[5m]) > 0.1 for 2m)',
        ),
    ),
    panels=(
        PanelDef(
            "Anomalies/min by method",
            "sum by (method) (rate(${m}anomalies_detected_total$sel[5m])) * 60",
            legend="{{method}}",
        ),
        PanelDef(
            "High anomalies/s",
            'sum by (model_name) (rate(${m}anomalies_detected_total{severity="high"$and}[5m]))',
            alert="high_rate",
            legend="{{model_name}}",
        ),
        PanelDef(
            "Analysis duration p95",
            "histogram_quantile(0.95, sum by (le, stage) (rate(${m}analysis_duration_seconds_bucket$sel[5m])))",
            unit="s",
            legend="{{stage}}",
        ),
        PanelDef(
            "Insights by severity",
            "sum by (severity) (increase(${m}insights_generated_total$sel[1h]))",
            kind="bars",
            legend="{{severity}}",
        ),
    ),
)

DB = PackDef(
    name="db",
    title="Database",
    summary="SQL clients (SQLAlchemy, Django): queries and latency by operation, errors, deadlocks, pool use.",
    sdk="Database().instrument_sqlalchemy(engine) / .instrument_django()",
    namespace="db",
    params={"database": "", "postgres_exporter": False},
    name_from="database",
    matchers={"database": "database"},
    seeds="002, 004",
    alerts=(
        AlertDef(
            "pool",
            "${Name}DatabasePoolExhausted",
            "max by (database) (${m}connections_active$sel / ${m}pool_size$sel)",
            "{{ $labels.database }}: {{ $value | humanizePercentage }} of the pool in use",
            warning="> 0.8",
            critical="> 0.95",
            for_="5m",
            priority="P2",
            seed="004: pool > 80 % / > 95 %",
        ),
        AlertDef(
            "deadlocks",
            "${Name}DatabaseDeadlocks",
            "sum by (database) (increase(${m}deadlocks_total$sel[10m]))",
            "{{ $labels.database }}: {{ $value }} deadlocks in 10 minutes",
            warning="> 0",
            for_="0s",
            priority="P3",
            seed="004: deadlocks",
        ),
        AlertDef(
            "errors",
            "${Name}DatabaseErrors",
            "sum by (database) (rate(${m}errors_total$sel[5m])) / sum by (database) (rate(${m}queries_total$sel[5m]))",
            "{{ $labels.database }}: {{ $value | humanizePercentage }} of the statements fail",
            warning="> 0.01",
            critical="> 0.05",
            for_="5m",
            priority="P2",
            seed="002: DB errors",
        ),
    ),
    panels=(
        PanelDef(
            "Queries/s by operation",
            "sum by (operation) (rate(${m}queries_total$sel[5m]))",
            unit="ops",
            legend="{{operation}}",
        ),
        PanelDef(
            "Query time p95",
            "histogram_quantile(0.95, sum by (le, operation) (rate(${m}query_duration_seconds_bucket$sel[5m])))",
            unit="s",
            legend="{{operation}}",
        ),
        PanelDef(
            "Pool in use",
            "max by (database) (${m}connections_active$sel / ${m}pool_size$sel)",
            unit="percentunit",
            alert="pool",
            legend="{{database}}",
        ),
        PanelDef("Connections active", "sum by (database) (${m}connections_active$sel)", kind="stat"),
        PanelDef(
            "Errors by type",
            "sum by (type) (increase(${m}errors_total$sel[1h]))",
            kind="bars",
            legend="{{type}}",
        ),
        PanelDef(
            "PostgreSQL backends",
            "sum by (datname) (pg_stat_database_numbackends)",
            when="postgres_exporter",
            legend="{{datname}}",
        ),
    ),
)
