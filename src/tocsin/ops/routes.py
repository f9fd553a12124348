"""``tocsin routes``: the route tree as Alertmanager walks it, and where a given label set goes.

Read from the compiled ``alertmanager.yml`` (the document ``tocsin up`` runs), walked with
Alertmanager's own rules: a route matches when all its matchers do; its children are tried in order,
the first that matches takes the alert unless it has ``continue: true``; a route no child takes keeps
it. ``group_by``/``group_wait``/``group_interval``/``repeat_interval`` are inherited from the parent;
time intervals are not (Alertmanager 0.25). The answers are checked against ``amtool config routes
test`` in the tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.ops._timeintervals import TimeIntervals

__all__ = [
    "Delivery",
    "RouteNode",
    "RouteTree",
    "parse_labels",
    "parse_matcher",
    "receiver_kinds",
    "route_tree",
    "spec_alertmanager_config",
    "spec_route_tree",
]

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_INHERITED = ("group_by", "group_wait", "group_interval", "repeat_interval")
_DEFAULTS = {"group_by": [], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def parse_matcher(text: str) -> tuple[str, str, str]:
    """``priority="P1"`` → ("priority", "=", "P1"); ValueError otherwise."""
    match = _MATCHER.match(text)
    if match is None:
        raise ValueError(f'matcher {text!r} is not name<op>"value" (op one of = != =~ !~)')
    value = match[3].encode().decode("unicode_escape") if "\\" in match[3] else match[3]
    return match[1], match[2], value


def _holds(matcher: tuple[str, str, str], labels: Mapping[str, str]) -> bool:
    name, op, value = matcher
    actual = labels.get(name, "")
    if op in ("=", "!="):
        return (actual == value) == (op == "=")
    return (re.fullmatch(value, actual) is not None) == (op == "=~")


@dataclass(frozen=True)
class RouteNode:
    """One route with its effective (inherited) timings."""

    path: str
    receiver: str
    matchers: tuple[tuple[str, str, str], ...]
    continue_: bool
    timings: Mapping[str, Any]
    active: tuple[str, ...] = ()
    mute: tuple[str, ...] = ()
    children: tuple[RouteNode, ...] = ()
    #: the nearest route with matchers, for a fan-out child that has none
    inherited_label: str = "(any alert)"

    @property
    def label(self) -> str:
        return ", ".join(f'{n}{op}"{v}"' for n, op, v in self.matchers) or self.inherited_label

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(_holds(m, labels) for m in self.matchers)

    def fan_out(self) -> list[RouteNode]:
        """The routes that notify for an alert this route takes: itself, or its matcher-less children
        (tocsin's fan-out of one route to several receivers)."""
        if self.children and all(not c.matchers for c in self.children):
            return list(self.children)
        return [self]


@dataclass(frozen=True)
class Delivery:
    """Where an alert goes: the route that took it and whether it notifies now."""

    route: RouteNode
    #: "" when it notifies now, else why not: "muted by christmas", "outside business-hours"
    held: str = ""
    #: when that changes (None: not within a month, or it notifies now and nothing mutes it soon)
    until: datetime | None = None

    @property
    def receiver(self) -> str:
        return self.route.receiver


@dataclass(frozen=True)
class RouteTree:
    root: RouteNode
    intervals: TimeIntervals
    receivers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def routes_for(self, labels: Mapping[str, str]) -> list[RouteNode]:
        """The routes an alert with ``labels`` ends in, in order (what amtool prints, as routes)."""
        return _walk(self.root, labels) or [self.root]

    def held(self, route: RouteNode, instant: datetime) -> str:
        muted = self.intervals.any_matches(route.mute, instant)
        if muted:
            return f"muted by {muted}"
        if route.active and self.intervals.any_matches(route.active, instant) is None:
            return f"outside {', '.join(route.active)}"
        return ""

    def deliveries(self, labels: Mapping[str, str], instant: datetime) -> list[Delivery]:
        out = []
        for route in self.routes_for(labels):
            reason = self.held(route, instant)
            until = (
                self.intervals.next_change(lambda t, r=route: self.held(r, t), instant)
                if route.active or route.mute
                else None
            )
            out.append(Delivery(route, reason, until))
        return out


def _walk(node: RouteNode, labels: Mapping[str, str]) -> list[RouteNode]:
    found: list[RouteNode] = []
    for child in node.children:
        if not child.matches(labels):
            continue
        found.extend(_walk(child, labels) or [child])
        if not child.continue_:
            break
    return found


def _node(route: Mapping[str, Any], parent: Mapping[str, Any], path: str, label: str) -> RouteNode:
    timings = {key: route.get(key, parent.get(key)) for key in _INHERITED}
    matchers = tuple(parse_matcher(m) for m in route.get("matchers") or [])
    for legacy, op in (("match", "="), ("match_re", "=~")):
        matchers += tuple((k, op, str(v)) for k, v in (route.get(legacy) or {}).items())
    own = ", ".join(f'{n}{op}"{v}"' for n, op, v in matchers) or label
    children = tuple(
        _node(
            child, {**timings, "receiver": route.get("receiver", parent.get("receiver"))}, f"{path}.{i}", own
        )
        for i, child in enumerate(route.get("routes") or [])
    )
    return RouteNode(
        path,
        str(route.get("receiver") or parent.get("receiver", "")),
        matchers,
        bool(route.get("continue", False)),
        timings,
        tuple(route.get("active_time_intervals") or ()),
        tuple(route.get("mute_time_intervals") or ()),
        children,
        label,
    )


def route_tree(config: Mapping[str, Any]) -> RouteTree:
    """The tree of an ``alertmanager.yml`` document (a plain dict)."""
    root = config["route"]
    node = _node(root, {**_DEFAULTS, "receiver": root.get("receiver", "")}, "root", "(any alert)")
    receivers = {r["name"]: r for r in config.get("receivers") or []}
    return RouteTree(node, TimeIntervals(config), receivers)


def receiver_kinds(tree: RouteTree, name: str) -> list[str]:
    """``email``, ``slack``, ``webhook``... configured on a receiver (none: it drops everything)."""
    config = tree.receivers.get(name, {})
    return [key.removesuffix("_configs") for key in config if key.endswith("_configs") and config[key]]


def parse_labels(items: Sequence[str]) -> dict[str, str]:
    """``["priority=P1", "severity=critical"]`` → a label set; ValueError naming a bad item."""
    labels = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name.strip()):
            raise ValueError(f"{item!r} is not a label: write name=value, e.g. priority=P1")
        labels[name.strip()] = value.strip().strip('"')
    return labels


class _Unset(dict[str, str]):
    """Environment stand-in: a ``url_env`` variable that is unset shows as ``$NAME`` instead of failing."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        import os

        return os.environ.get(key) or f"${key}"


def spec_alertmanager_config(spec: Any) -> dict[str, Any]:
    """The ``alertmanager.yml`` document the spec compiles to (an unset ``url_env`` shows as ``$NAME``)."""
    from tocsin.compile.alertmanager import alertmanager_config

    return alertmanager_config(spec, _Unset())


def spec_route_tree(spec: Any) -> RouteTree:
    """The tree the spec compiles to (``url_env`` webhooks need not be set to look at it)."""
    return route_tree(spec_alertmanager_config(spec))
