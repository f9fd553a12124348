"""Per-alert figures of a backtest, and the difference between two versions of a spec."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tocsin.history.backtest._engine import AlertRule, Episode, RuleReplay

if TYPE_CHECKING:
    from tocsin.history.backtest._alertmanager import Notification

__all__ = ["RuleSummary", "SummaryDiff", "diff_summaries", "notification_counts", "summarize"]


@dataclass(frozen=True)
class RuleSummary:
    """What one alerting rule would have done over the range."""

    key: str
    alert: str
    severity: str
    fired: int
    firing_seconds: float
    longest_seconds: float
    flaps: int
    near_misses: int
    firing_at_end: int
    notifications: int
    instances: int

    @property
    def noisy(self) -> bool:
        """Flapped, or paged more than once a day on average is for the reader to judge; this says flapped."""
        return self.flaps > 0


def _clipped(e: Episode, start: float, end: float) -> float:
    if e.fired_at is None:
        return 0.0
    stop = e.resolved_at if e.resolved_at is not None else end
    return max(0.0, min(stop, end) - max(e.fired_at, start))


def _flaps(episodes: Sequence[Episode], window: float) -> int:
    """Re-fires of the same alert instance less than ``window`` after it resolved."""
    last: dict[tuple[tuple[str, str], ...], float] = {}
    flaps = 0
    for e in sorted((e for e in episodes if e.fired_at is not None), key=lambda e: e.fired_at or 0.0):
        key = tuple(sorted(e.labels.items()))
        if key in last and (e.fired_at or 0.0) - last[key] < window:
            flaps += 1
        if e.resolved_at is not None:
            last[key] = e.resolved_at
    return flaps


def notification_counts(rules: Iterable[AlertRule], notifications: Iterable[Notification]) -> dict[str, int]:
    """Rule key → how many (non-resolved) messages carried a firing alert of that rule."""
    by_name: dict[str, list[AlertRule]] = {}
    for rule in rules:
        by_name.setdefault(rule.alert, []).append(rule)
    counts: dict[str, int] = {}
    for n in notifications:
        if n.kind == "resolved":
            continue
        carried = {
            rule.key
            for labels in n.firing
            for rule in by_name.get(labels.get("alertname", ""), ())
            if all(labels.get(k) == v for k, v in rule.labels.items())
        }
        for key in carried:
            counts[key] = counts.get(key, 0) + 1
    return counts


def summarize(
    replay: RuleReplay, notifications: Iterable[Notification] = (), *, counts: Mapping[str, int] | None = None
) -> RuleSummary:
    """The figures of ``replay``; ``notifications`` counts the messages carrying a firing alert of it
    (give ``counts`` from :func:`notification_counts` instead when summarizing many rules).

    A flap is a re-fire less than ``max(for, 2 evaluation intervals)`` after the same instance resolved:
    a condition hovering around its threshold that ``for`` did not absorb.
    """
    rule, start, end = replay.rule, replay.start, replay.end
    inside = [e for e in replay.episodes if e.fired_at is not None and (e.resolved_at or end) > start]
    durations = [_clipped(e, start, end) for e in inside]
    window = max(rule.for_, 2 * rule.interval)

    if counts is None:
        counts = notification_counts([rule], notifications)
    return RuleSummary(
        key=rule.key,
        alert=rule.alert,
        severity=str(rule.labels.get("severity", "")),
        fired=len(replay.firing),
        firing_seconds=sum(durations),
        longest_seconds=max(durations, default=0.0),
        flaps=_flaps(replay.episodes, window),
        near_misses=sum(1 for e in replay.episodes if e.fired_at is None and e.active_at >= start),
        firing_at_end=sum(1 for e in inside if e.resolved_at is None),
        notifications=counts.get(rule.key, 0),
        instances=len({tuple(sorted(e.labels.items())) for e in inside}),
    )


@dataclass(frozen=True)
class SummaryDiff:
    """One rule in two versions (``None`` where it does not exist)."""

    key: str
    old: RuleSummary | None
    new: RuleSummary | None

    @property
    def changed(self) -> bool:
        if self.old is None or self.new is None:
            return True
        pick = ("fired", "firing_seconds", "flaps", "notifications")
        return any(getattr(self.old, f) != getattr(self.new, f) for f in pick)


def diff_summaries(old: Sequence[RuleSummary], new: Sequence[RuleSummary]) -> list[SummaryDiff]:
    """Rules matched by alertname and labels, in the new version's order, then the removed ones."""
    before = {s.key: s for s in old}
    after = {s.key: s for s in new}
    keys = [s.key for s in new] + [s.key for s in old if s.key not in after]
    return [SummaryDiff(k, before.get(k), after.get(k)) for k in keys]
