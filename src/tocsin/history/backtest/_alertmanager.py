"""What Alertmanager would have sent for replayed alerts: routes, grouping, timers, inhibitions, dedup.

Reads an ``alertmanager.yml`` document (the one the spec compiles to, or any other) and follows
Alertmanager 0.25:

- **routing** (``dispatch/route.go``): an alert goes down the tree; the first matching child takes it
  unless it has ``continue: true``; a route none of whose children match takes it itself. Children
  inherit ``group_by`` and the timers.
- **grouping** (``dispatch/dispatch.go``): one aggregation group per route and values of its
  ``group_by`` labels. A new group flushes after ``group_wait``, then every ``group_interval``; resolved
  alerts leave the group after the flush that carried them; an empty group is dropped (a later alert
  starts a new one, with ``group_wait`` again).
- **inhibition** (``inhibit/inhibit.go``): at a flush, an alert is muted while a firing alert matching
  the rule's source matchers (and not itself) has the same values for the ``equal`` labels.
- **dedup** (``notify.DedupStage.needsUpdate``): a flush notifies when it has a firing alert not in the
  last notification, when everything that was notified as firing resolved, when ``send_resolved`` and
  a new resolved alert appear, or when ``repeat_interval`` has passed since the last notification.

Not modelled: silences (they come and go by hand), mute/active time intervals, Alertmanager's 30 s
clean-up tick for empty groups, and network retries.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tocsin.durations import duration_seconds
from tocsin.history.backtest._engine import Episode

__all__ = ["Notification", "RouteNode", "simulate"]

_MATCHER_RE = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')
Labels = Mapping[str, str]
Fingerprint = tuple[tuple[str, str], ...]


def _matcher(text: str) -> tuple[str, str, str]:
    match = _MATCHER_RE.match(text)
    if match is None:
        raise ValueError(f"not an Alertmanager matcher: {text!r}")
    return match.group(1), match.group(2), match.group(3)


def _matches(matchers: Sequence[tuple[str, str, str]], labels: Labels) -> bool:
    for name, op, value in matchers:
        actual = labels.get(name, "")
        if op == "=" and actual != value:
            return False
        if op == "!=" and actual == value:
            return False
        if op == "=~" and not re.fullmatch(value, actual):
            return False
        if op == "!~" and re.fullmatch(value, actual):
            return False
    return True


def _legacy(route: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    out = [_matcher(m) for m in route.get("matchers") or []]
    out += [(k, "=", str(v)) for k, v in (route.get("match") or {}).items()]
    out += [(k, "=~", str(v)) for k, v in (route.get("match_re") or {}).items()]
    return out


@dataclass
class RouteNode:
    """One route of the tree with what it inherited."""

    id: str
    receiver: str
    matchers: list[tuple[str, str, str]]
    group_by: list[str] | None
    group_wait: float
    group_interval: float
    repeat_interval: float
    continue_: bool
    children: list[RouteNode] = field(default_factory=list)

    @classmethod
    def parse(cls, route: Mapping[str, Any], parent: RouteNode | None = None, index: str = "0") -> RouteNode:
        def timer(key: str, default: float) -> float:
            return duration_seconds(route[key]) if route.get(key) else default

        node = cls(
            id=index,
            receiver=str(route.get("receiver") or (parent.receiver if parent else "")),
            matchers=_legacy(route),
            group_by=list(route["group_by"])
            if "group_by" in route
            else (parent.group_by if parent else None),
            group_wait=timer("group_wait", parent.group_wait if parent else 30.0),
            group_interval=timer("group_interval", parent.group_interval if parent else 300.0),
            repeat_interval=timer("repeat_interval", parent.repeat_interval if parent else 4 * 3600.0),
            continue_=bool(route.get("continue", False)),
        )
        node.children = [cls.parse(r, node, f"{index}.{i}") for i, r in enumerate(route.get("routes") or [])]
        return node

    def match(self, labels: Labels) -> list[RouteNode]:
        if not _matches(self.matchers, labels):
            return []
        found: list[RouteNode] = []
        for child in self.children:
            matched = child.match(labels)
            found.extend(matched)
            if matched and not child.continue_:
                break
        return found or [self]

    def group_labels(self, labels: Labels) -> tuple[tuple[str, str], ...]:
        if self.group_by is None:
            return ()
        if "..." in self.group_by:
            return tuple(sorted(labels.items()))
        return tuple((name, labels[name]) for name in sorted(self.group_by) if name in labels)


@dataclass(frozen=True)
class Notification:
    """One message a receiver would have got."""

    at: float
    receiver: str
    group: Mapping[str, str]
    firing: tuple[Mapping[str, str], ...]
    resolved: tuple[Mapping[str, str], ...]
    kind: str  # "firing" (something new), "repeat", "resolved"


@dataclass
class _Group:
    route: RouteNode
    labels: tuple[tuple[str, str], ...]
    alerts: dict[Fingerprint, Episode] = field(default_factory=dict)


@dataclass
class _Inhibit:
    source: list[tuple[str, str, str]]
    target: list[tuple[str, str, str]]
    equal: list[str]

    @classmethod
    def parse(cls, rule: Mapping[str, Any]) -> _Inhibit:
        source = [_matcher(m) for m in rule.get("source_matchers") or []]
        source += [(k, "=", str(v)) for k, v in (rule.get("source_match") or {}).items()]
        target = [_matcher(m) for m in rule.get("target_matchers") or []]
        target += [(k, "=", str(v)) for k, v in (rule.get("target_match") or {}).items()]
        return cls(source, target, list(rule.get("equal") or []))


def _firing_at(episode: Episode, t: float) -> bool:
    return (
        episode.fired_at is not None
        and episode.fired_at <= t
        and (episode.resolved_at is None or episode.resolved_at > t)
    )


def _fp(labels: Labels) -> Fingerprint:
    return tuple(sorted(labels.items()))


def _send_resolved(config: Mapping[str, Any]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for receiver in config.get("receivers") or []:
        configs = [c for key, value in receiver.items() if key.endswith("_configs") for c in value]
        # webhook/email default to sending resolved notifications, Slack does not (Alertmanager defaults)
        out[receiver["name"]] = any(
            c.get("send_resolved", key != "slack_configs")
            for key, value in receiver.items()
            if key.endswith("_configs")
            for c in value
        )
        if not configs:
            out[receiver["name"]] = False
    return out


def _integrations(config: Mapping[str, Any]) -> set[str]:
    """Receivers that deliver somewhere (a receiver with no *_configs drops everything)."""
    return {
        r["name"]
        for r in config.get("receivers") or []
        if any(k.endswith("_configs") and v for k, v in r.items())
    }


def simulate(config: Mapping[str, Any], episodes: Iterable[Episode], end: float) -> list[Notification]:
    """Notifications Alertmanager (configured by ``config``) would have sent for ``episodes`` up to
    ``end``, in time order."""
    root = RouteNode.parse(config["route"])
    inhibits = [_Inhibit.parse(r) for r in config.get("inhibit_rules") or []]
    resolved_flag = _send_resolved(config)
    delivering = _integrations(config)
    fired = sorted((e for e in episodes if e.fired_at is not None), key=lambda e: e.fired_at or 0.0)
    sources = [[e for e in fired if _matches(rule.source, e.labels)] for rule in inhibits]

    def muted(episode: Episode, t: float) -> bool:
        for rule, candidates in zip(inhibits, sources, strict=True):
            if not _matches(rule.target, episode.labels):
                continue
            for other in candidates:
                if (other.fired_at or 0.0) > t:
                    break
                if other is episode or not _firing_at(other, t) or _fp(other.labels) == _fp(episode.labels):
                    continue
                if all(other.labels.get(n, "") == episode.labels.get(n, "") for n in rule.equal):
                    return True
        return False

    groups: dict[tuple[str, tuple[tuple[str, str], ...]], _Group] = {}
    log: dict[
        tuple[str, tuple[tuple[str, str], ...]], tuple[float, frozenset[Fingerprint], frozenset[Fingerprint]]
    ] = {}
    flushes: list[tuple[float, int, tuple[str, tuple[tuple[str, str], ...]]]] = []
    sent: list[Notification] = []
    counter = 0
    arrivals = [(e.fired_at or 0.0, i, e) for i, e in enumerate(fired)]
    position = 0

    def flush(t: float, key: tuple[str, tuple[tuple[str, str], ...]]) -> None:
        nonlocal counter
        group = groups[key]
        firing = {fp: e for fp, e in group.alerts.items() if _firing_at(e, t) and not muted(e, t)}
        resolved = {
            fp: e
            for fp, e in group.alerts.items()
            if e.resolved_at is not None and e.resolved_at <= t and not muted(e, t)
        }
        entry = log.get(key)
        repeat = group.route.repeat_interval
        firing_set, resolved_set = frozenset(firing), frozenset(resolved)
        send_resolved = resolved_flag.get(group.route.receiver, True)
        if entry is None:
            needed, kind = bool(firing), "firing"
        elif not firing_set <= entry[1]:
            needed, kind = True, "firing"
        elif not firing:
            needed, kind = bool(entry[1]), "resolved"
        elif send_resolved and not resolved_set <= entry[2]:
            needed, kind = True, "resolved"
        else:
            needed, kind = entry[0] < t - repeat, "repeat"
        if needed:
            log[key] = (t, firing_set, resolved_set)
            out_resolved = tuple(e.labels for e in resolved.values()) if send_resolved else ()
            if group.route.receiver in delivering and (firing or out_resolved):
                sent.append(
                    Notification(t, group.route.receiver, dict(group.labels),
                                 tuple(e.labels for e in firing.values()), out_resolved, kind)
                )  # fmt: skip
        for fp in [fp for fp, e in group.alerts.items() if e.resolved_at is not None and e.resolved_at <= t]:
            del group.alerts[fp]
        if group.alerts:
            counter += 1
            heapq.heappush(flushes, (t + group.route.group_interval, counter, key))
        else:
            del groups[key]

    while position < len(arrivals) or flushes:
        next_arrival = arrivals[position][0] if position < len(arrivals) else float("inf")
        next_flush = flushes[0][0] if flushes else float("inf")
        if min(next_arrival, next_flush) > end:
            break
        if next_arrival <= next_flush:
            t, _, episode = arrivals[position]
            position += 1
            for route in root.match(episode.labels):
                key = (route.id, route.group_labels(episode.labels))
                group = groups.get(key)
                if group is None:
                    group = groups[key] = _Group(route, key[1])
                    counter += 1
                    heapq.heappush(flushes, (t + route.group_wait, counter, key))
                group.alerts[_fp(episode.labels)] = episode
        else:
            t, _, key = heapq.heappop(flushes)
            if key in groups:
                flush(t, key)
    return sent
