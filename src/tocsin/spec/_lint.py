"""pint-style lint without a server: findings are warnings, the spec still compiles.

- ``rate()``/``increase()`` over a range shorter than 2× the scrape interval
  (fewer than two samples in the window → empty results, alerts that never fire);
- ``rate()`` and friends on a gauge-named metric (no ``_total``/``_count``/``_sum``/``_bucket``);
- threshold alerts without ``for`` (one bad scrape pages someone);
- ``$value`` in alert labels (every new value is a new alert);
- ``histogram_quantile`` on raw cumulative buckets, without ``rate()`` (seed 002's mistake);
- ``$labels.X`` in an alert, or a route grouping by ``X``, when the alert's expression cannot
  carry ``X`` (``sum(rate(x[5m]))`` drops ``instance``): the text is always empty, the group one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tocsin.spec._labels import output_labels
from tocsin.spec._model import Alert, Spec
from tocsin.spec._promql import range_selectors
from tocsin.spec._types import duration_seconds, format_duration

__all__ = ["lint_spec"]

Loc = tuple[str | int, ...]
_COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_created")
_LABEL_REF_RE = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)")
#: Labels tocsin puts on every alert itself, whatever its expression.
_MANAGED_LABELS = frozenset({"alertname", "severity", "priority", "service", "slo", "app", "replica"})


def _expressions(spec: Spec) -> Iterator[tuple[Loc, str]]:
    for i, alert in enumerate(spec.alerts):
        yield ("alerts", i, "expr"), alert.expr
    for d, dashboard in enumerate(spec.dashboards):
        for p, panel in enumerate(dashboard.panels):
            yield ("dashboards", d, "panels", p, "expr"), panel.expr


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
        if alert.levels() and not alert.for_:
            yield (
                ("alerts", i, "name"),
                f"alert {alert.name!r} has no 'for'",
                "a single bad sample will fire it",
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
