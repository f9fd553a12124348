"""The pack definitions (spec layer, data) and the SDK packs agree: every metric and label an alert,
panel or recording rule names is one the SDK pack exposes under the same parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import promql_parser
import pytest
from prometheus_client import CollectorRegistry
from tests.packs.sdk_for_spec import build, exposed

from tocsin.spec import PACKS, PackUse
from tocsin.spec._packs import expand

#: Metrics of the optional exporter components, not of the SDK.
EXPORTER_METRICS = {"redis_memory_used_bytes", "pg_stat_database_numbackends"}
#: Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"job", "instance", "service"}

USES = [
    {"use": "jobs", "job": "archiver", "items": "orders", "done": "archived"},
    {"use": "jobs", "job": "nightly", "prefix": "shop"},
    {"use": "stream", "namespace": "change_stream"},
    {"use": "stream"},
    {"use": "queue", "prefix": "ocr", "items": "documents", "type_label": "document_type"},
    {"use": "queue"},
    {"use": "cache", "prefix": "ocr", "cache": "ocr", "redis_exporter": True},
    {"use": "etl", "prefix": "kpi"},
    {"use": "anomaly", "prefix": "kpi"},
    {"use": "llm", "namespace": "openai", "provider": "openai"},
    {"use": "llm", "prefix": "kpi"},
    {"use": "websocket", "prefix": "kpi"},
    {"use": "security", "prefix": "kpi"},
    {"use": "security", "prefix": "django", "namespace": ""},
    {"use": "db", "prefix": "django", "postgres_exporter": True},
    {"use": "client", "target": "auth"},
    {"use": "sessions", "namespace": "coaching"},
    {"use": "frontend"},
]


def _selectors(node: Any) -> Iterator[Any]:
    if isinstance(node, promql_parser.VectorSelector):
        yield node
    if isinstance(node, promql_parser.MatrixSelector):
        yield node.vector_selector
    for attr in ("expr", "lhs", "rhs", "param", "vector_selector"):
        child = getattr(node, attr, None)
        if isinstance(child, promql_parser.Expr):
            yield from _selectors(child)
    for arg in getattr(node, "args", None) or ():
        yield from _selectors(arg)


def _grouping(node: Any) -> Iterator[str]:
    if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
        yield from node.modifier.labels
    for attr in ("expr", "lhs", "rhs"):
        child = getattr(node, attr, None)
        if isinstance(child, promql_parser.Expr):
            yield from _grouping(child)
    for arg in getattr(node, "args", None) or ():
        yield from _grouping(arg)


def test_every_pack_is_exercised() -> None:
    assert {u["use"] for u in USES} == set(PACKS)


@pytest.mark.parametrize("raw", USES, ids=lambda u: "-".join(str(v) for v in u.values()))
def test_every_name_in_the_definitions_is_exposed_by_the_sdk(raw: dict[str, Any]) -> None:
    use = PackUse.model_validate(raw)
    registry = CollectorRegistry()
    build(use, registry)
    names = exposed(registry)
    expansion = expand(use)
    records = {r["record"]: set(r["test"]["exp_labels"]) for r in expansion.records}
    exprs = [a.expr for a in expansion.alerts] + [p.expr for p in expansion.panels]
    exprs += [r["expr"] for r in expansion.records]
    assert exprs
    for expr in exprs:
        tree = promql_parser.parse(expr)
        used_labels: set[str] = set()
        for selector in _selectors(tree):
            name = selector.name or next(
                (m.value for m in selector.matchers.matchers if m.name == "__name__" and m.op == "="), None
            )
            if name is None:  # {__name__=~"..."}: every metric it matches must be the pack's
                pattern = next(m.value for m in selector.matchers.matchers if m.name == "__name__")
                assert any(re.fullmatch(pattern, n) for n in names), f"{pattern!r} matches nothing: {expr}"
                continue
            if name in EXPORTER_METRICS:
                used_labels |= {"datname"}  # the exporters' own labels
                continue
            labels = names.get(name, records.get(name))
            assert labels is not None, f"{use.use}: {name!r} is not exposed by the SDK pack ({expr})"
            for matcher in selector.matchers.matchers:
                if matcher.name != "__name__":
                    assert matcher.name in labels | TARGET_LABELS, (
                        f"{name} has no label {matcher.name!r}: {expr}"
                    )
            used_labels |= labels
        for label in _grouping(tree):
            assert label in used_labels | TARGET_LABELS | {"le", "outcome"}, f"by ({label}) in {expr}"
