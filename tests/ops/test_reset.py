"""``tocsin reset``: metrics on a running stack through the admin APIs, alerts and logs on a stopped one,
confirmation or --yes, and never the spec."""

from __future__ import annotations

import sys
import time

import httpx
import pytest
from tests.conftest import wait_for
from tests.stack._project import Project

pytestmark = pytest.mark.integration


def _count(prom: str, expr: str) -> int:
    answer = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=10).json()
    return len(answer["data"]["result"])


def test_reset_metrics_live_then_alerts_stopped(project: Project) -> None:
    spec_before = project.spec.read_bytes()
    assert project.tocsin("up", "--detach", "--profile", "fast", timeout=120).returncode == 0
    prom = project.url("prometheus")
    httpx.put(f"{project.url('pushgateway')}/metrics/job/w", content="queue_length 42\n").raise_for_status()
    wait_for(lambda: _count(prom, "queue_length") == 1, timeout=30, what="the pushed series")
    wait_for(
        lambda: httpx.get(f"{project.url('receiver')}/api/v1/notifications").json(),
        timeout=60,
        what="an alert",
    )
    refused = project.tocsin("reset", "--metrics")  # no terminal, no --yes: nobody confirmed
    assert refused.returncode == 2 and "--yes" in refused.stderr

    out = project.tocsin("reset", "--metrics", "--yes")
    assert out.returncode == 0, out.stderr
    assert (
        "every series of prometheus deleted" in out.stdout and "1 pushed metric groups deleted" in out.stdout
    )
    assert _count(prom, "count_over_time(queue_length[1h])") == 0
    wait_for(lambda: _count(prom, 'up{job="prometheus"}') == 1, timeout=30, what="scrapes to go on")

    live = project.tocsin("reset", "--alerts", "--yes")
    assert live.returncode == 2 and "needs a stopped stack" in live.stderr
    assert project.tocsin("down").returncode == 0
    assert (project.root / "alerts.sqlite").exists()
    done = project.tocsin("reset", "--all", "--yes")
    assert done.returncode == 0, done.stderr
    assert not (project.root / "alerts.sqlite").exists()
    assert not any((project.root / "data").glob("prometheus*"))
    assert project.spec.read_bytes() == spec_before
    assert (project.root / "config" / "current").exists()  # the compiled config stays

    again = project.tocsin("up", "--detach", "--profile", "fast", timeout=120)
    assert again.returncode == 0, again.stderr
    assert httpx.get(f"{project.url('receiver')}/api/v1/notifications").json() == []


def test_reset_asks_on_a_terminal(project: Project) -> None:
    """Answering anything but y keeps everything (driven through a real pty)."""
    import os
    import pty

    (project.root / "data" / "prometheus").mkdir(parents=True)
    (project.root / "data" / "prometheus" / "x").write_text("x")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real CLI on a terminal
        os.chdir(project.dir)
        os.execv(sys.executable, [sys.executable, "-m", "tocsin", "reset", "--metrics"])
    output = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in output and time.monotonic() < deadline:
        output += os.read(fd, 1024)
    assert b"data/prometheus" in output
    os.write(fd, b"n\n")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
    assert (project.root / "data" / "prometheus" / "x").exists()
