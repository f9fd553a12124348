"""The view model: thresholds from linked alerts, panel anchors, alert → panel links, plain JSON."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tocsin.errors import SpecError
from tocsin.spec import load_spec
from tocsin.views._schema import MODEL_FILE, read_model
from tocsin.views.data import status_of
from tocsin.views.model import model_files, stack_model

SPEC = """\
version: tocsin/v1
app: shop
scrape: {interval: 15s}
stack: {alertmanager: {port: 9393}, ha: {prometheus: {port: 9290}}}
services:
  api: {targets: ["127.0.0.1:8000"], health: /health}
  batch: {targets: ["127.0.0.1:8001"]}
alerts:
  - {name: QueueFull, expr: queue_size, warning: "> 10", critical: "> 20", for: 1m, runbook: https://r/q}
  - {name: LowRate, expr: "rate(x[5m])", warning: "< 5", priority: P1}
dashboards:
  - title: Shop overview
    panels:
      - {title: Queue, kind: timeseries, expr: queue_size, alert: QueueFull}
      - {title: Rate, kind: stat, expr: "rate(x[5m])", alert: LowRate, unit: reqps}
      - {title: Own lines, kind: gauge, expr: y, thresholds: {warning: 1, critical: 2}}
      - {title: Orders per day, kind: bars, expr: "sum(increase(orders_total[1d]))", range: 7d, period: 1d}
"""


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(text)
    return path


def test_thresholds_and_links_come_from_the_alerts(tmp_path: Path) -> None:
    model = stack_model(load_spec(_spec(tmp_path)))
    board = model["dashboards"][0]
    assert board["slug"] == "shop-overview"
    queue, rate, own, bars = board["panels"]
    assert queue["thresholds"] == {
        "warning": 10.0, "critical": 20.0, "direction": "above", "ops": {"warning": ">", "critical": ">"}
    }  # fmt: skip
    assert queue["runbook"] == "https://r/q" and queue["anchor"] == "panel-0"
    assert rate["thresholds"] == {
        "warning": 5.0,
        "critical": None,
        "direction": "below",
        "ops": {"warning": "<"},
    }
    assert own["thresholds"] == {"warning": 1.0, "critical": 2.0, "direction": "above"}
    assert (bars["range"], bars["period"]) == (7 * 86400, 86400)
    assert model["alerts"]["QueueFull"]["panel"] == "/dashboards/shop-overview#panel-0"
    assert model["alerts"]["LowRate"]["priority"] == "P1"
    assert model["services"]["api"]["health"] == ["http://127.0.0.1:8000/health"]
    assert model["services"]["batch"]["health"] == []
    assert model["scrape_interval"] == 15.0


STRICT = """\
version: tocsin/v1
app: shop
alerts:
  - {name: DbDown, expr: 'min(tocsin_health_check_up{check="db"})', critical: "< 1", for: 30s}
  - {name: CheckDown, expr: 'min(tocsin_health_check_up)', critical: "== 0", for: 30s}
  - {name: Slow, expr: latency_seconds, warning: "> 2", critical: ">= 3", for: 1m}
dashboards:
  - title: Health
    panels:
      - {title: Database, kind: stat, expr: 'min(tocsin_health_check_up{check="db"})', alert: DbDown}
      - {title: Checks, kind: stat, expr: 'min(tocsin_health_check_up)', alert: CheckDown}
      - {title: Latency, kind: stat, expr: latency_seconds, alert: Slow}
"""


@pytest.mark.parametrize(
    ("panel", "value", "status"),
    [
        (0, 1.0, "ok"),  # "< 1" holds a healthy 1: the console used to call it critical (<=)
        (0, 0.0, "critical"),
        (1, 1.0, "ok"),  # "== 0": healthy, not critical because 1 >= 0
        (1, 0.0, "critical"),
        (2, 2.0, "ok"),  # "> 2" does not fire at 2
        (2, 2.5, "warning"),
        (2, 3.0, "critical"),  # ">= 3" does
    ],
)
def test_panels_judge_values_as_their_alerts_rules_do(
    tmp_path: Path, panel: int, value: float, status: str
) -> None:
    board = stack_model(load_spec(_spec(tmp_path, STRICT)))["dashboards"][0]
    assert status_of(value, board["panels"][panel]) == status


def test_urls_follow_the_stack_section_and_ha(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path))
    single, pair = stack_model(spec), stack_model(spec, ha=True)
    assert single["prometheus"] == ["http://127.0.0.1:9090"]
    assert single["alertmanager"] == ["http://127.0.0.1:9393"]
    assert pair["prometheus"] == ["http://127.0.0.1:9090", "http://127.0.0.1:9290"]
    assert pair["alertmanager"] == ["http://127.0.0.1:9393", "http://127.0.0.1:9193"]
    assert single["receiver"] == "http://127.0.0.1:9095"


def test_the_model_round_trips_as_a_bundle_file(tmp_path: Path) -> None:
    model = stack_model(load_spec(_spec(tmp_path)))
    files = model_files(model)
    path = tmp_path / MODEL_FILE
    path.parent.mkdir(parents=True)
    path.write_text(files[MODEL_FILE])
    assert read_model(path) == orjson.loads(orjson.dumps(model))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{", "cannot read"), (b'{"version": 99}', "not a console model"), (b"[]", "not a console model")],
)
def test_a_broken_model_file_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        read_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("panel", "message"),
    [
        ("{title: B, kind: bars, expr: x, range: 7d}", "range and period go together"),
        ("{title: B, kind: stat, expr: x, range: 7d, period: 1d}", "use kind: bars"),
        ("{title: B, kind: bars, expr: x, range: 1d, period: 7d}", "does not fit in range 1d"),
    ],
)
def test_bar_windows_are_checked_at_their_line(tmp_path: Path, panel: str, message: str) -> None:
    text = f"version: tocsin/v1\napp: a\ndashboards:\n  - title: D\n    panels:\n      - {panel}\n"
    with pytest.raises(SpecError) as info:
        load_spec(_spec(tmp_path, text))
    assert message in str(info.value)
    assert ":6:" in "\n".join(info.value.lines())


def test_grafana_renders_the_same_bar_window(tmp_path: Path) -> None:
    import json

    from tocsin.compile.grafana import emit

    files = emit(load_spec(_spec(tmp_path)), ha=False)
    board = json.loads(files["grafana/dashboards/shop-overview.json"])
    bars = next(p for p in board["panels"] if p["title"] == "Orders per day")
    assert (bars["timeFrom"], bars["interval"]) == ("7d", "1d")
    assert bars["targets"][0]["range"] is True and bars["targets"][0]["interval"] == "1d"
