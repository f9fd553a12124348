"""``tocsin logs`` finds the store the way every stack command finds its state, and ``--follow``s it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.conftest import wait_for

from tocsin.logwatch import LogStore

SPEC = "version: tocsin/v1\napp: logs-test\nstack: {state_dir: var/stack}\n"


def _tocsin(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def _store(path: Path, *messages: str, level: str = "ERROR") -> None:
    store = LogStore(path)
    now = time.time()
    store.add((now, level, "app", "app.log", "g1", i + int(now * 1000), m) for i, m in enumerate(messages))
    store.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "tocsin.yaml").write_text(SPEC)
    return tmp_path


def test_the_specs_state_dir_is_where_the_store_is(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _store(project / "var" / "stack" / "logwatch" / "logs.db", "disk full on /data")
    here = _tocsin(project, "logs")
    assert here.returncode == 0, here.stderr
    assert "ERROR    app: disk full on /data" in here.stdout
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    by_spec = _tocsin(elsewhere, "logs", str(project / "tocsin.yaml"), "--level", "ERROR")
    assert by_spec.returncode == 0 and "disk full" in by_spec.stdout, by_spec.stderr
    by_dir = _tocsin(elsewhere, "logs", "--state-dir", str(project / "var" / "stack"))
    assert by_dir.returncode == 0 and "disk full" in by_dir.stdout, by_dir.stderr
    nothing = _tocsin(elsewhere, "logs")
    assert nothing.returncode == 2
    assert f"{elsewhere / '.tocsin' / 'logwatch' / 'logs.db'}: no log store here yet" in nothing.stderr


def test_the_specs_store_path_wins_and_a_broken_spec_still_finds_its_state_dir(project: Path) -> None:
    spec = project / "tocsin.yaml"
    spec.write_text(SPEC + "logs:\n  files: [{path: app.log}]\n  store: {path: kept/lines.db}\n")
    _store(project / "kept" / "lines.db", "from the spec's store.path")
    assert "from the spec's store.path" in _tocsin(project, "logs").stdout
    spec.write_text(SPEC + "alerts: [{name: Broken, expr: 'up{'}]\n")
    _store(project / "var" / "stack" / "logwatch" / "logs.db", "found although the spec is broken")
    broken = _tocsin(project, "logs")
    assert broken.returncode == 0 and "found although the spec is broken" in broken.stdout, broken.stderr


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    return lines


def _next(lines: queue.Queue[str], timeout: float = 20) -> str:
    return lines.get(timeout=timeout)


def test_follow_prints_each_new_line_once_and_waits_for_a_store_to_appear(project: Path) -> None:
    db = project / "var" / "stack" / "logwatch" / "logs.db"
    argv = [sys.executable, "-m", "tocsin", "logs", "--follow", "--level", "WARNING"]
    with subprocess.Popen(
        argv, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            lines = _lines(proc)
            assert proc.stderr is not None
            assert "waiting for" in proc.stderr.readline()
            _store(db, "first")
            assert _next(lines).endswith("app: first\n")
            _store(db, "second", "third")
            _store(db, "quiet", level="INFO")  # below --level: never printed
            _store(db, "fourth")
            assert [_next(lines).rsplit(": ", 1)[1] for _ in range(3)] == ["second\n", "third\n", "fourth\n"]
            time.sleep(1.5)  # three more polls: nothing is printed twice
            assert lines.empty()
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=10)
    assert code == 130  # Ctrl-C, as `tail -f`


def test_follow_continues_into_a_store_the_watcher_replaced(project: Path) -> None:
    """A damaged store is moved aside by the watcher, which starts a new one: follow reads that one."""
    db = project / "var" / "stack" / "logwatch" / "logs.db"
    _store(db, "old store")
    argv = [sys.executable, "-m", "tocsin", "logs", "--follow"]
    with subprocess.Popen(
        argv, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            lines = _lines(proc)
            assert _next(lines).endswith("old store\n")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").rename(f"{db}.damaged{suffix}") if Path(
                    f"{db}{suffix}"
                ).exists() else None
            _store(db, "new store")
            wait_for(lambda: not lines.empty(), timeout=20, what="a line from the new store")
            assert _next(lines).endswith("new store\n")
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(timeout=10)
