"""The spec's packs: section: every pack's alerts compile with promtool unit tests, its panels reach the
dashboards, and every mistake is reported at its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tocsin.compile import check_bundle, compile_spec
from tocsin.errors import SpecError
from tocsin.spec import PACKS, load_spec

ALL_PACKS = """\
version: tocsin/v1
app: packs-demo
services:
  ocr: {targets: ["127.0.0.1:3001"]}
packs:
  - {use: jobs, job: archiver, items: orders, done: archived, priority: {errors: P1, duration: P3}}
  - {use: stream, namespace: change_stream}
  - {use: queue, prefix: ocr, items: documents, type_label: document_type, service: ocr}
  - {use: cache, prefix: ocr, cache: ocr, redis_exporter: true}
  - {use: etl, prefix: kpi}
  - {use: anomaly, prefix: kpi}
  - use: llm
    namespace: openai
    currency: EUR
    thresholds: {daily_cost: {warning: "> 20", critical: "> 40"}}
  - {use: websocket, prefix: kpi}
  - {use: security, prefix: kpi}
  - {use: db, prefix: django, postgres_exporter: true}
  - {use: client, target: auth}
  - {use: sessions, namespace: coaching}
  - {use: frontend, for: {"*": 15m}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(text)
    return path


def test_every_pack_is_in_the_example() -> None:
    assert {
        line.split("use: ")[1].split(",")[0].split("}")[0]
        for line in ALL_PACKS.splitlines()
        if "use:" in line
    } == set(PACKS)


@pytest.mark.integration
def test_every_pack_compiles_and_passes_promtool_and_amtool(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, ALL_PACKS))
    names = {alert.name for alert in spec.alerts}
    expected = sum(len(p.alerts) for p in PACKS.values())
    assert len(names) == len(spec.alerts) == expected
    # seed 001's four rule names, unchanged
    assert {
        "ETLQualityLow",
        "HighAnomalyRate",
        "WebSocketConnectionsHigh",
        "SecurityIntrusionAttempts",
    } <= names
    etl = spec.alert("ETLQualityLow")
    assert etl is not None and etl.expr == "min by (model_name) (kpi_etl_quality_score)"
    assert etl.labels == {"pack": "etl"}
    assert spec.alert("ArchiverJobErrors").priority == "P1"  # type: ignore[union-attr]
    assert spec.alert("OpenaiLLMDailyCostHigh") is None  # no provider given: no name prefix
    cost = spec.alert("LLMDailyCostHigh")
    assert cost is not None and (cost.warning, cost.critical) == ("> 20", "> 40")
    assert spec.alert("PageLoadSlow").for_ == "15m"  # type: ignore[union-attr]
    assert spec.alert("OcrQueueSaturated") is None and spec.alert("QueueSaturated").service == "ocr"  # type: ignore[union-attr]

    bundle = compile_spec(spec)
    out = tmp_path / "out"
    bundle.write(out)
    assert check_bundle(out) == []
    rules = (out / "prometheus" / "rules" / "packs.yml").read_text()
    assert "ocr_cache:hit_ratio:rate5m" in rules
    assert "rules/packs.yml" in (out / "prometheus" / "prometheus.yml").read_text()
    tests = "\n".join(p.read_text() for p in (out / "prometheus" / "tests").glob("*_test.yml"))
    for name in names:
        assert f"alertname: {name}" in tests, f"no promtool test for {name}"
    dashboards = {p.stem: json.loads(p.read_text()) for p in (out / "grafana" / "dashboards").glob("*.json")}
    titles = {d["title"] for d in dashboards.values()}
    assert {"Batch job: archiver", "Work queue: ocr", "Cache: ocr", "ETL: kpi", "LLM calls: openai"} <= titles
    panels = [panel for d in dashboards.values() for panel in d["panels"]]
    assert len(panels) == sum(len(p.panels) for p in PACKS.values())  # every panel, the optional ones too
    queue = next(d for d in dashboards.values() if d["title"] == "Work queue: ocr")
    exprs = [target["expr"] for panel in queue["panels"] for target in panel["targets"]]
    assert "sum(rate(ocr_documents_processed_total[5m])) * 60" in exprs


def test_panels_join_a_hand_written_dashboard_of_the_same_title(tmp_path: Path) -> None:
    spec = load_spec(
        write(
            tmp_path,
            """\
version: tocsin/v1
app: ocr
dashboards:
  - title: OCR overview
    panels: [{title: Up, kind: stat, expr: up}]
packs:
  - {use: cache, prefix: ocr, cache: ocr, dashboard: OCR overview}
  - {use: queue, prefix: ocr, dashboard: false}
""",
        )
    )
    assert [d.title for d in spec.dashboards] == ["OCR overview"]
    titles = [p.title for p in spec.dashboards[0].panels]
    assert titles[0] == "Up" and "Cache hit ratio" in titles and "Redis memory" not in titles
    hit = next(p for p in spec.dashboards[0].panels if p.title == "Cache hit ratio")
    assert hit.alert == "OcrCacheHitRatioLow"
    lines = spec.panel_thresholds(hit)
    assert lines is not None and (lines.warning, lines.critical, lines.direction) == (0.5, 0.3, "below")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{use: jobz, job: x}", "use"),
        ("{use: jobs}", "needs 'job'"),
        ("{use: jobs, job: x, itmes: orders}", "did you mean 'items'?"),
        ("{use: jobs, job: x, priority: {erors: P1}}", "has no alert 'erors'"),
        ("{use: jobs, job: x, disable: [nope]}", "has no alert 'nope'"),
        ("{use: jobs, job: x, thresholds: {duration: {warning: '> abc'}}}", "is not a threshold"),
        ("{use: cache, redis_exporter: maybe}", "true or false"),
        ("{use: queue, thresholds: {size: {warning: '> 30'}}}", "beyond warning"),
        ("{use: queue, prefix: '9bad'}", "cannot start a metric name"),
        ("{use: sessions, priority: {x: P1}}", "this pack has no alerts"),
    ],
)
def test_mistakes_are_reported_at_the_pack_line(tmp_path: Path, entry: str, message: str) -> None:
    path = write(tmp_path, f"version: tocsin/v1\napp: x\npacks:\n  - {entry}\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    text = str(caught.value)
    assert message in text
    assert "tocsin.yaml:4:" in text


def test_two_packs_making_the_same_alert_say_how_to_fix_it(tmp_path: Path) -> None:
    path = write(tmp_path, "version: tocsin/v1\napp: x\npacks:\n  - {use: queue}\n  - {use: queue}\n")
    with pytest.raises(SpecError, match=r"tocsin.yaml:5:5: duplicate alert .QueueSaturated."):
        load_spec(path)
    path = write(
        tmp_path, "version: tocsin/v1\napp: x\npacks:\n  - {use: queue}\n  - {use: queue, name: Pdf}\n"
    )
    assert load_spec(path).alert("PdfQueueSaturated") is not None


def test_the_fast_profile_shortens_every_pack_alert(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, ALL_PACKS), profile="fast")
    pack_alerts = [a for a in spec.alerts if a.labels.get("pack")]
    assert pack_alerts and {a.for_ for a in pack_alerts} == {"2s"}


def test_the_packs_defaults_pass_the_spec_lint(tmp_path: Path) -> None:
    """Every default a pack brings is one the spec's own lint accepts (no missing for:, no short rate())."""
    from tocsin.spec import spec_warnings

    spec = load_spec(write(tmp_path, ALL_PACKS))
    assert [str(w) for w in spec_warnings(spec)] == []
