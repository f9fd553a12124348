"""Prometheus' alert state machine, replayed over the answers of range queries.

A rule's expression evaluated with ``query_range`` at the rule group's own evaluation timestamps gives,
step by step, exactly the vector each live evaluation saw: the query engine applies the 5-minute
lookback, stale markers, counter resets and every range function at each step as a rule evaluation
does. What is left is the state machine of ``rules/alerting.go`` (Prometheus 2.42), per label set:

- a label set appears: a *pending* alert, ``ActiveAt`` = this evaluation (a resolved alert with the same
  labels is replaced by a new pending one);
- pending and still present when ``ts - ActiveAt >= for``: *firing* from this evaluation (at once when
  ``for`` is 0);
- absent while pending: dropped (it never fired);
- absent while firing: kept firing while ``ts - KeepFiringSince < keep_firing_for`` (the first absent
  evaluation sets ``KeepFiringSince``; presence resets it), otherwise *resolved* at this evaluation.

Label sets are independent, so each is replayed from the sorted step indices where it is present
rather than evaluation by evaluation. Time is kept in integer milliseconds, as Prometheus does.

This module is pure Python (no httpx, no pydantic): the console replays with it over answers it fetched
itself (:func:`plan_queries` says which).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlertRule", "Episode", "RuleReplay", "plan_queries", "replay"]

Labels = tuple[tuple[str, str], ...]

_OPS = {
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule as Prometheus runs it.

    ``value_expr`` + ``op`` + ``threshold``, when set, say that ``expr`` is ``value_expr <op> threshold``.
    The backtest still queries ``expr`` (Prometheus filters, so only the few firing points travel); a
    caller that has the values of ``value_expr`` (the console's chart of the panel) can replay the rule
    over them with :meth:`holds`, the same IEEE comparison PromQL does.
    """

    alert: str
    expr: str
    interval: float
    for_: float = 0.0
    keep_firing_for: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)
    group: str = ""
    file: str = ""
    value_expr: str | None = None
    op: str | None = None
    threshold: float | None = None

    @property
    def query(self) -> str:
        """What to evaluate at each step."""
        return self.expr

    @property
    def key(self) -> str:
        """Identity across spec versions: alertname plus the rule's own labels."""
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"{self.alert}{{{inner}}}"

    def holds(self, value: float) -> bool:
        if self.op is None or self.threshold is None:
            return True
        return bool(_OPS[self.op](value, self.threshold))


@dataclass(frozen=True)
class Episode:
    """One life of one alert instance: pending from ``active_at``, firing from ``fired_at`` (None: it
    never fired, dropped at ``resolved_at``), resolved at ``resolved_at`` (None: still active at the end).
    Times are Unix seconds of evaluations."""

    labels: Mapping[str, str]
    active_at: float
    fired_at: float | None
    resolved_at: float | None

    @property
    def fired(self) -> bool:
        return self.fired_at is not None

    def firing_seconds(self, end: float) -> float:
        if self.fired_at is None:
            return 0.0
        return (self.resolved_at if self.resolved_at is not None else end) - self.fired_at


@dataclass
class RuleReplay:
    """A rule replayed from ``start`` to ``end``: its episodes (clipped to those touching the range)."""

    rule: AlertRule
    start: float
    end: float
    evaluations: int
    episodes: list[Episode]
    warnings: list[str] = field(default_factory=list)

    @property
    def firing(self) -> list[Episode]:
        """Episodes that fired inside the range (a page each, before Alertmanager's grouping)."""
        return [e for e in self.episodes if e.fired_at is not None and e.fired_at >= self.start]


def plan_queries(rule: AlertRule, start: float, end: float) -> tuple[str, float, float, float]:
    """``(query, first evaluation, last evaluation, step)`` to fetch for replaying ``rule`` over
    ``[start, end]``; the first evaluation is early enough (``for`` + ``keep_firing_for`` before
    ``start``) that an alert already pending or kept firing at ``start`` is seen as such. Evaluation
    times are on the grid of ``rule.interval`` through 0 (see :mod:`tocsin.history.backtest._align`
    for a group's own offset)."""
    step = rule.interval
    warmup = rule.for_ + rule.keep_firing_for
    first = math.ceil((start - warmup) / step) * step
    last = math.floor(end / step) * step
    return rule.query, first, max(first, last), step


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _episodes(
    indices: Sequence[int], steps: int, hold: int, keep: int
) -> list[tuple[int, int | None, int | None]]:
    """(active, fired, resolved) step indices for one label set present at ``indices`` (sorted)."""
    out: list[tuple[int, int | None, int | None]] = []
    current: list[Any] | None = None  # [active, fired, last present]
    for a, b in _runs(indices):
        if current is not None:
            resolve = current[2] + 1 + keep  # the first absent evaluation not kept firing
            if a <= resolve:  # present again before that: the same episode goes on
                current[2] = b
                continue
            out.append((current[0], current[1], resolve))
            current = None
        fire = a + hold
        if fire <= b:
            current = [a, fire, b]
        else:
            out.append((a, None, b + 1))
    if current is not None:
        resolve = current[2] + 1 + keep
        out.append((current[0], current[1], resolve))
    return [(act, fired, res if res is not None and res < steps else None) for act, fired, res in out]


def _alert_labels(rule: AlertRule, metric: Mapping[str, str]) -> Labels:
    labels = {k: v for k, v in metric.items() if k != "__name__"}
    labels.update(rule.labels)
    labels["alertname"] = rule.alert
    return tuple(sorted(labels.items()))


def replay(
    rule: AlertRule, first: float, step: float, steps: int, answer: Iterable[Mapping[str, Any]], start: float
) -> RuleReplay:
    """Replay ``rule`` over one merged ``query_range`` answer (``[{"metric": {...}, "values": [[ts, "v"],
    ...]}]``) whose evaluations are ``first + i * step`` for ``i < steps``; keep episodes touching
    ``[start, first + (steps - 1) * step]``."""
    first_ms, step_ms = _ms(first), _ms(step)
    hold = math.ceil(_ms(rule.for_) / step_ms) if rule.for_ > 0 else 0
    keep = math.ceil(_ms(rule.keep_firing_for) / step_ms) if rule.keep_firing_for > 0 else 0
    present: dict[Labels, list[int]] = {}
    owners: dict[Labels, Labels] = {}
    warnings: list[str] = []
    for series in answer:
        labels = _alert_labels(rule, series["metric"])
        metric = tuple(sorted(series["metric"].items()))
        if owners.setdefault(labels, metric) != metric:
            warnings.append(
                f"{rule.alert}: two series give the same alert labels {dict(labels)}: Prometheus fails these"
                " evaluations (vector contains metrics with the same labelset after applying alert labels)"
            )
        indices = present.setdefault(labels, [])
        for ts, value in series["values"]:
            if rule.holds(float(value)):
                indices.append(round((_ms(ts) - first_ms) / step_ms))
    end = (first_ms + (steps - 1) * step_ms) / 1000
    episodes: list[Episode] = []
    for labels, indices in present.items():
        indices.sort()
        for act, fired, res in _episodes(indices, steps, hold, keep):
            resolved_at = None if res is None else (first_ms + res * step_ms) / 1000
            if resolved_at is not None and resolved_at <= start:
                continue
            episodes.append(
                Episode(
                    dict(labels),
                    (first_ms + act * step_ms) / 1000,
                    None if fired is None else (first_ms + fired * step_ms) / 1000,
                    resolved_at,
                )
            )
    episodes.sort(key=lambda e: (e.active_at, sorted(e.labels.items())))
    return RuleReplay(rule, start, end, steps, episodes, warnings)
