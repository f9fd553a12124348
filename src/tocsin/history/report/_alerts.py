"""Alert sections: what fired (stored ``ALERTS``) and the alert-noise review (backtest + receiver history)."""

from __future__ import annotations

from typing import Any

from tocsin.history.report._context import Context
from tocsin.history.report._doc import Section, Table, format_value
from tocsin.promapi import PrometheusAPIError
from tocsin.spec import duration_seconds

__all__ = ["alert_episodes", "noise_section"]

Episode = tuple[dict[str, str], float, float, bool]


async def alert_episodes(ctx: Context) -> list[Episode]:
    """(labels, first firing evaluation, resolved at, still firing) from the raw samples of
    ``ALERTS{alertstate="firing"}`` (one per evaluation while firing; raw, so no 5-minute lookback
    stretches an episode): a gap of more than one evaluation ends an episode."""
    step = duration_seconds(ctx.spec.scrape.evaluation_interval)
    try:
        async with ctx.gate:
            series = await ctx.api.query(f'ALERTS{{alertstate="firing"}}[{ctx.range}]', ctx.end)
    except PrometheusAPIError as err:
        if not err.error_type:
            raise
        ctx.problems.append(f"ALERTS: {err}")
        return []
    out: list[Episode] = []
    for s in series:
        labels = {k: v for k, v in s["metric"].items() if k not in ("__name__", "alertstate")}
        first = last = None
        for ts, _ in s["values"]:
            if last is not None and ts - last > 1.5 * step:
                out.append((labels, first or 0.0, last + step, False))
                first = None
            first = ts if first is None else first
            last = ts
        if first is not None and last is not None:
            out.append((labels, first, last + step, last + 1.5 * step >= ctx.end))
    return out


def _rule_name(alert: str, labels: dict[str, str] | Any, distinct: tuple[str, ...] = ()) -> str:
    """``OcrTooSlow (critical)``; burn-rate rules also name their windows, and rules that would
    read the same (``TargetDown`` of each service) the labels that tell them apart
    (``TargetDown (critical, service=redis)``)."""
    detail = [labels[k] for k in ("severity",) if k in labels]
    if "long_window" in labels:
        detail.append(f"{labels['long_window']}/{labels.get('short_window', '')}")
    detail += [f"{k}={labels[k]}" for k in distinct if k in labels]
    return f"{alert} ({', '.join(detail)})" if detail else alert


def _names(rules: list[tuple[str, dict[str, str]]]) -> list[str]:
    """One name a rule, each different where the rules' static labels differ."""
    plain = [_rule_name(alert, labels) for alert, labels in rules]
    out = []
    for name, (alert, labels) in zip(plain, rules, strict=True):
        twins = [lb for n, (_, lb) in zip(plain, rules, strict=True) if n == name]
        keys = sorted({k for lb in twins for k in lb if len({t.get(k) for t in twins}) > 1})
        # one label that tells every twin apart (the service, most often) reads best
        alone = [k for k in ("service", *keys) if k in keys and len({t.get(k) for t in twins}) == len(twins)]
        out.append(_rule_name(alert, labels, tuple(alone[:1] or keys)) if len(twins) > 1 else name)
    return out


async def noise_section(ctx: Context) -> Section | None:
    """Rules that never fired, fired and never resolved, flapped, or were always silenced."""
    from tocsin.history.backtest import (
        alertmanager_document,
        notification_counts,
        rules_dir,
        simulate,
        spec_rules,
        summarize,
    )
    from tocsin.history.backtest._run import backtest_rules

    rules = spec_rules(ctx.spec, rules_dir(ctx.spec))
    if not rules:
        return None
    backtest = await backtest_rules(ctx.api, rules, ctx.start, ctx.end)
    episodes = [e for r in backtest.replays for e in r.episodes]
    sent = [n for n in simulate(alertmanager_document(ctx.spec), episodes, ctx.end) if n.at >= ctx.start]
    received: dict[str, int] = {}
    for row in ctx.notifications or []:
        received[str(row.get("alertname", ""))] = received.get(str(row.get("alertname", "")), 0) + 1
    rows: list[list[str]] = []
    quiet: list[str] = []
    counts = notification_counts(rules, sent)
    names = _names([(r.rule.alert, dict(r.rule.labels)) for r in backtest.replays])
    for replay, name in zip(backtest.replays, names, strict=True):
        s = summarize(replay, counts=counts)
        verdicts: list[tuple[str, str]] = []
        if s.fired == 0 and s.firing_at_end == 0:
            quiet.append(name)
            continue
        if s.firing_at_end and s.longest_seconds >= (ctx.end - ctx.start) / 2:
            verdicts.append(
                ("never resolved", f"firing for {format_value(s.longest_seconds, 's')} at the end")
            )
        if s.flaps:
            verdicts.append(("flapped", f"{s.flaps} re-fires soon after resolving (of {s.fired})"))
        if ctx.notifications is not None and s.notifications and not received.get(s.alert):
            verdicts.append(("always silenced", f"{s.notifications} notifications due, none received"))
        if s.near_misses > 3 * max(s.fired, 1):
            verdicts.append(("hovering", f"{s.near_misses} pending episodes that never fired"))
        rows.extend([name, verdict, detail] for verdict, detail in verdicts)
    items: list[Any] = []
    if rows:
        items.append(Table("Noisy alerts", ["alert", "verdict", "detail"], rows))
    if quiet:
        items.append(Table("Never fired", ["alert"], [[q] for q in quiet],
                           note="never firing can mean healthy, or a threshold nobody reaches"))  # fmt: skip
    text = "" if rows else "No alert flapped, stayed firing or was silenced in this period."
    if ctx.notifications is None:
        text += " (No receiver history: silenced alerts are not checked.)"
    return Section("Alert noise", items, text.strip())
