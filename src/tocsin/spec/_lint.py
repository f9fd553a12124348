"""pint-style lint without a server: findings are warnings, the spec still compiles.

- ``rate()``/``increase()`` over a range shorter than 2× the scrape interval
  (fewer than two samples in the window → empty results, alerts that never fire);
- ``rate()`` and friends on a gauge-named metric (no ``_total``/``_count``/``_sum``/``_bucket``);
- threshold alerts without ``for`` (one bad scrape pages someone);
- ``$value`` in alert labels (every new value is a new alert);
- ``histogram_quantile`` on raw cumulative buckets, without ``rate()`` (seed 002's mistake).
"""

from __future__ import annotations

from collections.abc import Iterator

from tocsin.spec._model import Spec
from tocsin.spec._promql import range_selectors
from tocsin.spec._types import duration_seconds, format_duration

__all__ = ["lint_spec"]

Loc = tuple[str | int, ...]
_COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_created")


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
