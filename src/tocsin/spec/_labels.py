"""Which labels a PromQL expression can output, read from promql-parser's tree (for lint).

The answer is an upper bound, kept conservative: a plain selector can carry any label, so only
what the expression provably removes (aggregation, ``on``, ``scalar``...) counts as absent.
Anything not understood counts as "any label", so the lint never warns on a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import promql_parser

from tocsin.spec._promql import parse_promql

__all__ = ["LabelBound", "output_labels"]

#: Aggregations that select series instead of merging them: ``topk by (x)`` keeps every label.
_SELECTING = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
#: Functions whose result is a scalar or a label-less vector whatever their arguments.
_LABELLESS = frozenset({"scalar", "vector", "time", "pi"})
#: Date functions read ``vector(time())`` when given no argument; with one they keep its labels.
_LABELLESS_NOARGS = frozenset(
    {"minute", "hour", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "month", "year"}
)


@dataclass(frozen=True)
class LabelBound:
    """Labels an expression can output: exactly ``names`` if ``closed``, else any label but ``names``."""

    closed: bool
    names: frozenset[str] = frozenset()

    def can_have(self, label: str) -> bool:
        return (label in self.names) if self.closed else (label not in self.names)

    def keep(self, labels: frozenset[str]) -> LabelBound:
        return LabelBound(True, self.names & labels if self.closed else labels - self.names)

    def drop(self, labels: frozenset[str]) -> LabelBound:
        return (
            LabelBound(True, self.names - labels) if self.closed else LabelBound(False, self.names | labels)
        )

    def add(self, labels: frozenset[str]) -> LabelBound:
        return (
            LabelBound(True, self.names | labels) if self.closed else LabelBound(False, self.names - labels)
        )

    def union(self, other: LabelBound) -> LabelBound:
        if not other.closed:
            return other.union(self) if self.closed else LabelBound(False, self.names & other.names)
        return self.add(other.names)


ANY = LabelBound(False)
NONE = LabelBound(True)


def _is_scalar(node: Any) -> bool:
    if isinstance(node, promql_parser.NumberLiteral):
        return True
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        return _is_scalar(node.expr)
    if isinstance(node, promql_parser.Call):
        return node.func.name in ("scalar", "time", "pi")
    if isinstance(node, promql_parser.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


def _aggregate(node: Any) -> LabelBound:
    inner = _bound(node.expr)
    op = str(node.op)
    modifier = node.modifier
    if op in _SELECTING:
        return inner
    if modifier is None:
        result = NONE
    else:
        labels = frozenset(str(label) for label in modifier.labels)
        by = modifier.type == promql_parser.AggModifierType.By
        result = inner.keep(labels) if by else inner.drop(labels)
    if op == "count_values" and isinstance(node.param, promql_parser.StringLiteral):
        result = result.add(frozenset({node.param.val}))
    return result


def _call(node: Any) -> LabelBound:
    name = node.func.name
    args = list(node.args)
    if name in _LABELLESS or (name in _LABELLESS_NOARGS and not args):
        return NONE
    if name in ("label_replace", "label_join") and len(args) >= 2:
        target = args[1]
        if isinstance(target, promql_parser.StringLiteral):
            return _bound(args[0]).add(frozenset({target.val}))
        return ANY
    if name.startswith("absent"):
        return ANY  # labels come from the selector's equality matchers: not worth modelling
    vectors = [arg for arg in args if isinstance(arg, promql_parser.Expr) and not _is_scalar(arg)]
    vectors = [arg for arg in vectors if not isinstance(arg, promql_parser.StringLiteral)]
    if not vectors:
        return NONE
    result = _bound(vectors[0])
    if name == "histogram_quantile" or name == "histogram_fraction":
        result = result.drop(frozenset({"le"}))
    return result


def _binary(node: Any) -> LabelBound:
    lhs_scalar, rhs_scalar = _is_scalar(node.lhs), _is_scalar(node.rhs)
    if lhs_scalar or rhs_scalar:
        return NONE if lhs_scalar and rhs_scalar else _bound(node.rhs if lhs_scalar else node.lhs)
    lhs, rhs = _bound(node.lhs), _bound(node.rhs)
    op = str(node.op)
    if op == "or":
        return lhs.union(rhs)
    if op in ("and", "unless"):
        return lhs
    modifier = node.modifier
    matching = modifier.matching if modifier is not None else None
    card = modifier.card if modifier is not None else promql_parser.VectorMatchCardinality.OneToOne
    if card == promql_parser.VectorMatchCardinality.ManyToOne:
        return lhs.add(frozenset(modifier.group_labels or ()))
    if card == promql_parser.VectorMatchCardinality.OneToMany:
        return rhs.add(frozenset(modifier.group_labels or ()))
    if matching is None:
        return lhs
    labels = frozenset(str(label) for label in matching.labels)
    on = matching.type == promql_parser.LabelModifierType.Include
    return lhs.keep(labels) if on else lhs.drop(labels)


def _bound(node: Any) -> LabelBound:
    if isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return NONE
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        return _bound(node.expr)
    if isinstance(node, promql_parser.AggregateExpr):
        return _aggregate(node)
    if isinstance(node, promql_parser.Call):
        return _call(node)
    if isinstance(node, promql_parser.BinaryExpr):
        return _binary(node)
    return ANY  # selectors, and anything this module does not know


def output_labels(expr: str) -> LabelBound:
    """The labels ``expr``'s result series can carry (an upper bound; ``ANY`` if unsure)."""
    try:
        return _bound(parse_promql(expr))
    except (ValueError, AttributeError, TypeError):
        return ANY
