"""The spec's ``checklist:`` section: the health checklist a person would otherwise tick by hand.

Each item is a PromQL expression and the condition its value must meet, with the sentence a person
reads (seed 003's daily list)::

    checklist:
      - name: watch-uptime
        description: Watch service running, uptime > 23 h
        expr: min(change_stream_uptime_seconds)
        condition: "> 82800"
        unit: s
      - name: no-error-logs
        description: No error in the logs of the last 24 h
        expr: sum(increase(log_lines_total{level=~"ERROR|CRITICAL"}[$__range])) or vector(0)
        condition: "== 0"
      - name: weekly-duplicates
        period: week
        description: Duplicates under 10 % this week
        expr: sum(increase(orders_duplicates_total[$__range])) / sum(increase(orders_found_total[$__range]))
        condition: "< 0.1"

``tocsin checklist --period day`` evaluates the ``day`` items now. ``$__range`` in an expression is
the item's period (``1d``, ``1w``, ``30d``), as in report panels. Without ``condition`` the expression
is itself the test (a PromQL filter such as ``up{job="archiver"} == 1``): the item passes when it
returns at least one series. An expression returning several series passes only when each one meets
the condition. No data fails, unless ``missing: pass``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, field_validator

from tocsin.spec._dashboards import UNITS
from tocsin.spec._promql import parse_promql
from tocsin.spec._types import Name, StrictModel, Threshold, parse_threshold

if TYPE_CHECKING:
    from tocsin.spec._model import Spec

__all__ = [
    "CHECKLIST_PERIODS",
    "ChecklistItem",
    "check_checklist",
    "checklist_query",
]

#: a period's name → the range ``$__range`` stands for
CHECKLIST_PERIODS: dict[str, str] = {"day": "1d", "week": "1w", "month": "30d"}
_RANGE_RE = re.compile(r"\$__range\b")


def checklist_query(expr: str, period: str) -> str:
    """``expr`` with ``$__range`` replaced by the period's range (``day`` → ``1d``)."""
    return _RANGE_RE.sub(CHECKLIST_PERIODS[period], expr)


def _checklist_expr(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError('a PromQL expression (a non-empty string) is required, e.g. min(up{job="app"})')
    text = " ".join(value.split())
    filled = checklist_query(text, "day")
    try:
        parse_promql(filled)
    except ValueError as exc:  # say it about what the user wrote, $__range included
        raise ValueError(str(exc).replace(filled, text)) from None
    return text


#: PromQL in which ``$__range`` stands for the item's period.
ChecklistExpr = Annotated[str, BeforeValidator(_checklist_expr)]


class ChecklistItem(StrictModel):
    """One line of the checklist: a sentence, an expression and the condition its value must meet."""

    name: Name
    description: str
    expr: ChecklistExpr
    #: e.g. ``"> 0.99"``; none: the expression is a filter and passes when it returns a series
    condition: Threshold | None = None
    period: Literal["day", "week", "month"] = "day"
    #: how the value is shown (``s``, ``bytes``, ``percentunit``, ``none``), as in dashboard panels
    unit: str | None = None
    #: what an expression that returns nothing means (a metric never exported is not a pass)
    missing: Literal["fail", "pass"] = "fail"
    service: Name | None = None
    runbook: str | None = None

    def query(self, period: str | None = None) -> str:
        """The expression to evaluate, ``$__range`` filled in with ``period`` (default: its own)."""
        return checklist_query(self.expr, period or self.period)

    def holds(self, value: str | float) -> bool:
        """Whether one sample value (as Prometheus writes it: ``"0.99"``, ``"NaN"``, ``"+Inf"``) meets the
        condition; NaN never does. Without a condition every returned sample counts as a pass."""
        if self.condition is None:
            return True
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return False
        return not number.is_nan() and parse_threshold(self.condition).holds(number)

    def passes(self, values: Sequence[str | float]) -> bool:
        """The item's verdict on every value its expression returned (none: ``missing`` decides)."""
        if not values:
            return self.missing == "pass"
        return all(self.holds(v) for v in values)

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str | None) -> str | None:
        if unit is not None and unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}: use one of {', '.join(UNITS)}")
        return unit

    @field_validator("description")
    @classmethod
    def _said(cls, description: str) -> str:
        if not description.strip():
            raise ValueError("an empty description: say what a person checks, e.g. 'lag under 10 s'")
        return description.strip()


def check_checklist(spec: Spec) -> Iterable[tuple[tuple[str | int, ...], str, str]]:
    """Item names are unique; ``service:`` names a declared service."""
    seen: dict[str, int] = {}
    for index, item in enumerate(spec.checklist):
        if item.name in seen:
            yield (
                ("checklist", index, "name"),
                f"checklist item {item.name!r} is declared twice (also item {seen[item.name] + 1})",
                "give each item its own name",
            )
        seen.setdefault(item.name, index)
        if item.service is not None and item.service not in spec.services:
            yield (
                ("checklist", index, "service"),
                f"no service {item.service!r}",
                f"use one of: {', '.join(spec.services) or 'no services declared'}",
            )
