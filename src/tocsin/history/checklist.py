"""The checklist's verdicts from Prometheus' answers, in plain data: one core for ``tocsin checklist``,
the console's checklist page and the report's ``checklist`` section.

A spec's ``checklist:`` item becomes a :class:`CheckItem` (:func:`check_items`, where the spec is loaded);
the console gets the same as JSON in its view model, so it judges without importing pydantic. Each item
is one instant query; :func:`judge` turns its answer into an :class:`ItemResult`: every series must meet
the condition, no data fails unless ``missing: pass``, a query that could not run is an ``error``, which
is not a pass (a checklist run by cron must not go green because nothing could be checked).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tocsin.history.numbers import format_value

if TYPE_CHECKING:
    from tocsin.spec import Spec

__all__ = [
    "CheckItem",
    "ChecklistResult",
    "ItemResult",
    "Sample",
    "check_items",
    "error_result",
    "judge",
]

_OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class CheckItem:
    """One checklist item ready to evaluate: its query (``$__range`` filled in) and parsed condition."""

    name: str
    description: str
    period: str
    query: str
    #: as written (``"> 0.99"``); None: the expression is a filter that passes when it returns a series
    condition: str | None = None
    op: str | None = None
    threshold: str | None = None
    unit: str | None = None
    missing: str = "fail"
    runbook: str | None = None

    def holds(self, value: str) -> bool:
        """One sample value (``"0.99"``, ``"NaN"``, ``"+Inf"``) meets the condition; NaN never does."""
        if self.op is None or self.threshold is None:
            return True
        try:
            number = Decimal(value)
        except InvalidOperation:
            return False
        return not number.is_nan() and _OPS[self.op](number, Decimal(self.threshold))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckItem:
        return cls(**data)


def check_items(spec: Spec, period: str | None = None, names: Sequence[str] = ()) -> list[CheckItem]:
    """The spec's items of ``period`` (None: all, each over its own period), or those ``names``."""
    from tocsin.spec import parse_threshold

    chosen = [i for i in spec.checklist if (i.name in names if names else period in (None, i.period))]
    out = []
    for item in chosen:
        parsed = parse_threshold(item.condition) if item.condition else None
        out.append(
            CheckItem(
                item.name,
                item.description,
                period or item.period,
                item.query(period),
                item.condition,
                parsed.op if parsed else None,
                str(parsed.value) if parsed else None,
                item.unit,
                item.missing,
                item.runbook,
            )
        )
    return out


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: str
    shown: str
    ok: bool


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: ``pass``, ``fail`` or ``error`` (the query could not be evaluated)."""

    name: str
    description: str
    period: str
    query: str
    condition: str | None
    status: str
    #: in plain words: the value(s) and, for a failure, what did not meet the condition
    detail: str
    samples: list[Sample] = field(default_factory=list)
    runbook: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass(frozen=True)
class ChecklistResult:
    period: str
    at: float
    source: str
    items: list[ItemResult]

    @property
    def passed(self) -> bool:
        return all(i.passed for i in self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "at": self.at,
            "source": self.source,
            "passed": self.passed,
            "failed": [i.name for i in self.items if not i.passed],
            "items": [{**asdict(i), "passed": i.passed} for i in self.items],
        }


def _series_name(labels: dict[str, str]) -> str:
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}" if shown else ""


def _detail(item: CheckItem, samples: Sequence[Sample]) -> str:
    if not samples:
        if item.missing == "pass":
            return "no data (counted as a pass: missing: pass)"
        return "no data: the query returned nothing (is the metric exported and scraped?)"
    if item.condition is None:
        return f"{len(samples)} series match" if len(samples) != 1 else "matches"
    bad = [s for s in samples if not s.ok]
    if len(samples) == 1:
        verdict = "meets" if not bad else "does not meet"
        return f"{samples[0].shown} ({verdict} {item.condition})"
    if not bad:
        return f"all {len(samples)} series meet {item.condition}"
    listed = "; ".join(f"{_series_name(s.labels) or 'value'} = {s.shown}" for s in bad[:3])
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    return f"{len(bad)} of {len(samples)} series do not meet {item.condition}: {listed}{more}"


def _result(item: CheckItem, status: str, detail: str, samples: list[Sample] | None = None) -> ItemResult:
    return ItemResult(
        item.name,
        item.description,
        item.period,
        item.query,
        item.condition,
        status,
        detail,
        samples or [],
        item.runbook,
    )


def error_result(item: CheckItem, error: object) -> ItemResult:
    """The item could not be evaluated (Prometheus down, a query error): an ``error``, never a pass."""
    return _result(item, "error", f"could not evaluate: {error}")


def judge(item: CheckItem, answer: list[Any]) -> ItemResult:
    """The verdict on one instant query's ``result`` (a vector, or a scalar's ``[time, "value"]``)."""
    if answer and not isinstance(answer[0], dict):  # a scalar
        answer = [{"metric": {}, "value": answer}]
    samples = []
    for series in answer:
        value = str(series["value"][1])
        labels = dict(series.get("metric") or {})
        samples.append(Sample(labels, value, format_value(value, item.unit), item.holds(value)))
    if samples:
        status = "pass" if all(s.ok for s in samples) else "fail"
    else:
        status = "pass" if item.missing == "pass" else "fail"
    return _result(item, status, _detail(item, samples), samples)
