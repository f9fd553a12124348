"""Reads past Prometheus' retention go to ``stack.long_term``: the console (dashboards, explore), ``tocsin
export``, ``report`` and ``backtest``, against a real Prometheus (recent samples only) and a real
VictoriaMetrics holding samples from ten days ago, beyond the spec's 7-day Prometheus retention.
Newer ranges stay on Prometheus."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import free_ports, serve_uvicorn, wait_for
from tests.history._prom import prometheus
from tests.history._vmalert import victoria_metrics

from tocsin.cli import main
from tocsin.spec import load_spec, long_term_reads
from tocsin.views._stackapi import StackAPI
from tocsin.views.console import ConsoleConfig, create_app
from tocsin.views.model import stack_model

DAY = 86_400
SPEC = """version: tocsin/v1
app: shop
stack:
  state_dir: state
  prometheus: {{port: {prometheus}, retention: 7d}}
  long_term: {{port: {vm}}}
alerts:
  - name: OrdersPiling
    expr: max(orders_pending)
    critical: "> 50"
    for: 5m
    priority: P1
dashboards:
  - title: Orders
    panels:
      - {{title: Pending, kind: timeseries, expr: max(orders_pending)}}
reports:
  - name: orders
    builtins: []
    sections:
      - title: Orders
        panels:
          - {{title: Most pending, kind: stat, expr: "max(max_over_time(orders_pending[$__range]))"}}
"""


@dataclass(frozen=True)
class Sources:
    dir: Path
    prometheus: str
    vm: str
    #: the old day VictoriaMetrics holds: [start, end], orders_pending 42, 80 during its middle hour
    start: int
    end: int


def _old_value(t: int, start: int) -> int:
    return 80 if 12 * 3600 <= t - start < 13 * 3600 else 42


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sources]:
    root = tmp_path_factory.mktemp("long_term_reads")
    prom_port, vm_port = free_ports(2)
    config = (
        "global: {scrape_interval: 1s}\n"
        f"scrape_configs: [{{job_name: prom, static_configs: [{{targets: ['127.0.0.1:{prom_port}']}}]}}]\n"
    )
    (root / "tocsin.yaml").write_text(SPEC.format(prometheus=prom_port, vm=vm_port))
    end = int(time.time()) // 60 * 60 - 9 * DAY
    start = end - DAY
    with (
        prometheus(root / "tsdb", config, port=prom_port) as prom,
        victoria_metrics(root / "vm", vm_port) as vm,
    ):
        lines = [
            f'orders_pending{{job="shop"}} {_old_value(t, start)} {t * 1000}'
            for t in range(start, end + 1, 60)
        ]
        httpx.post(f"{vm.url}/api/v1/import/prometheus", content="\n".join(lines)).raise_for_status()
        wait_for(
            lambda: httpx.get(
                f"{vm.url}/api/v1/query", params={"query": "count_over_time(orders_pending[1d])", "time": end}
            ).json()["data"]["result"],
            timeout=30,
            what="the imported day searchable",
        )
        wait_for(lambda: httpx.get(f"{prom}/api/v1/query", params={"query": "up"}).json()["data"]["result"])
        yield Sources(root, prom, vm.url, start, end)


def test_only_ranges_past_the_retention_read_the_store(sources: Sources) -> None:
    stack = load_spec(sources.dir / "tocsin.yaml").stack
    now = time.time()
    assert long_term_reads(stack, now - 8 * DAY, now) == sources.vm
    assert long_term_reads(stack, now - 6 * DAY, now) is None
    api = StackAPI([sources.prometheus], long_term=sources.vm, retention=7 * DAY)
    assert api.sources(now - 8 * DAY) == [sources.vm, sources.prometheus]
    assert api.sources(now - 3600) == api.sources(None) == [sources.prometheus, sources.vm]
    assert StackAPI([sources.prometheus]).sources(now - 8 * DAY) == [sources.prometheus]


def _cli(sources: Sources, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    import os

    cwd = os.getcwd()
    os.chdir(sources.dir)
    try:
        code = main(list(args))
    finally:
        os.chdir(cwd)
    out, err = capsys.readouterr()
    return code, out, err


def test_export_of_an_old_range_reads_the_store(sources: Sources, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(
        sources, capsys, "export", "orders_pending", "--since", str(sources.start),
        "--until", str(sources.end), "--step", "1h", "--time-format", "unix",
    )  # fmt: skip
    assert code == 0, err
    assert f"reading victoriametrics at {sources.vm}" in err and "7d retention" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 25 and {r["value"] for r in rows} == {"42", "80"}
    # a recent range stays on Prometheus, which has `up` and no orders
    code, out, err = _cli(sources, capsys, "export", "up", "--since", "5m", "--step", "15s")
    assert code == 0 and "reading" not in err, err
    assert list(csv.DictReader(io.StringIO(out)))


def test_backtest_of_an_old_range_replays_the_store(
    sources: Sources, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(
        sources, capsys, "backtest", "--since", str(sources.start), "--until", str(sources.end),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    (alert,) = json.loads(out)["alerts"]
    assert alert["alert"] == "OrdersPiling" and alert["fired"] == 1
    assert 3000 <= alert["firing_seconds"] <= 3600  # the hour at 80, less the 5-minute for


def test_report_of_an_old_day_reads_the_store(sources: Sources, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = sources.dir / "old.html"
    code, _, err = _cli(
        sources, capsys, "report", "orders", "--period", "day", "--until", str(sources.end),
        "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, err
    assert "reading victoriametrics" in err
    assert ">80<" in out_file.read_text().replace(" ", "")


@pytest.fixture
def console(sources: Sources) -> Iterator[httpx.Client]:
    model = stack_model(load_spec(sources.dir / "tocsin.yaml"))
    assert model.get("long_term") == {"url": sources.vm, "retention": 7 * DAY}
    base, stop = serve_uvicorn(create_app(ConsoleConfig(model=model)))
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client
    finally:
        stop()


def _values(series: Any) -> set[float]:
    return {v for column in series for v in column if v is not None}


def test_console_charts_an_old_range_from_the_store(sources: Sources, console: httpx.Client) -> None:
    span = {"from": str(sources.start), "to": str(sources.end)}
    board = console.get("/api/dashboards/orders", params={**span, "widths": "600"}).json()
    (panel,) = board["panels"]
    assert _values(s["values"] for s in panel["series"]) == {42.0, 80.0}, panel
    explore = console.get("/api/query", params={**span, "q": "max(orders_pending)"}).json()
    assert explore["rows"] and explore["rows"][0]["value"] == "42", explore
    recent = console.get("/api/query", params={"q": "up", "from": "now-5m"}).json()
    assert recent["rows"] and recent["rows"][0]["labels"]["job"] == "prom", recent  # from Prometheus
