"""PromQL checks done without a server: parse with promql-parser, walk the tree for lint.

promql-parser's errors carry no position; the loader points at the YAML node
that holds the expression, which is what a person needs to find it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import promql_parser
from pydantic import BeforeValidator

__all__ = ["PromQL", "SloQuery", "grouping_labels", "parse_promql", "range_selectors"]

WINDOW = "{{window}}"
_WINDOW_RE = re.compile(r"\{\{\s*window\s*\}\}")


def parse_promql(text: str) -> Any:
    """The parsed expression; raise ValueError('invalid PromQL: ...') if it does not parse."""
    try:
        return promql_parser.parse(text)
    except ValueError as err:
        detail = str(err).strip() or "syntax error"
        raise ValueError(f"invalid PromQL {text!r}: {detail}") from None


def _promql(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a PromQL expression (a non-empty string) is required")
    text = " ".join(value.split())
    parse_promql(text)
    return text


def _slo_query(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a PromQL expression with {{window}} is required")
    text = _WINDOW_RE.sub(WINDOW, " ".join(value.split()))
    if WINDOW not in text:
        raise ValueError(
            f"{text!r} has no {WINDOW}: write the range as [{WINDOW}] so each burn-rate window can fill it in"
        )
    parse_promql(text.replace(WINDOW, "5m"))
    return text


#: A PromQL expression, whitespace-normalised and checked to parse.
PromQL = Annotated[str, BeforeValidator(_promql)]
#: A PromQL template whose range selectors read ``[{{window}}]``.
SloQuery = Annotated[str, BeforeValidator(_slo_query)]


@dataclass(frozen=True)
class RangeUse:
    """A ``func(metric[range])`` call found in an expression."""

    function: str
    metric: str
    range_seconds: float


def _children(node: Any) -> Iterator[Any]:
    for attr in ("expr", "lhs", "rhs", "param"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            yield child
    yield from getattr(node, "args", None) or ()


def range_selectors(expr: str) -> list[RangeUse]:
    """Every ``rate/increase/...(metric[range])`` in ``expr`` (for lint rules)."""
    found: list[RangeUse] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.Call):
            for arg in node.args:
                if isinstance(arg, promql_parser.MatrixSelector):
                    name = arg.vector_selector.name or ""
                    found.append(RangeUse(node.func.name, name, arg.range.total_seconds()))
        for child in _children(node):
            if isinstance(child, promql_parser.Expr):
                visit(child)

    visit(parse_promql(expr))
    return found


def grouping_labels(expr: str) -> list[str]:
    """Labels the outermost ``by (...)`` aggregation keeps (``sum by (queue) (x) > 2`` → ``["queue"]``).

    Used to give generated test series the labels an alert's templates expect.
    """
    node = parse_promql(expr)
    while True:
        if isinstance(node, promql_parser.ParenExpr):
            node = node.expr
        elif isinstance(node, promql_parser.BinaryExpr):
            node = node.lhs
        elif isinstance(node, promql_parser.AggregateExpr):
            modifier = node.modifier
            if modifier is not None and modifier.type == promql_parser.AggModifierType.By:
                return [str(label) for label in modifier.labels]
            return []
        else:
            return []
