"""`tocsin up / status / reload / down / alerts` through the real CLI, on a compiled spec with free ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from tests.conftest import free_port, wait_for
from tests.stack._project import NEW_RULE, Project, alive

pytestmark = pytest.mark.integration


def _rule_names(proj: Project) -> set[str]:
    groups = httpx.get(f"{proj.url('prometheus')}/api/v1/rules").json()["data"]["groups"]
    return {rule["name"] for group in groups for rule in group["rules"]}


def _query(proj: Project, expr: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{proj.url('prometheus')}/api/v1/query", params={"query": expr}).json()
    return answer["data"]["result"]  # type: ignore[no-any-return]


def test_detached_lifecycle_reload_down_and_tsdb_reuse(project: Project) -> None:
    up = project.tocsin("up", "--profile", "fast", "--detach")
    assert up.returncode == 0, up.stderr
    assert "stack ready in" in up.stdout
    table = {line.split()[0]: line for line in up.stdout.splitlines() if line.strip()}
    assert "│ up" in table["pushgateway"]
    assert "connection refused" in table["gone"]
    assert "404 on the metrics path /nope" in table["wrong-path"]
    assert "not Prometheus format" in table["not-metrics"]

    again = project.tocsin("up", "--detach")
    assert again.returncode == 2 and "already running" in again.stderr

    _alert_reaches_every_sink_then_resolves(project)

    push = f"{project.url('pushgateway')}/metrics/job/marker"
    httpx.put(push, content="reuse_marker 42\n").raise_for_status()
    wait_for(lambda: _query(project, "reuse_marker"), what="marker scraped")
    httpx.delete(push).raise_for_status()

    # a broken spec: error at file:line, nothing reloaded
    project.write(for_="5 sec", extra=NEW_RULE)
    broken = project.tocsin("reload")
    assert broken.returncode == 2
    assert f"tocsin: {project.spec}:18:10: '5 sec' is not a duration" in broken.stderr
    assert "NewRule" not in _rule_names(project) and "QueueTooLong" in _rule_names(project)

    moved = dict(project.ports)
    project.ports["pushgateway"] = free_port()
    project.write(extra=NEW_RULE)
    refused = project.tocsin("reload")
    assert refused.returncode == 2 and "the stack: section changed" in refused.stderr
    project.ports = moved

    project.write(extra=NEW_RULE)
    fixed = project.tocsin("reload")
    assert fixed.returncode == 0, fixed.stderr
    assert "NewRule" in _rule_names(project)

    status = project.tocsin("status")
    assert status.returncode == 0, status.stderr
    assert "prometheus" in status.stdout and "firing alerts (0)" in status.stdout

    pids = project.pids()
    assert len(pids) == 6  # 5 components + the supervisor
    down = project.tocsin("down")
    assert down.returncode == 0, down.stderr
    assert not [p for p in pids if alive(*p)]
    assert project.tocsin("status").returncode == 3

    second = project.tocsin("up", "--profile", "fast", "--detach")
    assert second.returncode == 0, second.stderr
    old = "last_over_time(reuse_marker[30m])"
    kept = wait_for(lambda: _query(project, old), what="old series after re-up")
    assert kept[0]["value"][1] == "42"  # type: ignore[index]
    assert project.tocsin("down").returncode == 0


def _received(proj: Project, what: str, **params: str) -> list[dict[str, str]]:
    return httpx.get(f"{proj.url('receiver')}/api/v1/{what}", params=params).json()  # type: ignore[no-any-return]


def _alert_reaches_every_sink_then_resolves(proj: Project) -> None:
    """fast profile: for 2 s + 2 × 1 s interval + group_wait 0 s + 5 s."""
    budget = 2 + 2 * 1 + 0 + 5
    push = f"{proj.url('pushgateway')}/metrics/job/queue"
    httpx.put(push, content="queue_length 50\n").raise_for_status()
    wait_for(
        lambda: _received(proj, "notifications", status="firing", alertname="QueueTooLong"),
        timeout=budget,
        what="firing",
    )
    mail = wait_for(lambda: _received(proj, "mails"), timeout=5, what="mail")
    assert "QueueTooLong" in mail[0]["subject"]
    slack = wait_for(lambda: _received(proj, "slack"), timeout=5, what="slack message")
    assert "QueueTooLong" in slack[0]["text"] and "queue is 50 long" in slack[0]["text"]
    httpx.put(push, content="queue_length 1\n").raise_for_status()
    wait_for(
        lambda: _received(proj, "notifications", status="resolved", alertname="QueueTooLong"),
        timeout=budget,
        what="resolved",
    )
    history = proj.tocsin("alerts")
    assert history.returncode == 0 and "resolved" in history.stdout and "firing" in history.stdout
    # issue 10 item 14: every sink, with severity and priority (it listed the webhook only)
    wait_for(
        lambda: len(_received(proj, "mails")) >= 2 and len(_received(proj, "slack")) >= 2, what="resolved"
    )
    listed = json.loads(proj.tocsin("alerts", "--json").stdout)
    seen = {
        (r["sink"], r["receiver"], r["status"], r["alertname"], r["severity"], r["priority"]) for r in listed
    }
    for sink, receiver in (("webhook", "tocsin"), ("email", "mail"), ("slack", "chat")):
        for status in ("firing", "resolved"):
            assert (sink, receiver, status, "QueueTooLong", "critical", "P1") in seen, (sink, status, seen)
    table = proj.tocsin("alerts", "--sink", "email").stdout
    assert "P1" in table and "critical" in table and "0 webhook" in table


def test_port_in_use_is_exit_2_and_starts_nothing(project: Project) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", project.ports["prometheus"]))
        busy.listen()
        result = project.tocsin("up", "--detach")
    assert result.returncode == 2
    assert f"port already in use: 127.0.0.1:{project.ports['prometheus']} (prometheus)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project.dir / "state" / "run" / "state.json").exists()


def test_foreground_ctrl_c_stops_everything(project: Project) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tocsin", "up", "--profile", "fast"],
        cwd=project.dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if "press Ctrl-C" in line:
                    break
            pids = project.pids()
            assert all(alive(*p) for p in pids)
            proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends to the foreground process
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
    assert not [p for p in pids if alive(*p)]


def test_a_killed_supervisor_takes_its_components_along(project: Project) -> None:
    assert project.tocsin("up", "--detach").returncode == 0
    pids = project.pids()
    os.kill(pids[-1][0], signal.SIGKILL)  # the supervisor
    # parent-death signal: every component gets SIGTERM from the kernel and stops cleanly
    wait_for(lambda: not [p for p in pids if alive(*p)], timeout=15, what="components stopped")
    assert "the supervisor is gone" in project.tocsin("status").stdout
    assert project.tocsin("down").returncode == 0
    assert not control_running(project)


def control_running(project: Project) -> list[object]:
    from tocsin.stack.components import StackLayout
    from tocsin.stack.control import running_processes

    return running_processes(StackLayout(project.dir / "state"))  # type: ignore[return-value]


def test_up_refuses_a_broken_spec_before_starting_anything(project: Project) -> None:
    project.write(for_="5 sec")
    result = project.tocsin("up", "--detach")
    assert result.returncode == 2
    assert result.stderr.startswith(f"tocsin: {project.spec}:18:10: '5 sec' is not a duration")
    assert not (project.dir / "state" / "run").exists()
