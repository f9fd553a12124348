"""`tocsin up` runs the log watcher from the spec's `logs:` section: lines → counter → Prometheus → alert.

Real binaries, free ports; the spec is passed from another directory so that the relative log path
is seen to resolve against the spec file, not the working directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from tests.conftest import free_ports, wait_for

from tocsin.compile import compile_spec
from tocsin.errors import SpecError
from tocsin.spec import load_spec
from tocsin.stack import StackLayout, StackSettings, build_plan

SPEC = """version: tocsin/v1
app: logtest
stack:
  state_dir: state
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  logwatch: {{port: {logwatch}}}
  pushgateway: {{enabled: false}}
  node_exporter: {{enabled: false}}
  console: {{enabled: false}}
alerts:
  - name: PaymentsFailing
    expr: sum(payment_failures_total)
    critical: "> 2"
    for: 1m
    priority: P1
routes:
  P1: [tocsin]
logs:
  files:
    - path: app-logs/*.log
      source: payments
  patterns:
    - {{name: payment_failures, regex: '{regex}'}}
"""


def _write_spec(directory: Path, regex: str = "payment (?P<reason>declined|timeout)") -> dict[str, int]:
    names = ("prometheus", "alertmanager", "receiver", "smtp", "logwatch")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    (directory / "tocsin.yaml").write_text(SPEC.format(**ports, regex=regex), encoding="utf-8")
    return ports


def _tocsin(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    spec_dir = tmp_path / "project"
    (spec_dir / "app-logs").mkdir(parents=True)
    (spec_dir / "app-logs" / "app.log").write_text("", encoding="utf-8")
    ports = _write_spec(spec_dir)
    yield spec_dir, ports
    _tocsin(tmp_path, "down", str(spec_dir / "tocsin.yaml"), "--timeout", "5")  # whatever a failure left


def _counter(http: httpx.Client, prometheus: str) -> dict[str, float]:
    answer = http.get(f"{prometheus}/api/v1/query", params={"query": "payment_failures_total"}).json()
    return {r["metric"]["reason"]: float(r["value"][1]) for r in answer["data"]["result"]}


@pytest.mark.integration
def test_up_runs_the_watcher_counter_reaches_prometheus_and_alert_reaches_receiver(
    tmp_path: Path, project: tuple[Path, dict[str, int]]
) -> None:
    spec_dir, ports = project
    spec = str(spec_dir / "tocsin.yaml")
    up = _tocsin(tmp_path, "up", spec, "--profile", "fast", "--detach")
    assert up.returncode == 0, up.stderr
    component, target = [line for line in up.stdout.splitlines() if line.startswith("logwatch ")]
    assert f"http://127.0.0.1:{ports['logwatch']}" in component  # the component table, then the targets
    assert f"127.0.0.1:{ports['logwatch']}" in target and "│ up" in target
    compiled = json.loads(
        (spec_dir / "state" / "config" / "current" / "logwatch" / "logwatch.json").read_text()
    )
    assert (
        compiled["directory_size_interval"] == 1.0
    )  # the fast profile's scrape interval (issue 10, item 11)
    status = _tocsin(tmp_path, "status", spec)
    assert status.returncode == 0 and "logwatch" in status.stdout, status.stdout + status.stderr

    with (spec_dir / "app-logs" / "app.log").open("a", encoding="utf-8") as log:
        log.write("ok\n" + "payment declined\n" * 3 + "payment timeout\nunrelated\n")
    prometheus = f"http://127.0.0.1:{ports['prometheus']}"
    with httpx.Client(timeout=5) as http:
        expected = {"declined": 3.0, "timeout": 1.0}
        wait_for(lambda: _counter(http, prometheus) == expected, timeout=15, what="counter in Prometheus")

        def notified() -> list[dict[str, Any]]:
            url = f"http://127.0.0.1:{ports['receiver']}/api/v1/notifications"
            params = {"alertname": "PaymentsFailing", "status": "firing"}
            return http.get(url, params=params).json()  # type: ignore[no-any-return]

        assert (
            wait_for(notified, timeout=20, what="alert at the receiver")[0]["labels"]["severity"]
            == "critical"
        )

        # supervised like the others: a kill -9 is undone, and no line is counted twice
        state_file = spec_dir / "state" / "run" / "state.json"
        old = json.loads(state_file.read_text())["components"]["logwatch"]["pid"]
        os.kill(old, signal.SIGKILL)
        new_pid = lambda: json.loads(state_file.read_text())["components"]["logwatch"]["pid"]  # noqa: E731
        wait_for(lambda: new_pid() not in (None, old), timeout=5, what="logwatch restart")
        watcher = f"http://127.0.0.1:{ports['logwatch']}/metrics"
        wait_for(lambda: http.get(watcher).status_code == 200, timeout=10, what="restarted watcher")
        assert 'payment_failures_total{reason="declined"} 3.0' in http.get(watcher).text

    state = json.loads(state_file.read_text())
    pids = [c["pid"] for c in state["components"].values()] + [state["supervisor"]["pid"]]
    down = _tocsin(tmp_path, "down", spec)
    assert down.returncode == 0, down.stderr
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []


@pytest.mark.integration
def test_bad_regex_under_logs_fails_check_at_the_spec_line(tmp_path: Path) -> None:
    _write_spec(tmp_path, regex="payment (declined")
    check = _tocsin(tmp_path, "check", "tocsin.yaml")
    assert check.returncode == 2
    line = next(i for i, text in enumerate(SPEC.splitlines(), 1) if "regex:" in text)
    assert check.stderr.startswith(f"tocsin: tocsin.yaml:{line}:"), check.stderr
    assert "invalid regular expression" in check.stderr and "Traceback" not in check.stderr


def test_watcher_is_planned_and_scraped_only_with_logs_and_enabled(tmp_path: Path) -> None:
    _write_spec(tmp_path)
    spec_path = tmp_path / "tocsin.yaml"
    spec = load_spec(spec_path)
    assert "job_name: logwatch" in compile_spec(spec).files["prometheus/prometheus.yml"]
    settings = StackSettings.from_spec(spec.stack, tmp_path, logs_spec=spec_path)
    layout = StackLayout(tmp_path / "state")
    planned = {c.name: c for c in build_plan(settings, layout)}
    assert planned["logwatch"].ready_path == "/metrics"
    assert (
        f"--config={layout.root / 'config' / 'current' / 'logwatch' / 'logwatch.json'}"
        in planned["logwatch"].argv
    )
    compiled = json.loads(compile_spec(spec).files["logwatch/logwatch.json"])
    assert compiled["base_dir"] == str(tmp_path)  # relative log paths stay relative to the spec
    assert compiled["files"][0]["path"] == "app-logs/*.log"
    assert compiled["directory_size_interval"] == 15.0  # the scrape interval: `--profile fast` makes it 1 s
    assert "logwatch" not in {
        c.name for c in build_plan(StackSettings.from_spec(spec.stack, tmp_path), layout)
    }

    spec_path.write_text(spec_path.read_text().replace("  logwatch: {", "  logwatch: {enabled: false, "))
    off = load_spec(spec_path)
    assert "job_name: logwatch" not in compile_spec(off).files["prometheus/prometheus.yml"]
    settings = StackSettings.from_spec(off.stack, tmp_path, logs_spec=spec_path)
    assert "logwatch" not in {c.name for c in build_plan(settings, layout)}


def test_unknown_key_under_logs_is_reported_at_its_spec_line_with_the_rest(tmp_path: Path) -> None:
    _write_spec(tmp_path)
    spec_path = tmp_path / "tocsin.yaml"
    text = spec_path.read_text().replace("      source: payments", "      sorce: payments")
    spec_path.write_text(text.replace("priority: P1", "priority: P9"))
    with pytest.raises(SpecError) as caught:
        load_spec(spec_path)
    lines = [str(p) for p in caught.value.problems]
    sorce = next(i for i, line in enumerate(text.splitlines(), 1) if "sorce:" in line)
    assert any(p.startswith(f"{spec_path}:{sorce}:7: unknown key 'sorce'") for p in lines), lines
    assert any("did you mean 'source'?" in p for p in lines), lines
    priority = next(i for i, line in enumerate(text.splitlines(), 1) if "priority:" in line)
    assert any(p.startswith(f"{spec_path}:{priority}:") for p in lines), lines  # the rest is checked too
