"""pint-style lint without a server: findings are warnings, the spec still compiles.

- ``rate()``/``increase()`` over a range shorter than 2× the scrape interval
  (fewer than two samples in the window → empty results, alerts that never fire);
- ``rate()`` and friends on a gauge-named metric (no ``_total``/``_count``/``_sum``/``_bucket``);
- threshold alerts without ``for`` (one bad scrape pages someone);
- ``$value`` in alert labels (every new value is a new alert);
- ``histogram_quantile`` on raw cumulative buckets, without ``rate()`` (seed 002's mistake);
- ``$labels.X`` in an alert, or a route grouping by ``X``, when the alert's expression cannot
  carry ``X`` (``sum(rate(x[5m]))`` drops ``instance``): the text is always empty, the group one;
- an alert given only a ``severity`` whose expression filters nothing (no comparison, ``and``,
  ``unless`` or ``absent()``): it fires whenever the series exists, at 0 too
  (``sum(increase(log_lines_total{level="ERROR"}[5m]))`` pages all day).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import promql_parser

from tocsin.spec._labels import output_labels
from tocsin.spec._model import Alert, Spec
from tocsin.spec._promql import parse_promql, range_selectors
from tocsin.spec._types import duration_seconds, format_duration

__all__ = ["lint_spec"]

Loc = tuple[str | int, ...]
_COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_created")
_LABEL_REF_RE = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)")
_COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
#: Functions that return nothing when their input exists: they are the condition.
_FILTERING_FUNCTIONS = frozenset({"absent", "absent_over_time"})
#: Labels tocsin puts on every alert itself, whatever its expression.
_MANAGED_LABELS = frozenset({"alertname", "severity", "priority", "service", "slo", "app", "replica"})


def _expressions(spec: Spec) -> Iterator[tuple[Loc, str]]:
    for i, alert in enumerate(spec.alerts):
        yield ("alerts", i, "expr"), alert.expr
    for d, dashboard in enumerate(spec.dashboards):
        for p, panel in enumerate(dashboard.panels):
            yield ("dashboards", d, "panels", p, "expr"), panel.expr


def _filters(node: Any) -> bool:
    """Whether ``node`` can return no series although its inputs exist: a comparison (not ``bool``),
    ``and``/``unless``, ``absent()``, or any of those inside (``sum(x > 5)`` is empty when none passes)."""
    if isinstance(node, promql_parser.BinaryExpr):
        op = str(node.op)
        if op in _COMPARISONS and not (node.modifier is not None and node.modifier.return_bool):
            return True
        if op in ("and", "unless"):
            return True
        if op == "or":  # empty only when both sides are
            return _filters(node.lhs) and _filters(node.rhs)
        return _filters(node.lhs) or _filters(node.rhs)
    if isinstance(node, promql_parser.Call):
        return node.func.name in _FILTERING_FUNCTIONS or any(_filters(arg) for arg in node.args)
    inner = getattr(node, "expr", None)  # parentheses, aggregations, subqueries, unary minus
    return inner is not None and not isinstance(inner, str) and _filters(inner)


def _reads_series(node: Any) -> bool:
    """Whether ``node`` reads any series (``vector(1)``, a heartbeat, reads none: it fires by design)."""
    if isinstance(node, promql_parser.VectorSelector | promql_parser.MatrixSelector):
        return True
    children = [getattr(node, attr, None) for attr in ("expr", "lhs", "rhs")]
    children += list(getattr(node, "args", None) or ())
    return any(_reads_series(c) for c in children if isinstance(c, promql_parser.Expr))


def _always_fires(alert: Alert) -> bool:
    if alert.levels():
        return False  # the thresholds are the comparison
    try:
        node = parse_promql(alert.expr)
    except ValueError:
        return False
    return _reads_series(node) and not _filters(node)


def lint_spec(spec: Spec) -> Iterator[tuple[Loc, str, str]]:
    """Warnings as ``(loc, message, hint)``."""
    interval = duration_seconds(spec.scrape.interval)
    for loc, expr in _expressions(spec):
        uses = range_selectors(expr)
        if "histogram_quantile" in expr and not any(u.metric.endswith("_bucket") for u in uses):
            yield (
                loc,
                "histogram_quantile() over buckets without rate()",
                "use histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))",
            )
        for use in uses:
            if use.range_seconds < 2 * interval:
                yield (
                    loc,
                    f"{use.function}({use.metric}[{format_duration(use.range_seconds)}]) spans less than"
                    f" 2 scrape intervals ({spec.scrape.interval})",
                    f"use at least [{format_duration(4 * interval)}]",
                )
            if (
                use.function in _COUNTER_FUNCTIONS
                and use.metric
                and not use.metric.endswith(_COUNTER_SUFFIXES)
            ):
                yield (
                    loc,
                    f"{use.function}() on {use.metric!r}, which is not named like a counter",
                    "rate/increase need a counter (_total); for a gauge use deriv() or delta()",
                )
    for i, alert in enumerate(spec.alerts):
        if alert.levels() and not alert.waits():
            yield (
                ("alerts", i, "name"),
                f"alert {alert.name!r} has no 'for'" + ("" if not alert.for_ else " on every level"),
                "a single bad sample will fire it",
            )
        if _always_fires(alert):
            yield (
                ("alerts", i, "expr"),
                f"alert {alert.name!r} fires whenever {alert.expr!r} has a series, even at 0: it compares"
                " nothing",
                "add a condition (e.g. '> 0'), or give warning/critical thresholds instead of severity",
            )
        for label, value in alert.labels.items():
            if "$value" in value:
                yield (
                    ("alerts", i, "labels", label),
                    "$value in a label makes every new value a new alert",
                    "put it in summary/description",
                )
    yield from label_warnings(spec)


def _given(spec: Spec, alert: Alert) -> frozenset[str]:
    """Labels an alert has without its expression: tocsin's own, its ``labels:``, the external labels."""
    return _MANAGED_LABELS | set(alert.labels) | set(spec.labels)


def _routes_of(spec: Spec, alert: Alert) -> Iterator[tuple[Loc, str, list[str]]]:
    """``(loc, route name, group_by)`` of each route the alert's levels reach first (Alertmanager's order)."""
    routes = spec.routes
    for severity in alert.levels() or [alert.severity]:
        for label, key, route in routes.selectors():
            if not label or (alert.priority if label == "priority" else severity) == key:
                if route.group_by is not None:
                    yield ("routes", key, "group_by"), f"routes.{key}", route.group_by
                else:
                    yield ("routes", "group_by"), "routes", routes.group_by
                break
        else:
            yield ("routes", "group_by"), "routes", routes.group_by


def label_warnings(spec: Spec) -> Iterator[tuple[Loc, str, str]]:
    """``$labels.X`` and ``group_by: [X]`` where the alert's expression provably cannot carry ``X``."""
    reported: set[tuple[Loc, str, str]] = set()
    for i, alert in enumerate(spec.alerts):
        bound, given = output_labels(alert.expr), _given(spec, alert)
        fields: list[tuple[Loc, str]] = [
            (("alerts", i, field), getattr(alert, field) or "") for field in ("summary", "description")
        ]
        fields += [(("alerts", i, "labels", name), value) for name, value in alert.labels.items()]
        for loc, text in fields:
            for label in dict.fromkeys(_LABEL_REF_RE.findall(text)):
                if label not in given and not bound.can_have(label):
                    yield (
                        loc,
                        f"$labels.{label} is always empty: {alert.expr!r} cannot carry label {label!r}",
                        f"keep it in the aggregation (by ({label}, ...)) or drop the reference",
                    )
        for loc, where, group_by in _routes_of(spec, alert):
            for label in group_by:
                key = (loc, alert.name, label)
                if (
                    label != "..."
                    and label not in given
                    and not bound.can_have(label)
                    and key not in reported
                ):
                    reported.add(key)
                    yield (
                        loc,
                        f"{where} groups by {label!r}, which alert {alert.name!r} cannot carry"
                        f" ({alert.expr!r})",
                        f"all its alerts share one group: add {label} to the expression's by (...)"
                        " or drop it from group_by",
                    )
