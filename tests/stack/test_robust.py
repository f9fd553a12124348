"""The stack under hostile conditions, through the real CLI and the real binaries.

Each scenario ends the same way: a clear ``tocsin:`` message and exit code, no traceback, and no process
of the state dir left running (found by the environment marker every process of a stack carries, so
nothing escapes the check because its pid file is gone).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.conftest import wait_for
from tests.stack._project import Project, alive, new_project

pytestmark = pytest.mark.integration

#: SIGSTOP → restarted: 3 probes × (1 s period + 2 s timeout) + 2 s stop grace, with room for a busy machine
RESTART_BUDGET = 40.0


def _clean(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result.stderr


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_rm_rf_of_a_running_stack_stops_it_then_up_down_status_work(project: Project) -> None:
    assert project.tocsin("up", "--detach").returncode == 0
    pids = project.pids()
    shutil.rmtree(project.root)
    # the supervisor sees its state dir is gone and stops its stack: the ports come free
    wait_for(lambda: not [p for p in pids if alive(*p)], timeout=30, what="the orphaned stack to stop")
    status = project.tocsin("status")
    assert status.returncode == 3 and "no stack has run" in status.stdout, status.stdout
    down = project.tocsin("down")
    assert down.returncode == 0 and "no stack was running" in down.stdout
    up = project.tocsin("up", "--detach")
    assert up.returncode == 0, _clean(up)
    assert project.tocsin("status").returncode == 0
    assert project.tocsin("down").returncode == 0
    assert project.leftovers() == []


def test_rm_rf_under_a_stopped_supervisor_is_seen_by_status_and_cleared_by_down(project: Project) -> None:
    """Files gone and nobody to notice: the processes are still found by their environment marker."""
    assert project.tocsin("up", "--detach").returncode == 0
    pids = project.pids()
    supervisor = pids[-1][0]
    os.kill(supervisor, signal.SIGSTOP)
    try:
        shutil.rmtree(project.root)
        status = project.tocsin("status")
        assert status.returncode == 1, status.stdout
        assert "its state files do not name" in status.stdout and "prometheus (pid" in status.stdout
        down = project.tocsin("down", "--timeout", "5")
        assert down.returncode == 0, _clean(down)
        assert f"supervisor ({supervisor})" in down.stdout
    finally:
        if alive(*pids[-1]):
            os.kill(supervisor, signal.SIGCONT)
    assert not [p for p in pids if alive(*p)]
    assert project.leftovers() == []


def test_two_concurrent_up_detach_one_wins_the_other_touches_nothing(project: Project) -> None:
    argv = [sys.executable, "-m", "tocsin", "up", "--detach"]
    both = [
        subprocess.Popen(argv, cwd=project.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in both]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, _, err in results if code == 2)
    assert "tocsin: a stack is already running from" in loser and "Traceback" not in loser
    # the winner's state is whole: every pid file names a live process of its stack
    state_pids = {pid for pid, _ in project.pids()}
    pid_files = sorted((project.root / "run").glob("*.pid"))
    assert len(pid_files) == len(state_pids) == 6
    for pid in state_pids:
        assert alive(pid, next(ct for p, ct in project.pids() if p == pid))
    assert project.tocsin("status").returncode == 0
    assert project.tocsin("down").returncode == 0
    assert project.leftovers() == []


def test_a_sigstopped_prometheus_is_detected_and_restarted(project: Project) -> None:
    assert project.tocsin("up", "--detach").returncode == 0
    old = project.pid("prometheus")
    os.kill(old, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        status = project.tocsin("status", timeout=60)
        assert status.returncode == 1, status.stdout
        row = next(line for line in status.stdout.splitlines() if line.startswith("prometheus"))
        assert "stopped (SIGSTOP)" in row, status.stdout
        wait_for(
            lambda: project.state["components"]["prometheus"]["pid"] not in (None, old),  # type: ignore[index]
            timeout=RESTART_BUDGET,
            interval=0.2,
            what="prometheus restarted",
        )
        restarted = time.monotonic() - stopped
        wait_for(lambda: _answers(f"{project.url('prometheus')}/-/ready"), timeout=30, what="ready again")
    finally:
        if psutil_alive(old):
            os.kill(old, signal.SIGCONT)
    print(f"SIGSTOPped prometheus restarted after {restarted:.1f}s")
    assert project.state["components"]["prometheus"]["restarts"] == 1  # type: ignore[index]
    assert "liveness probes failed" in (project.root / "logs" / "prometheus.log").read_text()
    wait_for(lambda: project.tocsin("status").returncode == 0, timeout=30, what="status all up")
    assert not psutil_alive(old)


def psutil_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_kill9_of_the_supervisor_leaves_no_lock_and_up_clears_a_stopped_orphan(project: Project) -> None:
    """kill -9: the kernel drops the lock; parent-death SIGTERMs the components, but a SIGSTOPped one
    cannot act on it: the next `up` finds that orphan by its marker and stops it before starting."""
    assert project.tocsin("up", "--detach").returncode == 0
    pids = project.pids()
    prometheus = project.pid("prometheus")
    os.kill(prometheus, signal.SIGSTOP)
    os.kill(pids[-1][0], signal.SIGKILL)
    others = [p for p in pids if p[0] != prometheus]
    wait_for(lambda: not [p for p in others if alive(*p)], timeout=20, what="components stopped")
    assert psutil_alive(prometheus)  # stopped, SIGTERM pending, holding its port
    up = project.tocsin("up", "--detach")
    assert up.returncode == 0, _clean(up)
    assert "left over from an earlier stack" in up.stdout and f"pid {prometheus}" in up.stdout
    assert not psutil_alive(prometheus)
    assert project.tocsin("status").returncode == 0
    assert project.tocsin("down").returncode == 0
    assert project.leftovers() == []


# --- a state dir on a file system we control -----------------------------------------------------------


@contextmanager
def _tmpfs(where: Path, *options: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_read_only_state_dir_is_one_clear_line(tmp_path: Path) -> None:
    proj = new_project(tmp_path, state_dir="ro/state")
    with _tmpfs(tmp_path / "ro", "ro", "size=1m"):
        up = proj.tocsin("up", "--detach")
        assert up.returncode == 2, up.stdout
        assert f"tocsin: cannot use the state dir {proj.root}: Read-only file system (mount it" in _clean(up)
        status = proj.tocsin("status")
        assert status.returncode == 3 and not status.stderr
        assert proj.tocsin("down").returncode == 0
        assert proj.leftovers() == []


def test_full_disk_before_up_and_while_running(tmp_path: Path) -> None:
    proj = new_project(tmp_path, state_dir="disk/state")
    with _tmpfs(tmp_path / "disk", "size=64m") as disk:
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True, check=False)
        up = proj.tocsin("up", "--detach")
        assert up.returncode == 2, up.stdout
        assert f"tocsin: cannot write to {proj.root}: No space left on device (the disk is full" in _clean(up)
        assert proj.leftovers() == []

        filler.unlink()
        assert proj.tocsin("up", "--detach").returncode == 0
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True, check=False)
        status = proj.tocsin("status")
        _clean(status)
        assert status.returncode in (0, 1)
        down = proj.tocsin("down")
        assert down.returncode == 0, _clean(down)
        assert proj.leftovers() == []
