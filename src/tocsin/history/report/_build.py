"""Assemble a report: built-in sections and the spec's own, all queried concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tocsin.history.export import client, paused_gc
from tocsin.history.report._builtins import (
    BUILTINS,
    HTTP_BUILTINS,
    configured_http_prefixes,
    detect_http_prefixes,
)
from tocsin.history.report._context import PERIODS, Context
from tocsin.history.report._doc import Item, ReportDoc, Section, Stat, Table, format_value
from tocsin.promapi import AsyncPrometheusAPI
from tocsin.spec import Panel, Report, ReportSection, Spec

__all__ = ["DEFAULT_BUILTINS", "build_report", "receiver_history"]

DEFAULT_BUILTINS = ("traffic", "errors", "latency", "slos", "alerts", "noise", "checklist")


def receiver_history(path: Path, start: float, end: float) -> list[dict[str, Any]] | None:
    """The receiver's notifications in ``[start, end]``, or None when there is no history file."""
    if not path.is_file():
        return None
    from tocsin.stack.history import AlertHistory

    history = AlertHistory(path)
    try:
        rows = history.notifications(since=start, limit=10_000)
    finally:
        history.close()
    return [r for r in rows if float(r["received_at"]) <= end]


async def _panel(ctx: Context, panel: Panel) -> Item:
    thresholds = ctx.spec.panel_thresholds(panel)
    if panel.kind in ("timeseries", "bars"):
        step = 86_400 if panel.kind == "bars" else None
        return await ctx.chart(
            panel.title, panel.expr, unit=panel.unit, kind=panel.kind, template=panel.legend, step=step,
            warning=thresholds.warning if thresholds else None,
            critical=thresholds.critical if thresholds else None,
        )  # fmt: skip
    rows = await ctx.instant(panel.expr)
    if panel.kind == "table" or len(rows) > 1:
        from tocsin.history.report._context import legend

        body = [[legend(labels, panel.legend), format_value(value, panel.unit)] for labels, value in rows]
        return Table(panel.title, ["series", "value"], body)
    return Stat(panel.title, rows[0][1] if rows else None, panel.unit)


async def _section(ctx: Context, section: ReportSection) -> Section:
    panels: list[Panel] = list(section.panels)
    if section.dashboard:
        panels = [p for d in ctx.spec.dashboards if d.slug == section.dashboard for p in d.panels] + panels
    items = await asyncio.gather(*(_panel(ctx, p) for p in panels))
    return Section(section.title, list(items), section.text or "")


async def _build(
    api: AsyncPrometheusAPI, spec: Spec, report: Report, start: float, end: float, period: str,
    notifications: list[dict[str, Any]] | None, params: Mapping[str, Any],
) -> ReportDoc:  # fmt: skip
    ctx = Context(api, spec, period, start, end, notifications, params)
    if HTTP_BUILTINS.intersection(report.builtins):
        configured = configured_http_prefixes(params.get("http_prefix"))
        ctx.http_prefixes = configured if configured is not None else await detect_http_prefixes(ctx)
    builtins = [BUILTINS[name](ctx) for name in report.builtins]
    own = [_section(ctx, s) for s in report.sections]
    results: Sequence[Section | None] = await asyncio.gather(*builtins, *own)
    adjective = {"day": "daily", "week": "weekly", "month": "monthly"}[period]
    title = report.title or f"{spec.app} — {adjective} report"
    doc = ReportDoc(
        title, period, start, end, [s for s in results if s is not None], spec.source, ctx.problems
    )
    return doc


def build_report(
    base_url: str,
    spec: Spec,
    report: Report,
    *,
    end: float,
    period: str | None = None,
    history: Path | None = None,
    http_prefixes: Sequence[str] | None = None,
) -> ReportDoc:
    """Query everything ``report`` needs from the Prometheus at ``base_url`` (and the receiver's
    ``history`` file) for the ``period`` (default the report's) ending at ``end``.

    ``http_prefixes`` (the applications' metric prefixes, ``""`` for none) overrides the report's
    ``http_prefix`` param; with neither, the HTTP sections find the prefixes in Prometheus."""
    period = period or report.period
    start = end - PERIODS[period]
    notifications = receiver_history(history, start, end) if history is not None else None
    params: dict[str, Any] = {k: v for k, v in (getattr(report, "params", None) or {}).items()}
    if http_prefixes is not None:
        params["http_prefix"] = list(http_prefixes)

    async def run() -> ReportDoc:
        async with client(base_url) as http:
            api = AsyncPrometheusAPI(base_url, client=http)
            return await _build(api, spec, report, start, end, period, notifications, params)

    with paused_gc():
        return asyncio.run(run())
