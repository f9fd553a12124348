# ruff: noqa: E501 - PromQL reads best on one line each; these modules are data
"""Packs for batch jobs, stream consumers and work queues (seeds 003 and 000)."""

from __future__ import annotations

from ._model import AlertDef, PackDef, PanelDef

__all__ = ["JOBS", "QUEUE", "STREAM"]

_RATIO = "sum by (job_name) (${m}${items}_$OUTCOME_last_run$sel) / sum by (job_name) (${m}${items}_found_last_run$sel)"


def _ratio(outcome: str) -> str:
    return _RATIO.replace("$OUTCOME", outcome)


JOBS = PackDef(
    name="jobs",
    title="Batch job",
    summary="Batch and cron jobs: item outcomes per run, duration up to hours, last success, Pushgateway.",
    sdk='Jobs(items="$items", done="$done").run("$job", push=Pushgateway(url, job="$job"))',
    namespace="",
    params={
        "job": None,
        "items": "items",
        "done": "processed",
        "schedule": "25h",
        "baseline_window": "7d",
        "baseline_runs": "5",
        "baseline_min_duration": "1m",
    },
    kinds={
        "schedule": "duration",
        "baseline_window": "duration",
        "baseline_runs": "count",
        "baseline_min_duration": "duration",
    },
    param_docs={
        "job": "the job's name (`job_name`)",
        "items": "what a run handles (`<items>_found_last_run`)",
        "done": "the outcome that counts as handled (`<items>_<done>_last_run`)",
        "schedule": "how often it must succeed (`stale`)",
        "baseline_window": "the runs `baseline` compares the last one with",
        "baseline_runs": "earlier runs the window must hold before `baseline` judges",
        "baseline_min_duration": 'shorter runs are never "slower than usual"',
    },
    name_from="job",
    matchers={"job": "job_name"},
    seeds="003",
    alerts=(
        AlertDef(
            "errors",
            "${Name}JobErrors",
            "max by (job_name) (${m}${items}_errors_last_run$sel)",
            "{{ $labels.job_name }}: {{ $value }} $items failed in the last run",
            critical="> 0",
            for_="0s",
            priority="P1",
            seed="003: errors > 0 on the last batch run (P1)",
        ),
        AlertDef(
            "done",
            "${Name}JobIncompleteRun",
            _ratio("${done}"),
            "{{ $labels.job_name }}: only {{ $value | humanizePercentage }} of the $items found were $done",
            warning="< 0.95",
            for_="1m",
            priority="P2",
            seed="003: archived < 95 % of found",
        ),
        AlertDef(
            "duplicates",
            "${Name}JobDuplicates",
            _ratio("duplicates"),
            "{{ $labels.job_name }}: {{ $value | humanizePercentage }} duplicates in the last run",
            warning="> 0.1",
            critical="> 0.2",
            for_="1m",
            priority="P3",
            seed="003: duplicates > 10 % / > 20 % (P3)",
        ),
        AlertDef(
            "incomplete",
            "${Name}JobIncompleteData",
            _ratio("incomplete"),
            "{{ $labels.job_name }}: {{ $value | humanizePercentage }} of the $items had incomplete data",
            warning="> 0.05",
            critical="> 0.1",
            for_="1m",
            priority="P2",
            seed="003: incomplete > 5 % / > 10 % (P2)",
        ),
        AlertDef(
            "duration",
            "${Name}JobSlow",
            "max by (job_name) (${m}job_last_duration_seconds$sel)",
            "{{ $labels.job_name }}: the last run took {{ $value | humanizeDuration }}",
            warning="> 1800",
            for_="1m",
            priority="P3",
            seed="003: batch duration > 30 min",
        ),
        AlertDef(
            "baseline",
            "${Name}JobSlowerThanUsual",
            # the last run against the median of the runs of the window (a mean is dragged up by the
            # slow runs it should judge), and only once the window holds $baseline_runs earlier runs
            # (a fresh Prometheus has no baseline: three runs and one slowed by a busy CPU made "2x")
            # and the run took $baseline_min_duration or more (0.05 s -> 0.12 s is noise, not a trend);
            # changes() of the last-run time counts runs whether the job is scraped or pushed
            "max by (job_name) (${m}job_last_duration_seconds$sel)"
            " / max by (job_name) (quantile_over_time(0.5, ${m}job_last_duration_seconds$sel[$baseline_window]))"
            " and on (job_name) max by (job_name) (${m}job_last_duration_seconds$sel) >= $baseline_min_duration_seconds"
            " and on (job_name) max by (job_name) (changes(${m}job_last_run_timestamp_seconds$sel[$baseline_window]))"
            " >= $baseline_runs",
            "{{ $labels.job_name }}: the last run took {{ $value | humanize }}x its usual duration"
            " (the median of its runs over $baseline_window)",
            warning="> 2",
            for_="1m",
            priority="P3",
            seed="003: duration > 2x baseline (P3); baseline: the median run of $baseline_window, once it"
            " holds $baseline_runs earlier runs; runs of $baseline_min_duration or more",
        ),
        AlertDef(
            "stale",
            "${Name}JobNotSucceeded",
            "time() - max by (job_name) (${m}job_last_success_timestamp_seconds$sel)",
            "{{ $labels.job_name }}: no successful run for {{ $value | humanizeDuration }}",
            critical="> $schedule_seconds",
            for_="10m",
            priority="P2",
            seed="job not succeeded within its schedule",
        ),
    ),
    panels=(
        PanelDef("$Items $done (last run)", "sum(${m}${items}_${done}_last_run$sel)", kind="stat"),
        PanelDef("Errors (last run)", "sum(${m}${items}_errors_last_run$sel)", kind="stat", alert="errors"),
        PanelDef(
            "Since last success",
            "time() - max(${m}job_last_success_timestamp_seconds$sel)",
            kind="stat",
            unit="s",
            alert="stale",
        ),
        PanelDef(
            "Duplicates (last run)",
            _ratio("duplicates"),
            unit="percentunit",
            alert="duplicates",
            legend="duplicates",
        ),
        PanelDef(
            "Last run duration",
            "max by (job_name) (${m}job_last_duration_seconds$sel)",
            unit="s",
            alert="duration",
        ),
        PanelDef(
            "$Items by outcome (last run)",
            'label_replace({__name__=~"${m}${items}_.*_last_run"$and}, "outcome", "$$1", "__name__",'
            ' "${m}${items}_(.*)_last_run")',
            kind="bars",
            legend="{{outcome}}",
        ),
    ),
)

STREAM = PackDef(
    name="stream",
    title="Stream consumer",
    summary="Change-stream and message consumers: lag, processing, connection errors, resume token, heartbeat.",
    sdk='Stream(namespace="$namespace")',
    namespace="stream",
    seeds="003",
    alerts=(
        AlertDef(
            "lag",
            "${Name}StreamLag",
            "max(${m}lag_seconds$sel)",
            "The consumer is {{ $value | humanizeDuration }} behind its source",
            warning="> 10",
            critical="> 30",
            for_="1m",
            priority="P2",
            seed="003: stream lag > 10 s, > 30 s (P2)",
        ),
        AlertDef(
            "connection_errors",
            "${Name}StreamConnectionErrors",
            "sum(increase(${m}connection_errors_total$sel[10m]))",
            "{{ $value }} lost connections to the source in 10 minutes",
            critical="> 3",
            for_="0s",
            priority="P1",
            seed="003: connection errors > 3 in 10 min (P1)",
        ),
        AlertDef(
            "token_age",
            "${Name}StreamTokenStale",
            "max(${m}resume_token_age_seconds$sel)",
            "The resume token was last saved {{ $value | humanizeDuration }} ago",
            warning="> 3600",
            for_="5m",
            priority="P3",
            seed="003: resume token age > 1 h",
        ),
        AlertDef(
            "heartbeat",
            "${Name}StreamConsumerDown",
            "time() - max(${m}last_heartbeat_timestamp_seconds$sel)",
            "The consumer loop has shown no sign of life for {{ $value | humanizeDuration }}",
            critical="> 300",
            for_="0s",
            priority="P1",
            seed="003: watch process stopped > 5 min (P1)",
        ),
    ),
    panels=(
        PanelDef("Events/min", "sum(rate(${m}events_processed_total$sel[5m])) * 60", kind="stat", min=0),
        PanelDef("Lag", "max(${m}lag_seconds$sel)", unit="s", alert="lag"),
        PanelDef(
            "Processing time p95",
            "histogram_quantile(0.95, sum by (le) (rate(${m}processing_duration_seconds_bucket$sel[5m])))",
            unit="s",
        ),
        PanelDef(
            "Events by outcome",
            "sum by (outcome) (rate(${m}events_processed_total$sel[5m]))",
            unit="ops",
            legend="{{outcome}}",
        ),
        PanelDef("Uptime", "max(${m}uptime_seconds$sel)", kind="stat", unit="s"),
        PanelDef(
            "Connection errors (10 min)",
            "sum(increase(${m}connection_errors_total$sel[10m]))",
            kind="stat",
            alert="connection_errors",
        ),
    ),
)

QUEUE = PackDef(
    name="queue",
    title="Work queue",
    summary="Work queues and workers: queue size, workers, processing time, outcomes by type, confidence.",
    sdk='Queue(items="$items", type_label="$type_label")',
    namespace="",
    params={"items": "items", "type_label": "type"},
    seeds="000",
    alerts=(
        AlertDef(
            "size",
            "${Name}QueueSaturated",
            "max(${m}queue_size$sel)",
            "{{ $value }} $items waiting in the queue",
            warning="> 10",
            critical="> 20",
            for_="2m",
            priority="P2",
            seed="000: queue > 10 (metric), > 20 for 2 m (alert 2)",
        ),
        AlertDef(
            "latency",
            "${Name}ProcessingSlow",
            "histogram_quantile(0.95, sum by (le) (rate(${m}processing_duration_seconds_bucket$sel[5m])))",
            "p95 processing time is {{ $value | humanizeDuration }}",
            warning="> 2",
            critical="> 3",
            for_="5m",
            priority="P1",
            seed="000: p95 < 2 s target, > 3 s for 5 m (alert 1)",
        ),
        AlertDef(
            "errors",
            "${Name}ErrorRate",
            'sum(rate(${m}${items}_processed_total{status="error"$and}[5m]))'
            " / sum(rate(${m}${items}_processed_total$sel[5m]))",
            "{{ $value | humanizePercentage }} of the $items fail",
            warning="> 0.02",
            critical="> 0.05",
            for_="5m",
            priority="P2",
            seed="000: error rate < 2 % target (alert 3)",
        ),
        AlertDef(
            "confidence",
            "${Name}ConfidenceLow",
            # the mean score of the items read in the window, not the last score of each type: that one
            # stands until the next item of its type, so a stall or one bad page of a rare type kept
            # it low and the alert firing (sdk/packs/queue.py); no item read, no value, no alert
            "sum(rate(${m}confidence_sum$sel[5m])) / sum(rate(${m}confidence_count$sel[5m]))",
            "Average confidence is {{ $value | humanize }}",
            warning="< 90",
            critical="< 80",
            for_="10m",
            priority="P3",
            seed="000: confidence < 80 for 10 m (alert 4), < 90 (optimisation)",
        ),
    ),
    panels=(
        PanelDef("$Items/min", "sum(rate(${m}${items}_processed_total$sel[5m])) * 60", kind="gauge", min=0),
        PanelDef(
            "Average confidence",
            "sum(rate(${m}confidence_sum$sel[5m])) / sum(rate(${m}confidence_count$sel[5m]))",
            kind="gauge",
            alert="confidence",
        ),
        PanelDef("Queue size", "max(${m}queue_size$sel)", kind="stat", alert="size"),
        PanelDef("Workers active", "sum(${m}workers_active$sel)", kind="stat"),
        PanelDef(
            "Processing time p95",
            "histogram_quantile(0.95, sum by (le) (rate(${m}processing_duration_seconds_bucket$sel[5m])))",
            unit="s",
            alert="latency",
        ),
        PanelDef(
            "Error rate",
            'sum(rate(${m}${items}_processed_total{status="error"$and}[5m]))'
            " / sum(rate(${m}${items}_processed_total$sel[5m]))",
            unit="percentunit",
            alert="errors",
        ),
        PanelDef(
            "$Items/min by $type_label",
            "sum by ($type_label) (rate(${m}${items}_processed_total$sel[5m])) * 60",
            legend="{{$type_label}}",
        ),
        PanelDef(
            "Average confidence by $type_label",
            "sum by ($type_label) (rate(${m}confidence_sum$sel[5m]))"
            " / sum by ($type_label) (rate(${m}confidence_count$sel[5m]))",
            legend="{{$type_label}}",
        ),
    ),
)
