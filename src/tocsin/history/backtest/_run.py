"""Fetch what every rule needs (once per distinct query and grid, in parallel) and replay it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tocsin.history._times import DEFAULT_CONCURRENCY, MAX_POINTS, TimeRange
from tocsin.history.backtest._align import evaluation_grid, group_offset
from tocsin.history.backtest._engine import AlertRule, RuleReplay, replay
from tocsin.history.export import client, fetch_range, paused_gc
from tocsin.promapi import AsyncPrometheusAPI, BadQueryError

__all__ = ["Backtest", "backtest_rules", "live_groups", "run_backtest"]

Progress = Callable[[int, int], None]


@dataclass
class Backtest:
    """Every rule replayed over ``[start, end]``."""

    start: float
    end: float
    replays: list[RuleReplay]
    notes: list[str] = field(default_factory=list)

    def replay_for(self, key: str) -> RuleReplay | None:
        return next((r for r in self.replays if r.rule.key == key), None)


async def live_groups(api: AsyncPrometheusAPI) -> dict[str, tuple[str, float]]:
    """Group name → (file, interval) as the running Prometheus loaded them, for exact offsets."""
    try:
        groups = await api.rules()
    except Exception:  # an old or locked-down Prometheus: fall back to the rules' own files
        return {}
    return {str(g["name"]): (str(g.get("file", "")), float(g.get("interval", 0) or 0)) for g in groups}


def _offset(rule: AlertRule, live: Mapping[str, tuple[str, float]]) -> tuple[AlertRule, float]:
    file, interval = live.get(rule.group, (rule.file, rule.interval))
    if interval and interval != rule.interval and rule.group in live:
        rule = replace(rule, interval=interval)
    return replace(rule, file=file or rule.file), group_offset(file or rule.file, rule.group, rule.interval)


async def backtest_rules(
    api: AsyncPrometheusAPI,
    rules: Sequence[AlertRule],
    start: float,
    end: float,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_points: int = MAX_POINTS,
    progress: Progress | None = None,
    align: bool = True,
) -> Backtest:
    """Replay ``rules`` over ``[start, end]`` from what Prometheus at ``api`` stored.

    With ``align`` each rule is evaluated at its group's own timestamps (offsets from the running
    Prometheus' groups when it has them, else from the rules' files); otherwise on a grid through 0.
    """
    live = await live_groups(api) if align else {}
    planned: list[tuple[AlertRule, tuple[str, float, float, int]]] = []
    for rule in rules:
        rule, offset = _offset(rule, live) if align else (rule, 0.0)
        first, steps = evaluation_grid(start - rule.for_ - rule.keep_firing_for, end, rule.interval, offset)
        planned.append((rule, (rule.query, first, rule.interval, steps)))
    fetches = sorted({key for _, key in planned if key[3] > 0})
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0
    if progress:
        progress(0, len(fetches))

    async def one(key: tuple[str, float, float, int]) -> list[dict[str, Any]]:
        nonlocal done
        query, first, step, steps = key
        span = TimeRange(first, first + (steps - 1) * step, step)
        # many rules already run in parallel: split a rule's range only when there are few of them
        split = max(1, concurrency // max(1, len(fetches)))
        series = await fetch_range(api, query, span, concurrency=split, max_points=max_points, gate=gate)
        done += 1
        if progress:
            progress(done, len(fetches))
        return [{"metric": s.labels, "values": s.points} for s in series]

    try:
        answers = dict(zip(fetches, await asyncio.gather(*(one(k) for k in fetches)), strict=True))
    except BadQueryError as err:
        raise BadQueryError(f"{err}", err.error_type) from None
    replays = [replay(rule, key[1], key[2], key[3], answers.get(key, []), start) for rule, key in planned]
    notes = [] if live or not align else ["the rule groups' offsets were computed from the rules' files"]
    return Backtest(start, end, replays, notes)


def run_backtest(
    base_url: str,
    rules: Sequence[AlertRule],
    start: float,
    end: float,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_points: int = MAX_POINTS,
    progress: Progress | None = None,
    align: bool = True,
) -> Backtest:
    """Blocking :func:`backtest_rules` against the Prometheus at ``base_url``."""

    async def run() -> Backtest:
        async with client(base_url, concurrency) as http:
            api = AsyncPrometheusAPI(base_url, client=http)
            return await backtest_rules(
                api,
                rules,
                start,
                end,
                concurrency=concurrency,
                max_points=max_points,
                progress=progress,
                align=align,
            )

    with paused_gc():
        return asyncio.run(run())
