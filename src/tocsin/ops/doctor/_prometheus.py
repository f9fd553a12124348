"""Checks through Prometheus' API: targets, rules, config reloads, the TSDB, the clock, remote write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from tocsin.ops.doctor._base import Context, Finding, error, ok, warning
from tocsin.promapi import PrometheusAPIError
from tocsin.stack.targets import explain_scrape_error

__all__ = ["clock", "long_term", "reloads", "rules", "targets", "tsdb"]

#: head series above which one Prometheus needs watching (RAM ~ 3-4 KiB per series), and a lot of churn
HEAD_SERIES_WARN = 2_000_000
CHURN_WARN = 0.2


def _fix_for(job: str, why: str, ctx: Context) -> str:
    service = f"services.{job}" if ctx.spec is not None and job in ctx.spec.services else f"the {job} job"
    if "connection refused" in why:
        return f"start the service, or fix the port in {service}.targets"
    if "404" in why:
        return f"fix {service}.metrics_path (the path the app serves its metrics on)"
    if "credentials" in why:
        return f"give {service} basic_auth or bearer_token_file"
    if "timed out" in why:
        return f"make /metrics faster, or raise {service}.timeout"
    if "not Prometheus format" in why:
        return f"point {service}.metrics_path at a Prometheus /metrics endpoint"
    return f"check {service} and the service itself"


def targets(ctx: Context) -> Iterator[Finding]:
    prom = ctx.prometheus()
    if prom is None:
        return
    try:
        active = prom.targets()
    except PrometheusAPIError as exc:
        yield error("targets", "prometheus", f"cannot list targets: {exc}", "tocsin status")
        return
    down = [t for t in active if t.get("health") == "down"]
    for t in down:
        job = str(t.get("labels", {}).get("job", t.get("scrapePool", "")))
        url = str(t.get("scrapeUrl", ""))
        why = explain_scrape_error(str(t.get("lastError", "")), url)
        yield error("targets", f"{job} {url}", f"target is down: {why}", _fix_for(job, why, ctx))
    if active and not down:
        yield ok("targets", "prometheus", f"all {len(active)} targets are up")


def _alert_line(ctx: Context, rule: str) -> tuple[str, str]:
    """(alert name, ``tocsin.yaml:12``) for a rule of one of the spec's alerts: the alert itself or the
    recording rule holding its expression; ("", "") for a rule the spec did not make."""
    if ctx.spec is None:
        return "", ""
    from tocsin.compile.rules import record_name
    from tocsin.spec import spec_problem

    for index, alert in enumerate(ctx.spec.alerts):
        if rule in (alert.name, record_name(alert)):
            problem = spec_problem(ctx.spec, ("alerts", index, "expr"), "")
            return alert.name, f"{problem.file}:{problem.line}" if problem.line else problem.file
    return "", ""


def rules(ctx: Context) -> Iterator[Finding]:
    prom = ctx.prometheus()
    if prom is None:
        return
    try:
        groups = prom.rules()
    except PrometheusAPIError as exc:
        yield error("rules", "prometheus", f"cannot list rules: {exc}", "tocsin status")
        return
    failing = 0
    for group in groups:
        for rule in group.get("rules", []):
            if rule.get("health") == "err" or rule.get("lastError"):
                failing += 1
                name = str(rule.get("name", ""))
                alert, where = _alert_line(ctx, name)
                subject = f"{alert} ({name})" if alert and alert != name else name
                yield error(
                    "rules",
                    f"{subject} in group {group.get('name')}",
                    f"the rule fails at every evaluation: {rule.get('lastError')}",
                    f"fix the expr of alert {alert} at {where}: until then it can never fire"
                    if alert
                    else "fix its expression in the rule file: until then it does nothing",
                )
        interval = float(group.get("interval") or 0)
        took = float(group.get("evaluationTime") or 0)
        if interval and took > interval:
            yield warning(
                "rules",
                f"group {group.get('name')}",
                f"evaluating it takes {took:.1f}s, longer than its {interval:.0f}s interval: "
                "evaluations are skipped",
                "simplify its expressions or record the expensive parts",
            )
    if groups and not failing:
        count = sum(len(g.get("rules", [])) for g in groups)
        yield ok("rules", "prometheus", f"{count} rules evaluate without error")


def reloads(ctx: Context) -> Iterator[Finding]:
    for c in ctx.up("prometheus"):
        value = _own(ctx, c.url, "prometheus_config_last_reload_successful")
        if value == 0:
            yield error(
                "config",
                c.name,
                "its last config reload failed: it runs an older config than the spec",
                f"tocsin reload shows why; see {ctx.layout.log(c.name)}",
            )
    for c in ctx.up("alertmanager"):
        if _own(ctx, c.url, "alertmanager_config_last_reload_successful") == 0:
            yield error(
                "config",
                c.name,
                "its last config reload failed: it routes with an older config",
                f"tocsin reload shows why; see {ctx.layout.log(c.name)}",
            )


def _own(ctx: Context, url: str, name: str) -> float | None:
    samples = ctx.metrics(url).get(name)
    return samples[0][1] if samples else None


def tsdb(ctx: Context) -> Iterator[Finding]:
    for c in ctx.up("prometheus"):
        head = _own(ctx, c.url, "prometheus_tsdb_head_series")
        if head is None:
            continue
        created = ctx.scalar(
            f'sum(increase(prometheus_tsdb_head_series_created_total{{instance="{c.host}:{c.port}"}}[1h]))'
        )
        churn = (created or 0.0) / head if head else 0.0
        words = f"{head:,.0f} head series, {created or 0:,.0f} created in the last hour ({churn:.0%} churn)"
        if head > HEAD_SERIES_WARN:
            yield warning(
                "tsdb",
                c.name,
                f"{words}: a single Prometheus this size needs several GB of RAM",
                "drop unused metrics (metric_relabel_configs), or move to stack.long_term (docs/scale.md)",
            )
        elif churn > CHURN_WARN and head > 1000:
            top = _top_metrics(ctx, c.url)
            yield warning(
                "tsdb",
                c.name,
                f"{words}: labels with ever-new values (ids, timestamps) make series churn{top}",
                "remove the unbounded label from those metrics",
            )
        else:
            yield ok("tsdb", c.name, words)


def _top_metrics(ctx: Context, url: str) -> str:
    from tocsin.ops._http import CallFailed, call_json

    try:
        data = call_json("GET", f"{url}/api/v1/status/tsdb", timeout=ctx.timeout)["data"]
    except (CallFailed, KeyError):
        return ""
    top = data.get("seriesCountByMetricName") or []
    return "; most series: " + ", ".join(f"{m['name']} ({m['value']})" for m in top[:3]) if top else ""


def clock(ctx: Context) -> Iterator[Finding]:
    """This machine's clock against Prometheus' (skewed clocks make samples out of order or in the
    future) and NTP's view from node-exporter."""
    prom = ctx.prometheus()
    if prom is None:
        return
    before = time.time()
    try:
        answer: Any = prom.query("time()")
    except PrometheusAPIError:
        return
    after = time.time()
    server = float(answer[1]) if isinstance(answer, list) and len(answer) == 2 else None
    if server is not None:
        skew = server - (before + after) / 2
        if abs(skew) > 1 + (after - before):
            yield error(
                "clock",
                prom.base_url,
                f"Prometheus' clock is {skew:+.1f}s from this machine's",
                "run NTP (systemd-timesyncd or chrony) on both",
            )
    offset = ctx.query("max(abs(node_timex_offset_seconds))")
    synced = ctx.query("min(node_timex_sync_status)")
    if offset and float(offset[0]["value"][1]) > 0.5:
        yield warning(
            "clock",
            "node-exporter",
            f"the kernel's clock is {float(offset[0]['value'][1]):.2f}s off NTP time",
            "check NTP (timedatectl timesync-status)",
        )
    elif synced and float(synced[0]["value"][1]) == 0:
        yield warning(
            "clock",
            "node-exporter",
            "the clock is not NTP-synchronised",
            "enable NTP (timedatectl set-ntp true)",
        )
    else:
        yield ok("clock", "this machine", "clocks agree")


def long_term(ctx: Context) -> Iterator[Finding]:
    """Remote write to the long-term store keeps up (no failed samples, nothing piling up)."""
    for c in ctx.up("prometheus"):
        own = ctx.metrics(c.url)
        failed = sum(v for _, v in own.get("prometheus_remote_storage_samples_failed_total", []))
        pending = sum(v for _, v in own.get("prometheus_remote_storage_samples_pending", []))
        highest = max(
            (v for _, v in own.get("prometheus_remote_storage_highest_timestamp_in_seconds", [])), default=0
        )
        sent = max(
            (v for _, v in own.get("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", [])),
            default=0,
        )
        if not own.get("prometheus_remote_storage_samples_pending"):
            continue
        lag = highest - sent if highest and sent else 0.0
        if lag > 120 or failed:
            yield error(
                "long-term",
                c.name,
                f"remote write is {lag:.0f}s behind ({pending:.0f} samples pending, {failed:.0f} failed)",
                "is the long-term store up? (tocsin status; its log under the state dir's logs/)",
            )
        else:
            yield ok("long-term", c.name, f"remote write keeps up ({lag:.0f}s behind)")
