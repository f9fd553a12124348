"""An alert's backtest for processes that must stay light (the console: no pydantic, no httpx).

Two halves. In the CLI process, :func:`rule_models` (imported lazily; it compiles the spec) turns the
spec's alerts into plain JSON-able dicts with each rule group's evaluation offset already computed;
``tocsin up`` puts them into the console's view model. In the console, with the standard library only:

1. :func:`plan_requests` says which ``query_range`` calls replay one alert over ``[start, end]`` (each
   under Prometheus' 11,000-point limit, on the rule group's own evaluation grid);
2. the console sends them with its own HTTP client;
3. :func:`replay_answers` runs Prometheus' alert state machine over the answers and returns episodes
   and per-rule figures as JSON-able dicts.

::

    requests = plan_requests(model["alerts"]["OcrTooSlow"]["rules"], start, end)
    answers = [await prometheus.query_range(**r) for r in requests]      # the console's client
    result = replay_answers(model["alerts"]["OcrTooSlow"]["rules"], requests, answers, start, end)
    result["rules"][0]["fired"], result["episodes"][0]["fired_at"]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tocsin.history.backtest._engine import AlertRule, replay

__all__ = ["MAX_POINTS", "plan_requests", "replay_answers", "rule_models"]

#: Prometheus refuses a range query of more points than this.
MAX_POINTS = 11_000


def rule_models(spec: Any, alert: str | None = None) -> list[dict[str, Any]]:
    """The alerting rules of ``spec`` (or of one alert) as JSON-able dicts (CLI side: compiles the spec)."""
    from tocsin.history.backtest import rules_dir, select_rules, spec_rules
    from tocsin.history.backtest._align import group_offset

    out = []
    for rule in select_rules(spec_rules(spec, rules_dir(spec)), alert):
        out.append(
            {
                "alert": rule.alert,
                "expr": rule.expr,
                "interval": rule.interval,
                "for": rule.for_,
                "keep_firing_for": rule.keep_firing_for,
                "labels": dict(rule.labels),
                "group": rule.group,
                "offset": group_offset(rule.file, rule.group, rule.interval),
            }
        )
    return out


def _rule(model: Mapping[str, Any]) -> AlertRule:
    return AlertRule(
        alert=str(model["alert"]),
        expr=str(model["expr"]),
        interval=float(model["interval"]),
        for_=float(model.get("for") or 0.0),
        keep_firing_for=float(model.get("keep_firing_for") or 0.0),
        labels=dict(model.get("labels") or {}),
        group=str(model.get("group", "")),
    )


def _grid(model: Mapping[str, Any], start: float, end: float) -> tuple[float, int]:
    step = float(model["interval"])
    offset = float(model.get("offset") or 0.0)
    warmup = float(model.get("for") or 0.0) + float(model.get("keep_firing_for") or 0.0)
    first = math.ceil(round((start - warmup - offset) / step, 9)) * step + offset
    steps = int(round((end - first) / step, 9)) + 1 if first <= end else 0
    return first, steps


def plan_requests(
    rules: Sequence[Mapping[str, Any]], start: float, end: float, max_points: int = MAX_POINTS
) -> list[dict[str, Any]]:
    """``query_range`` parameters (``query``, ``start``, ``end``, ``step``; times in Unix seconds) for
    every rule of ``rules``, in order; a rule's range is split into consecutive chunks."""
    requests: list[dict[str, Any]] = []
    for index, model in enumerate(rules):
        first, steps = _grid(model, start, end)
        step = float(model["interval"])
        for chunk in range(0, steps, max_points):
            last = min(chunk + max_points, steps) - 1
            requests.append(
                {"query": str(model["expr"]), "start": first + chunk * step, "end": first + last * step,
                 "step": step, "rule": index}
            )  # fmt: skip
    return requests


def replay_answers(
    rules: Sequence[Mapping[str, Any]],
    requests: Sequence[Mapping[str, Any]],
    answers: Sequence[Sequence[Mapping[str, Any]]],
    start: float,
    end: float,
) -> dict[str, Any]:
    """Episodes (``alert``, ``labels``, ``active_at``, ``fired_at``, ``resolved_at``; None = never fired /
    still firing) and per-rule figures (``fired``, ``firing_seconds``, ``longest_seconds``, ``flaps``,
    ``near_misses``) from the ``query_range`` result lists answering ``requests``."""
    from tocsin.history.backtest._summary import summarize

    merged: list[dict[tuple[tuple[str, str], ...], dict[str, Any]]] = [{} for _ in rules]
    for request, answer in zip(requests, answers, strict=True):
        series = merged[int(request["rule"])]
        for item in answer:
            key = tuple(sorted(item["metric"].items()))
            entry = series.setdefault(key, {"metric": item["metric"], "values": []})
            last = entry["values"][-1][0] if entry["values"] else -math.inf
            entry["values"].extend(v for v in item["values"] if v[0] > last)
    episodes: list[dict[str, Any]] = []
    figures: list[dict[str, Any]] = []
    for model, series in zip(rules, merged, strict=True):
        first, steps = _grid(model, start, end)
        result = replay(_rule(model), first, float(model["interval"]), steps, list(series.values()), start)
        summary = summarize(result)
        figures.append(
            {"alert": summary.alert, "severity": summary.severity, "fired": summary.fired,
             "firing_seconds": summary.firing_seconds, "longest_seconds": summary.longest_seconds,
             "flaps": summary.flaps, "near_misses": summary.near_misses,
             "firing_at_end": summary.firing_at_end}
        )  # fmt: skip
        episodes += [
            {"alert": summary.alert, "labels": dict(e.labels), "active_at": e.active_at,
             "fired_at": e.fired_at, "resolved_at": e.resolved_at}
            for e in result.episodes
        ]  # fmt: skip
    episodes.sort(key=lambda e: e["active_at"])
    return {"start": start, "end": end, "rules": figures, "episodes": episodes}
