"""PromQL checks done without a server: parse with promql-parser, walk the tree for lint.

promql-parser's errors carry no position; the loader points at the YAML node
that holds the expression, which is what a person needs to find it.

An expression is bounded before promql-parser sees it: its parser is superlinear in
binary operators (a flat 3,000-term sum took 9.5 s and 2.9 GB, 6,000 terms crashed the
interpreter) and its tree, like this module's walks over it, is recursive (5,000 nested
parentheses: RecursionError). No real alert comes near :data:`MAX_OPERATORS` or
:data:`MAX_NESTING`; one that does is better written as recording rules.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import promql_parser
from pydantic import BeforeValidator

from tocsin.errors import brief

__all__ = [
    "MAX_NESTING",
    "MAX_OPERATORS",
    "MAX_PROMQL_CHARS",
    "PromQL",
    "SloQuery",
    "grouping_labels",
    "parse_promql",
    "range_selectors",
]

#: Longest expression parsed (a 10,000-value regex matcher is ~60 KB and parses in 25 ms).
MAX_PROMQL_CHARS = 65_536
#: Most binary operators in one expression (200 parse in ~20 ms; the cost grows faster than linearly).
MAX_OPERATORS = 200
#: Deepest nesting of (), [] and {}.
MAX_NESTING = 32
_STRINGS_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|#[^\n]*')
_OPERATORS_RE = re.compile(r"==|!=|>=|<=|[-+*/%^<>]|\b(?:and|or|unless|atan2)\b")
_OPENERS = "([{"
_CLOSERS = ")]}"

WINDOW = "{{window}}"
_WINDOW_RE = re.compile(r"\{\{\s*window\s*\}\}")


def _bounded(text: str) -> None:
    """Refuse, before parsing, an expression too long, with too many operators or nested too deep."""
    if len(text) > MAX_PROMQL_CHARS:
        raise ValueError(
            f"the expression is {len(text):,} characters long: the limit is {MAX_PROMQL_CHARS:,},"
            " split it into recording rules"
        )
    code = _STRINGS_RE.sub('""', text) if any(q in text for q in "\"'`#") else text
    if len(code) > MAX_OPERATORS:  # shorter ones cannot hold that many operators
        operators = len(_OPERATORS_RE.findall(code))
        if operators > MAX_OPERATORS:
            raise ValueError(
                f"the expression has {operators:,} operators: the limit is {MAX_OPERATORS},"
                " split it into recording rules, or aggregate with sum by (...)"
            )
    if sum(code.count(c) for c in _OPENERS) > MAX_NESTING:  # otherwise it cannot be nested that deep
        depth = deepest = 0
        for char in code:
            if char in _OPENERS:
                depth += 1
                deepest = max(deepest, depth)
            elif char in _CLOSERS:
                depth -= 1
        if deepest > MAX_NESTING:
            raise ValueError(
                f"the expression nests {deepest} levels deep: the limit is {MAX_NESTING},"
                " split it into recording rules"
            )


@functools.lru_cache(maxsize=16_384)
def parse_promql(text: str) -> Any:
    """The parsed expression (cached: the tree is only read); raise ValueError('invalid PromQL: ...')."""
    _bounded(text)
    try:
        return promql_parser.parse(text)
    except ValueError as err:
        detail = str(err).strip() or "syntax error"
        raise ValueError(f"invalid PromQL {brief(text)}: {detail}") from None


def _promql(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a PromQL expression is required: write one, e.g. up == 0")
    text = " ".join(value.split())
    parse_promql(text)
    return text


def _slo_query(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a PromQL expression is required: e.g. sum(rate(errors_total[{{window}}]))")
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
