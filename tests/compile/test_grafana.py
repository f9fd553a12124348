"""Grafana output: valid dashboard JSON (round-trip through grafana-foundation-sdk), thresholds from
the alerts' own numbers, stable uids, provisioning on the stack's ports. No Grafana binary is needed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import barchart, gauge, stat, table, timeseries
from grafana_foundation_sdk.models.dashboard import Dashboard as SdkDashboard
from ruamel.yaml import YAML

from tocsin.compile import compile_spec, grafana
from tocsin.spec import Spec, load_spec

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

BOARDS = """\
version: tocsin/v1
app: shop
stack: {prometheus: {port: 19090}, alertmanager: {port: 19093}}
alerts:
  - {name: QueueFull, expr: max(shop_queue_size), warning: "> 10", critical: "> 20.5", for: 2m,
     runbook: "https://runbooks.example.org/queue"}
  - {name: LowConfidence, expr: avg(ocr_confidence_score), warning: "< 90", critical: "<= 80"}
  - {name: OnlyCritical, expr: max(shop_lag_seconds), critical: "> 30"}
  - {name: NoOrders, expr: "sum(increase(shop_orders_total[1h])) == 0", severity: critical}
routes: {default: [tocsin]}
dashboards:
  - title: Shop
    refresh: 1m
    time_from: now-24h
    panels:
      - {title: Queue, kind: stat, expr: max(shop_queue_size), alert: QueueFull}
      - {title: Confidence, kind: gauge, unit: percent, min: 0, max: 100, expr: avg(ocr_confidence_score),
         alert: LowConfidence}
      - {title: Lag, kind: timeseries, unit: s, expr: max(shop_lag_seconds), alert: OnlyCritical,
         legend: "{{instance}}"}
      - {title: Orders by status, kind: bars, expr: "sum by (status) (rate(shop_orders_total[5m]))",
         legend: "{{status}}"}
      - {title: Versions, kind: table, expr: count by (version) (shop_build_info)}
      - {title: Orders, kind: timeseries, expr: "sum(rate(shop_orders_total[5m]))", alert: NoOrders,
         thresholds: {warning: 5, critical: 1, direction: below}}
  - title: A dashboard whose title is much longer than the forty characters Grafana allows in a uid
    panels: [{title: Up, expr: up}]
  - {title: Pinned, uid: pinned-board, panels: [{title: Up, kind: table, expr: up}]}
"""


@pytest.fixture
def boards(write_spec: Callable[[str], Path]) -> Spec:
    return load_spec(write_spec(BOARDS))


def _encode(document: Any) -> str:
    return json.dumps(document, cls=JSONEncoder, sort_keys=True, indent=2) + "\n"


def _panels(spec: Spec, title: str) -> dict[str, dict[str, Any]]:
    board = next(d for d in spec.dashboards if d.title == title)
    return {p["title"]: p for p in json.loads(grafana.dashboard_json(spec, board))["panels"]}


def _steps(panel: dict[str, Any]) -> list[tuple[float | None, str]]:
    return [(s["value"], s["color"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def _golden_specs() -> list[Path]:
    return sorted(GOLDEN.glob("*/in.yaml"))


@pytest.mark.parametrize("path", _golden_specs(), ids=lambda p: p.parent.name)
def test_golden_dashboards_round_trip_through_the_sdk(path: Path) -> None:
    spec = load_spec(path)
    for name, text in grafana.emit(spec).items():
        if name.endswith(".json"):
            assert grafana.round_trip(text) == text, name


def test_every_panel_kind_round_trips_with_typed_options(boards: Spec) -> None:
    kinds = {
        "stat": stat.Options,
        "gauge": gauge.Options,
        "timeseries": timeseries.Options,
        "barchart": barchart.Options,
        "table": table.Options,
    }
    for dashboard in boards.dashboards:
        text = grafana.dashboard_json(boards, dashboard)
        assert grafana.round_trip(text) == text
        decoded = SdkDashboard.from_json(json.loads(text))
        for panel in decoded.panels or []:
            # The panel plugin's own schema decoded the options: they match what Grafana expects.
            assert isinstance(panel.options, kinds[panel.type_val]), panel.title


def test_round_trip_catches_what_the_schema_does_not_know(boards: Spec) -> None:
    document = json.loads(grafana.dashboard_json(boards, boards.dashboards[0]))
    document["panels"][0]["datasourse"] = {"uid": "typo"}
    assert grafana.round_trip(_encode(document)) != _encode(document)


def test_one_panel_per_spec_panel_with_query_unit_and_bounds(boards: Spec) -> None:
    panels = _panels(boards, "Shop")
    assert list(panels) == ["Queue", "Confidence", "Lag", "Orders by status", "Versions", "Orders"]
    assert [p["type"] for p in panels.values()] == [
        "stat",
        "gauge",
        "timeseries",
        "barchart",
        "table",
        "timeseries",
    ]
    assert [p["id"] for p in panels.values()] == [1, 2, 3, 4, 5, 6]
    confidence = panels["Confidence"]["fieldConfig"]["defaults"]
    assert (confidence["unit"], confidence["min"], confidence["max"]) == ("percent", 0, 100)
    lag = panels["Lag"]["targets"][0]
    assert (lag["expr"], lag["legendFormat"], lag["range"]) == ("max(shop_lag_seconds)", "{{instance}}", True)
    bars = panels["Orders by status"]["targets"][0]
    assert (bars["instant"], bars["format"]) == (True, "table")
    assert panels["Versions"]["targets"][0]["format"] == "table"
    for panel in panels.values():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def _rule_threshold(files: dict[str, str], alert: str, severity: str) -> float:
    groups = YAML(typ="safe").load(files["prometheus/rules/alerts.yml"])["groups"]
    rule = next(
        r
        for g in groups
        for r in g["rules"]
        if r.get("alert") == alert and r["labels"]["severity"] == severity
    )
    return float(rule["expr"].split()[-1])


def test_alert_panels_draw_the_rules_own_numbers(boards: Spec) -> None:
    files = compile_spec(boards).files
    panels = _panels(boards, "Shop")
    warning, critical = (_rule_threshold(files, "QueueFull", level) for level in ("warning", "critical"))
    assert (warning, critical) == (10, 20.5)
    assert _steps(panels["Queue"]) == [(None, "green"), (warning, "orange"), (critical, "red")]
    assert "warning > 10, critical > 20.5" in panels["Queue"]["description"]
    low = [_rule_threshold(files, "LowConfidence", level) for level in ("critical", "warning")]
    assert _steps(panels["Confidence"]) == [(None, "red"), (low[0], "orange"), (low[1], "green")]
    assert _steps(panels["Lag"]) == [
        (None, "green"),
        (_rule_threshold(files, "OnlyCritical", "critical"), "red"),
    ]
    assert panels["Lag"]["options"]["legend"]["showLegend"] is True


def test_timeseries_draws_lines_only_when_there_are_thresholds(boards: Spec) -> None:
    panels = _panels(boards, "Shop")
    assert panels["Lag"]["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "line"}
    plain = _panels(boards, boards.dashboards[1].title)["Up"]
    assert plain["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "off"}
    assert _steps(plain) == [(None, "green")]


def test_own_thresholds_win_over_the_alert(boards: Spec) -> None:
    orders = _panels(boards, "Shop")["Orders"]
    assert _steps(orders) == [(None, "red"), (1, "orange"), (5, "green")]
    assert "description" not in orders


def test_runbook_link_on_alert_panels(boards: Spec) -> None:
    queue = _panels(boards, "Shop")["Queue"]
    assert [(link["title"], link["url"]) for link in queue["links"]] == [
        ("Runbook", "https://runbooks.example.org/queue")
    ]


def test_layout_fills_rows_without_overlap(boards: Spec) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in _panels(boards, "Shop").values():
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, panel["title"]
        cells |= covered


def test_dashboard_settings_variable_and_alert_annotations(boards: Spec) -> None:
    document = json.loads(grafana.dashboard_json(boards, boards.dashboards[0]))
    assert (document["uid"], document["refresh"], document["time"]) == (
        "shop",
        "1m",
        {"from": "now-24h", "to": "now"},
    )
    assert document["editable"] is False
    assert document["tags"] == ["tocsin", "shop"]
    (variable,) = document["templating"]["list"]
    assert (variable["type"], variable["name"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    assert variable["current"]["value"] == grafana.DATASOURCE_UID
    (annotation,) = document["annotations"]["list"]
    assert annotation["expr"] == 'ALERTS{alertstate="firing"}'


def test_uids_are_stable_short_and_unique(boards: Spec) -> None:
    uids = [grafana.dashboard_uid(d) for d in boards.dashboards]
    assert uids[0] == "shop" and uids[2] == "pinned-board"
    assert len(uids[1]) == 40 and uids[1].startswith("a-dashboard-whose-title")
    assert len(set(uids)) == 3
    files = grafana.emit(boards)
    assert sorted(files) == sorted(
        [f"grafana/dashboards/{uid}.json" for uid in uids]
        + ["grafana/provisioning/dashboards/tocsin.yml", "grafana/provisioning/datasources/tocsin.yml"]
    )


def test_output_is_deterministic(write_spec: Callable[[str], Path]) -> None:
    first = grafana.emit(load_spec(write_spec(BOARDS)))
    second = grafana.emit(load_spec(write_spec(BOARDS)))
    assert first == second
    for name, text in first.items():
        if name.endswith(".json"):
            assert text == _encode(json.loads(text)), "keys sorted, two-space indent"


def test_panel_link_opens_the_alert_panel(boards: Spec) -> None:
    assert grafana.panel_link(boards, "LowConfidence") == "http://127.0.0.1:3000/d/shop/shop?viewPanel=2"
    assert grafana.panel_link(boards, "Nothing") is None
    assert _panels(boards, "Shop")["Confidence"]["id"] == 2


def test_provisioning_points_at_the_stack(boards: Spec) -> None:
    yaml = YAML(typ="safe")
    files = grafana.emit(boards)
    sources = yaml.load(files["grafana/provisioning/datasources/tocsin.yml"])
    by_uid = {s["uid"]: s for s in sources["datasources"]}
    assert by_uid[grafana.DATASOURCE_UID]["url"] == "http://127.0.0.1:19090"
    assert by_uid[grafana.DATASOURCE_UID]["isDefault"] is True
    assert by_uid["tocsin-alertmanager"]["url"] == "http://127.0.0.1:19093"
    assert by_uid["tocsin-loki"]["url"] == f"http://127.0.0.1:{grafana.LOKI_PORT}"
    (provider,) = yaml.load(files["grafana/provisioning/dashboards/tocsin.yml"])["providers"]
    assert provider["options"]["path"] == grafana.DASHBOARDS_DIR
    assert (provider["type"], provider["folder"]) == ("file", "shop")
    ha = yaml.load(grafana.emit(boards, ha=True)["grafana/provisioning/datasources/tocsin.yml"])
    assert [s["url"] for s in ha["datasources"] if s["type"] == "prometheus"] == [
        "http://127.0.0.1:19090",
        "http://127.0.0.1:9190",
    ]


def test_compile_spec_bundles_the_grafana_files(shop: Spec, env: dict[str, str]) -> None:
    files = compile_spec(shop, env=env).files
    assert "grafana/dashboards/shop.json" in files
    assert files["grafana/dashboards/shop.json"] == grafana.dashboard_json(shop, shop.dashboards[0])
