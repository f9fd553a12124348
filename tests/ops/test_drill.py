"""``tocsin drill``, seed 003's monthly recovery test, on a running stack of real binaries: a service
killed by port reports killed → fired → delivered → restarted → resolved with times; a service no alert
watches fails before anything is killed; a component is brought back by the supervisor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.conftest import free_ports, serve_script, wait_for

from tocsin.ops.drill import default_signal
from tocsin.stack.components import Component

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent

SPEC = """version: tocsin/v1
app: drilled
stack:
  state_dir: state
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{enabled: false}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{enabled: false}}
services:
  shop: {{targets: ["127.0.0.1:{shop}"], down: {{for: 5m, priority: P1}}}}
  bare: {{targets: ["127.0.0.1:{bare}"], down: {{enabled: false}}}}
  quick: {{targets: ["127.0.0.1:{quick}"], down: {{for: 5m, priority: P2}}}}
receivers:
  oncall: {{email: {{to: oncall@x.org, from: t@x.org, smarthost: "127.0.0.1:{smtp}", require_tls: false}}}}
  chat: {{slack: {{api_url_file: slack-url}}}}
routes:
  P1: [oncall, chat, tocsin]
  default: [tocsin]
profiles:
  # quick's outage is a process restart, which a loaded CI (xdist workers on 2 cores) can stretch
  # past the built-in 2 s; 6 s keeps "shorter than the alert's for" true there, and shop (back
  # after 16 s) still down long enough to fire and be delivered
  fast: {{extends: fast, target_down_for: 6s}}
"""


def _tocsin(cwd: Path, *args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tocsin", *args]
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def drilled(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    names = [
        "prometheus",
        "alertmanager",
        "cluster",
        "pushgateway",
        "receiver",
        "smtp",
        "shop",
        "bare",
        "quick",
    ]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    (tmp_path / "slack-url").write_text(f"http://127.0.0.1:{ports['receiver']}/slack/T1/B1\n")
    (tmp_path / "tocsin.yaml").write_text(SPEC.format(**ports))
    _, stop_shop = serve_script(HERE / "_service.py", str(ports["shop"]), "16")
    _, stop_bare = serve_script(HERE / "_service.py", str(ports["bare"]))
    _, stop_quick = serve_script(HERE / "_service.py", str(ports["quick"]), "0")  # back at once
    up = _tocsin(tmp_path, "up", "--detach", "--profile", "fast")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield tmp_path, ports
    finally:
        _tocsin(tmp_path, "down", "--timeout", "5")
        stop_shop()
        stop_bare()
        stop_quick()


def _listener(port: int) -> int | None:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None


def test_a_killed_service_fires_delivers_restarts_and_resolves(drilled: tuple[Path, dict[str, int]]) -> None:
    cwd, ports = drilled
    before = wait_for(lambda: _listener(ports["shop"]), timeout=30, what="the service to listen")
    out = _tocsin(cwd, "drill", "--service", "shop", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    steps = {s["name"]: s for s in report["steps"]}
    assert [s["status"] for s in report["steps"]] == ["pass"] * 5, report["steps"]
    times = [steps[n]["at"] for n in ("killed", "fired", "delivered", "restarted", "resolved")]
    assert times[0] == 0 and times[1] <= times[2] and times[3] <= times[4], times
    assert report["alert"] == "TargetDown"
    assert {(c["receiver"], c["status"]) for c in report["deliveries"]} == {
        ("oncall", "delivered"),
        ("chat", "delivered"),
        ("tocsin", "delivered"),
    }
    assert _listener(ports["shop"]) not in (None, before)  # its own restart, a new process
    table = _tocsin(cwd, "drill", "--service", "shop")
    assert table.returncode == 0 and "drill passed" in table.stdout, table.stdout


def test_a_service_no_alert_watches_fails_and_nothing_is_killed(drilled: tuple[Path, dict[str, int]]) -> None:
    cwd, ports = drilled
    pid = wait_for(lambda: _listener(ports["bare"]), timeout=30, what="the service to listen")
    out = _tocsin(cwd, "drill", "--service", "bare")
    assert out.returncode == 1
    assert "drill FAILED at killed: nothing was killed: no alert of the spec watches bare" in out.stdout
    assert _listener(ports["bare"]) == pid
    missing = _tocsin(cwd, "drill", "--service", "shop", "--alert", "NoSuchAlert")
    assert missing.returncode == 2 and "no alert 'NoSuchAlert' in the spec" in missing.stderr


def test_a_killed_component_is_restarted_by_the_supervisor(drilled: tuple[Path, dict[str, int]]) -> None:
    cwd, _ = drilled
    out = _tocsin(cwd, "drill", "--component", "pushgateway", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    steps = {s["name"]: s for s in json.loads(out.stdout)["steps"]}
    assert steps["restarted"]["status"] == "pass" and "the supervisor" in steps["restarted"]["detail"]
    assert steps["fired"]["status"] == "skip"
    # a SIGKILL would lose the pushes since the last persistence: TERM by default, and said so
    assert steps["killed"]["detail"].startswith("SIGTERM to pid"), steps["killed"]
    assert "Pushgateway loses the pushes" in json.loads(out.stdout)["notes"][0]
    forced = _tocsin(cwd, "drill", "--component", "pushgateway", "--signal", "KILL")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "SIGKILL to pid" in forced.stdout and "note:" not in forced.stdout, forced.stdout


def _component(name: str, kind: str) -> Component:
    return Component(name=name, kind=kind, argv=("true",), port=1)


@pytest.mark.parametrize(
    ("target", "components", "expected"),
    [
        (None, [], signal.SIGKILL),  # a service: a crash is the test
        ("prometheus", [_component("prometheus", "prometheus")], signal.SIGKILL),
        ("victoriametrics", [_component("victoriametrics", "long_term")], signal.SIGTERM),
        ("pushgateway", [_component("pushgateway", "pushgateway")], signal.SIGTERM),
        ("alertmanager", [_component("alertmanager", "alertmanager")], signal.SIGTERM),
        # replicas give a restarted one its silences back: the crash loses nothing
        (
            "alertmanager",
            [_component("alertmanager", "alertmanager"), _component("alertmanager-1", "alertmanager")],
            signal.SIGKILL,
        ),
    ],
)
def test_the_default_signal_spares_what_a_kill_would_lose(
    target: str | None, components: list[Component], expected: int
) -> None:
    sig, why = default_signal(target, components)
    assert sig == expected
    assert bool(why) == (expected == signal.SIGTERM)


def test_an_outage_shorter_than_the_alerts_for_is_reported(drilled: tuple[Path, dict[str, int]]) -> None:
    cwd, ports = drilled
    wait_for(lambda: _listener(ports["quick"]), timeout=30, what="the service to listen")
    out = _tocsin(cwd, "drill", "--service", "quick")
    assert out.returncode == 1
    assert "before TargetDown could fire" in out.stdout and "shorter than the alert's for" in out.stdout
