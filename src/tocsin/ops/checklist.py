"""``tocsin checklist``: the spec's ``checklist:`` items evaluated against Prometheus, pass or fail.

Each item is one instant query at ``at`` (default now) with ``$__range`` set to the period; every
series it returns must meet the item's condition. An item whose query fails (Prometheus down, a query
error) is an ``error``, which is not a pass: a checklist run by cron must not go green because nothing
could be checked. The verdicts come from :mod:`tocsin.history.checklist`, which the console's checklist
page and the report's ``checklist`` section share.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from tocsin.history.checklist import (
    CheckItem,
    ChecklistResult,
    ItemResult,
    Sample,
    check_items,
    error_result,
    judge,
)
from tocsin.promapi import PrometheusAPI, PrometheusAPIError
from tocsin.spec import Spec

__all__ = ["ChecklistResult", "ItemResult", "Sample", "items_for", "run_checklist"]


def items_for(spec: Spec, period: str | None, names: Sequence[str] = ()) -> list[CheckItem]:
    """The items of ``period`` (all periods when None), or only those named."""
    if names:
        known = {i.name for i in spec.checklist}
        unknown = [n for n in names if n not in known]
        if unknown:
            from tocsin.errors import UsageError

            raise UsageError(
                f"no checklist item {', '.join(map(repr, unknown))} (items: {', '.join(sorted(known))})"
            )
    return check_items(spec, period, names)


def _evaluate(prom: PrometheusAPI, item: CheckItem, at: float) -> ItemResult:
    try:
        answer = prom.query(item.query, at)
    except PrometheusAPIError as exc:
        return error_result(item, exc)
    return judge(item, answer)


def run_checklist(
    spec: Spec,
    prometheus_url: str,
    *,
    period: str | None = "day",
    names: Sequence[str] = (),
    at: float | None = None,
    timeout: float = 30.0,
) -> ChecklistResult:
    """Evaluate the checklist; ``period`` None evaluates every item over its own period."""
    when = time.time() if at is None else at
    items = items_for(spec, period, names)
    with PrometheusAPI(prometheus_url, timeout=timeout) as prom:
        results = [_evaluate(prom, item, when) for item in items]
    return ChecklistResult(period or "all", when, prometheus_url, results)
