# ruff: noqa: E501 - PromQL and SVG markup read best on one line each
"""The built-in report sections, computed from the spec and what Prometheus and the receiver stored.

Each is ``async (Context) -> Section | None`` (None: nothing to say, e.g. no SLO in the spec).
The HTTP sections read tocsin's own HTTP metrics (``http_requests_total{method,route,status}``,
``http_request_duration_seconds``), per service = per scrape ``job``, under each application's metric
prefix (``metrics.configure(prefix="ocr")`` exposes ``ocr_http_requests_total``): the prefixes are
found with one read of Prometheus' name index over the period (:func:`detect_http_prefixes`), or
given with ``params: {http_prefix: "ocr,orders"}`` / ``--http-prefix``; ``ocr`` reads seed 000's metric
names and ``orders`` the batch-jobs pack's (``<items>_found_total``, ``<items>_duplicates_total``, ...).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tocsin.history.report._context import Context
from tocsin.history.report._doc import Section, Stat, Table, format_value
from tocsin.promapi import PrometheusAPIError

__all__ = ["BUILTINS", "HTTP_BUILTINS", "configured_http_prefixes", "detect_http_prefixes"]

Builtin = Callable[[Context], Awaitable[Section | None]]


#: the built-ins that read tocsin's HTTP metrics (and so need the applications' prefixes)
HTTP_BUILTINS = frozenset({"traffic", "errors", "latency"})
_HTTP_SUFFIX = "http_requests_total"
#: a metric name of tocsin's HTTP middleware in a query, with its label matchers if it has any
_HTTP_NAME = re.compile(r"\b(http_request\w*)(?:\{([^}]*)\})?")


def configured_http_prefixes(value: object) -> tuple[str, ...] | None:
    """The ``http_prefix`` param as prefixes: ``"ocr"``, ``"ocr,orders"`` or a list; ``""`` (or
    ``"-"``) names tocsin's unprefixed metrics. None when the param is absent (then: detect)."""
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    prefixes = {"" if str(i).strip() == "-" else str(i).strip().rstrip("_") for i in items}
    return tuple(sorted(prefixes))


async def detect_http_prefixes(ctx: Context) -> tuple[str, ...]:
    """The metric prefixes of every ``*http_requests_total`` with samples in the period: one call to
    Prometheus' label-value index (no sample is read), so a report finds each app's HTTP metrics
    whatever prefix it set. Only series with tocsin's ``route`` label count: Prometheus' own
    ``prometheus_http_requests_total{handler,code}`` (and other exporters') is not an app's traffic. ``("",)`` when there are none or the index cannot be read (the sections
    then say "no data", as before)."""
    try:
        names = await ctx.api.label_values(
            "__name__", match=f'{{__name__=~".*{_HTTP_SUFFIX}",route!=""}}', start=ctx.start, end=ctx.end
        )
    except PrometheusAPIError as err:
        if not err.error_type:  # unreachable: the report's queries will say so
            raise
        ctx.problems.append(f"metric names: {str(err).rsplit(': ', 1)[-1]}")
        return ("",)
    prefixes = {
        n[: -len(_HTTP_SUFFIX)].rstrip("_")
        for n in names
        if n.endswith(_HTTP_SUFFIX) and (n == _HTTP_SUFFIX or n[-len(_HTTP_SUFFIX) - 1] == "_")
    }
    return tuple(sorted(prefixes)) or ("",)


def _http(ctx: Context, query: str) -> str:
    """``query`` reading the ``http_request*`` metrics under every prefix of ``ctx.http_prefixes``:
    plain names for one prefix (readable queries), a ``__name__`` regex for several."""
    prefixes = ctx.http_prefixes
    if prefixes == ("",):
        return query
    if len(prefixes) == 1:
        return _HTTP_NAME.sub(lambda m: f"{prefixes[0]}_{m.group(0)}", query)
    alternatives = "|".join(f"{p}_" if p else "" for p in prefixes)

    def selector(m: re.Match[str]) -> str:
        matchers = f",{m.group(2)}" if m.group(2) else ""
        return f'{{__name__=~"(?:{alternatives}){m.group(1)}"{matchers}}}'

    return _HTTP_NAME.sub(selector, query)


def _by_job(rows: list[tuple[dict[str, str], float]]) -> dict[str, float]:
    return {labels.get("job", ""): value for labels, value in rows}


async def traffic(ctx: Context) -> Section | None:
    requests, up = await asyncio.gather(
        ctx.instant(_http(ctx, "sum by (job) (increase(http_requests_total[$__range]))")),
        ctx.instant("avg by (job) (avg_over_time(up[$__range]))"),
    )
    requests_by, up_by = _by_job(requests), _by_job(up)
    jobs = [j for j in ctx.services() if j in requests_by or j in up_by] or sorted(
        set(requests_by) | set(up_by)
    )
    if not jobs:
        return None
    seconds = ctx.end - ctx.start
    rows = [
        [
            job,
            format_value(requests_by.get(job)),
            format_value(requests_by[job] / seconds, "reqps") if job in requests_by else "no data",
            format_value(up_by.get(job), "percentunit"),
        ]
        for job in jobs
    ]
    chart = await ctx.chart("Requests per second", _http(ctx, "sum by (job) (rate(http_requests_total[5m]))"), unit="reqps",
                            template="{{job}}")  # fmt: skip
    table = Table("Requests per service", ["service", "requests", "mean rate", "scrape availability"], rows)
    return Section("Traffic", [table, chart])


async def errors(ctx: Context) -> Section | None:
    failed, ratio = await asyncio.gather(
        ctx.instant(_http(ctx, 'sum by (job) (increase(http_requests_total{status=~"5.."}[$__range]))')),
        ctx.instant(
            _http(
                ctx,
                'sum by (job) (increase(http_requests_total{status=~"5.."}[$__range]))'
                " / sum by (job) (increase(http_requests_total[$__range]))",
            )
        ),
    )
    failed_by, ratio_by = _by_job(failed), _by_job(ratio)
    if not ratio_by:
        return None
    rows = [
        [job, format_value(failed_by.get(job)), format_value(ratio_by.get(job), "percentunit")]
        for job in sorted(ratio_by)
    ]
    chart = await ctx.chart(
        "Server error ratio",
        _http(
            ctx,
            'sum by (job) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m]))',
        ),
        unit="percentunit",
        template="{{job}}",
    )
    return Section("Errors", [Table("5xx responses per service", ["service", "5xx", "ratio"], rows), chart])


async def latency(ctx: Context) -> Section | None:
    quantiles = (0.5, 0.95, 0.99)
    answers = await asyncio.gather(
        *(
            ctx.instant(
                _http(
                    ctx,
                    f"histogram_quantile({q}, sum by (job, le) (rate(http_request_duration_seconds_bucket[$__range])))",
                )
            )
            for q in quantiles
        )
    )
    per = [_by_job(a) for a in answers]
    jobs = sorted(set().union(*per))
    if not jobs:
        return None
    rows = [[job, *(format_value(p.get(job), "s") for p in per)] for job in jobs]
    chart = await ctx.chart(
        "p95 latency",
        _http(
            ctx, "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))"
        ),
        unit="s",
        template="{{job}}",
    )
    return Section(
        "Latency", [Table("Latency percentiles per service", ["service", "p50", "p95", "p99"], rows), chart]
    )


async def slos(ctx: Context) -> Section | None:
    if not ctx.spec.slos:
        return None
    rows = []
    for slo in ctx.spec.slos:
        budget = float(slo.error_budget)
        period_ratio = f"({slo.errors}) / ({slo.total})".replace("{{window}}", ctx.range)
        slo_ratio = f"({slo.errors}) / ({slo.total})".replace("{{window}}", slo.period)
        in_period, over_slo = await asyncio.gather(ctx.value(period_ratio), ctx.value(slo_ratio))
        attained = None if in_period is None else 1 - in_period
        left = None if over_slo is None else 1 - over_slo / budget
        verdict = "no data" if attained is None else ("met" if attained * 100 >= slo.objective else "missed")
        rows.append([
            slo.name, f"{slo.objective:g} %", format_value(attained, "percentunit"), verdict,
            format_value(left, "percentunit"), slo.period,
        ])  # fmt: skip
    columns = ["SLO", "objective", "attained", "", "error budget left", "budget period"]
    return Section("SLOs", [Table("Attainment and error budget", columns, rows)])


def _ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


async def alerts(ctx: Context) -> Section | None:
    """Alerts that fired in the range, from the stored ``ALERTS`` series (exact durations) and the
    receiver's history (what was notified, and how long until the resolved notification)."""
    from tocsin.history.report._alerts import alert_episodes

    episodes = await alert_episodes(ctx)
    notified: dict[tuple[str, str], int] = {}
    resolve_times: dict[tuple[str, str], list[float]] = {}
    for row in ctx.notifications or []:
        if row.get("sink") not in (None, "webhook"):
            continue
        tags = row.get("labels") or {}
        key = (str(row.get("alertname", "")), str(row.get("severity") or tags.get("severity", "")))
        if row.get("status") == "firing":
            notified[key] = notified.get(key, 0) + 1
        elif row.get("status") == "resolved":
            starts = _parse_rfc3339(str(row.get("starts_at", "")))
            if starts is not None:
                resolve_times.setdefault(key, []).append(float(row["received_at"]) - starts)
    if not episodes and not notified:
        return Section("Alerts", [], "No alert fired in this period.")
    per: dict[tuple[str, str], list[tuple[float, float, bool]]] = {}
    for labels, start, end, open_ in episodes:
        per.setdefault((labels.get("alertname", ""), labels.get("severity", "")), []).append(
            (start, end, open_)
        )
    rows = []
    for (name, severity), spans in sorted(per.items()):
        durations = [e - s for s, e, _ in spans]
        resolves = resolve_times.get((name, severity), [])
        rows.append([
            name, severity, str(len(spans)), format_value(sum(durations), "s"), format_value(max(durations), "s"),
            str(notified.get((name, severity), 0)),
            format_value(sorted(resolves)[len(resolves) // 2], "s") if resolves else "-",
            str(sum(1 for *_, o in spans if o)),
        ])  # fmt: skip
    longest = sorted(episodes, key=lambda e: e[1] - e[2])[:10]  # longest first
    detail = [
        [labels.get("alertname", ""), ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname"),
         _ts(s), "still firing" if o else format_value(e - s, "s")]
        for labels, s, e, o in longest
    ]  # fmt: skip
    columns = [
        "alert",
        "severity",
        "fired",
        "firing time",
        "longest",
        "notified",
        "median time to resolve",
        "open",
    ]
    items: list[Stat | Table] = [Table("Alerts fired", columns, rows)]
    items.append(Table("Longest episodes", ["alert", "labels", "started", "lasted"], detail))
    return Section("Alerts", list(items))


def _parse_rfc3339(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


async def ocr(ctx: Context) -> Section | None:
    """Seed 000's weekly items: documents processed, mean time, success rate, cache savings."""
    m = str(ctx.params.get("ocr_prefix", "ocr"))
    processed, total_time, count, failed, hits, misses = await asyncio.gather(
        ctx.value(f"sum(increase({m}_documents_processed_total[$__range]))"),
        ctx.value(f"sum(increase({m}_processing_duration_seconds_sum[$__range]))"),
        ctx.value(f"sum(increase({m}_processing_duration_seconds_count[$__range]))"),
        ctx.value(f'sum(increase({m}_documents_processed_total{{status="error"}}[$__range]))'),
        ctx.value(f"sum(increase({m}_cache_hits_total[$__range]))"),
        ctx.value(f"sum(increase({m}_cache_misses_total[$__range]))"),
    )
    if processed is None and count is None:
        return None
    mean = total_time / count if total_time is not None and count else None
    success = 1 - (failed or 0.0) / processed if processed else None
    hit_rate = hits / (hits + (misses or 0.0)) if hits is not None and hits + (misses or 0.0) > 0 else None
    saved = hits * mean if hits is not None and mean is not None else None
    cost = float(ctx.params["cost_per_hour"]) if "cost_per_hour" in ctx.params else None
    items: list[Stat | Table] = [
        Stat("Documents processed", processed),
        Stat("Mean processing time", mean, "s"),
        Stat("Success rate", success, "percentunit"),
        Stat("Cache hit rate", hit_rate, "percentunit"),
        Stat("Processing time saved by the cache", saved, "s", "cache hits × mean processing time"),
    ]
    if cost is not None and saved is not None:
        items.append(
            Stat("Cost saved by the cache", saved / 3600 * cost, "currencyEUR", f"at {cost:g} €/hour")
        )
    chart = await ctx.chart("Documents per day", f"sum(increase({m}_documents_processed_total[1d]))", kind="bars",
                            step=86_400)  # fmt: skip
    return Section("OCR weekly review", [*items, chart])


async def orders(ctx: Context) -> Section | None:
    """Seed 003's weekly review: completeness and duplicates of the archived orders."""
    items_name = str(ctx.params.get("items", "orders"))
    done = str(ctx.params.get("done", "archived"))
    names = ("found", done, "duplicates", "incomplete", "errors")
    values = await asyncio.gather(
        *(ctx.value(f"sum(increase({items_name}_{n}_total[$__range]))") for n in names)
    )
    found, archived, duplicates, incomplete, failed = values
    if found is None and archived is None:
        return None

    def share(part: float | None) -> float | None:
        return part / found if part is not None and found else None

    stats = [
        Stat(f"{items_name.capitalize()} found", found),
        Stat(f"{items_name.capitalize()} {done}", archived, note=f"{format_value(share(archived), 'percentunit')} of found"),
        Stat("Completeness", None if share(incomplete) is None else 1 - (share(incomplete) or 0.0), "percentunit",
             f"{format_value(incomplete)} incomplete"),
        Stat("Duplicates", share(duplicates), "percentunit", f"{format_value(duplicates)} duplicates"),
        Stat("Errors", failed),
    ]  # fmt: skip
    chart = await ctx.chart(f"{items_name.capitalize()} {done} per day", f"sum(increase({items_name}_{done}_total[1d]))",
                            kind="bars", step=86_400)  # fmt: skip
    return Section(f"{items_name.capitalize()}: completeness and duplicates", [*stats, chart])


async def noise(ctx: Context) -> Section | None:
    from tocsin.history.report._alerts import noise_section

    return await noise_section(ctx)


async def checklist(ctx: Context) -> Section | None:
    """The spec's checklist as ``tocsin checklist`` judges it at the report's end, each item over its own
    period (a day item in a weekly report: the last day)."""
    from tocsin.history.checklist import CheckItem, ItemResult, check_items, error_result, judge
    from tocsin.promapi import PrometheusAPIError

    async def evaluate(item: CheckItem) -> ItemResult:
        try:
            async with ctx.gate:
                return judge(item, await ctx.api.query(item.query, ctx.end))
        except PrometheusAPIError as err:
            if not err.error_type:  # unreachable: the whole report fails
                raise
            ctx.problems.append(f"{item.query}: {str(err).rsplit(': ', 1)[-1]}")
            return error_result(item, err)

    items = check_items(ctx.spec)
    if not items:
        return None
    results = await asyncio.gather(*(evaluate(i) for i in items))
    marks = {"pass": "✓ pass", "fail": "✗ FAIL"}
    rows = [[marks.get(r.status, "? error"), r.description, r.period, r.detail] for r in results]
    failed = sum(not r.passed for r in results)
    when = datetime.fromtimestamp(ctx.end, UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = f"{failed} of {len(results)} not passing" if failed else f"all {len(results)} passing"
    table = Table(f"Checklist at {when}", ["result", "item", "period", "detail"], rows, note=note)
    return Section("Checklist", [table])


BUILTINS: dict[str, Builtin] = {
    "traffic": traffic,
    "errors": errors,
    "latency": latency,
    "slos": slos,
    "alerts": alerts,
    "noise": noise,
    "ocr": ocr,
    "orders": orders,
    "checklist": checklist,
}
