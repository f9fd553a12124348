"""The supervisor's defences, in-process with small real components (and a real Prometheus for the port
race): liveness, the state dir lock, a vanished or gutted state dir, a process that ignores SIGTERM, a
port taken between the check and the bind, logs on a full disk."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from tests.conftest import free_port, wait_for

from tocsin.errors import StackError
from tocsin.stack import Component, Liveness, StackLayout, StateLock, Supervisor
from tocsin.stack import supervisor as supervisor_module
from tocsin.stack.components import find_binary
from tocsin.stack.config import install_bundle
from tocsin.stack.logs import RotatingFile
from tocsin.stack.state import explain_os_error, marked_processes, read_state

STAND_IN = Path(__file__).with_name("_component.py")
FAST = Liveness(period=0.2, timeout=0.5, failures=2, grace=10.0, stop_grace=0.5)


def _stand_in(name: str, *flags: str) -> Component:
    port = free_port()
    argv = (sys.executable, str(STAND_IN), str(port), *flags)
    return Component(name, "test", argv, port, ready_path="/", health_path="/")


def _pid(layout: StackLayout, name: str) -> int | None:
    state = read_state(layout) or {}
    return (state.get("components") or {}).get(name, {}).get("pid")  # type: ignore[no-any-return]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


@contextmanager
def _serving(supervisor: Supervisor) -> Iterator[list[BaseException]]:
    """serve() in a thread until the block ends; yields the list its exception (if any) lands in."""
    ready, stop, errors = threading.Event(), threading.Event(), []

    def run() -> None:
        try:
            supervisor.serve(on_ready=lambda _: ready.set(), stop=stop, ready_timeout=20)
        except BaseException as exc:
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert ready.wait(30), "not ready"
        yield errors
    finally:
        stop.set()
        thread.join(30)


def test_a_sigstopped_component_is_restarted(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    supervisor = Supervisor([_stand_in("web")], layout, liveness=FAST)
    with _serving(supervisor):
        old = wait_for(lambda: _pid(layout, "web"), what="web pid")
        os.kill(old, signal.SIGSTOP)
        wait_for(lambda: _pid(layout, "web") not in (None, old), timeout=15, what="web restarted")
        assert (read_state(layout) or {})["components"]["web"]["restarts"] == 1
        assert _gone(old)
    log = layout.log("web").read_text()
    assert "liveness probes failed" in log and "restarting it" in log


def test_a_component_ignoring_sigterm_is_killed_at_stop(tmp_path: Path) -> None:
    supervisor = Supervisor([_stand_in("stubborn", "--ignore-sigterm")], StackLayout(tmp_path))
    supervisor.start()
    supervisor.wait_ready(20)
    pid = _pid(supervisor.layout, "stubborn")
    assert pid is not None
    supervisor.stop(timeout=1)
    assert _gone(pid)
    assert "still running 1s after SIGTERM: killed" in supervisor.layout.log("stubborn").read_text()


def test_a_locked_state_dir_is_refused_and_left_alone(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    holder = StateLock.acquire(layout)
    try:
        layout.run.mkdir(parents=True)
        layout.state_file.write_text('{"status": "ready"}')
        web = _stand_in("web")
        with pytest.raises(StackError, match="a stack is already running from") as caught:
            Supervisor([web], layout).serve(ready_timeout=5)
        assert caught.value.exit_code == 2
        assert layout.state_file.read_text() == '{"status": "ready"}'
        with socket.socket() as s:
            s.bind(("127.0.0.1", web.port))  # nothing was started
    finally:
        holder.release()
    StateLock.acquire(layout).release()  # free again once its holder let go


def test_a_removed_state_dir_stops_the_stack(tmp_path: Path) -> None:
    root = tmp_path / "state"
    supervisor = Supervisor([_stand_in("web")], StackLayout(root))
    with _serving(supervisor) as errors:
        pid = wait_for(lambda: _pid(supervisor.layout, "web"), what="web pid")
        _rm_rf(root)
        wait_for(lambda: errors, timeout=15, what="the supervisor to stop")
    assert isinstance(errors[0], StackError)
    assert "the state dir was removed while the stack ran" in str(errors[0])
    assert _gone(pid)
    assert not root.exists()  # and nothing written back into the void


def _rm_rf(path: Path) -> None:
    """As a user would: `rm -rf`, once more if a process wrote into the tree while it was deleted."""
    for _ in range(3):
        if subprocess.run(["rm", "-rf", str(path)], capture_output=True).returncode == 0:
            return
    raise AssertionError(f"rm -rf {path} kept failing")


def test_a_deleted_config_dir_stops_the_stack_too(tmp_path: Path) -> None:
    """An `rm -rf` the supervisor loses the race to (someone wrote in the tree, the root survived)."""
    layout = StackLayout(tmp_path)
    install_bundle(layout, {"web/web.yml": "{}\n"})
    supervisor = Supervisor([_stand_in("web")], layout)
    with _serving(supervisor) as errors:
        pid = wait_for(lambda: _pid(layout, "web"), what="web pid")
        _rm_rf(layout.config_root)
        wait_for(lambda: errors, timeout=15, what="the supervisor to stop")
    assert "the state dir was removed" in str(errors[0]) and _gone(pid)


def test_a_deleted_run_dir_is_written_back(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    with _serving(Supervisor([_stand_in("web")], layout)):
        pid = wait_for(lambda: _pid(layout, "web"), what="web pid")
        shutil.rmtree(layout.run)
        wait_for(lambda: layout.pid_file("web").is_file(), timeout=10, what="run/ written back")
        assert _pid(layout, "web") == pid
        assert layout.pid_file("supervisor").is_file()


@pytest.mark.integration
def test_a_port_taken_between_the_check_and_the_bind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race no check can close: the message names the port, and nothing is left running."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1s}\n")
    argv = (
        find_binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    )
    web = _stand_in("web")
    grabbed = socket.socket()
    real_check = supervisor_module.ensure_ports_free

    def check_then_grab(components: list[Component]) -> None:
        real_check(components)
        grabbed.bind(("127.0.0.1", port))
        grabbed.listen()

    monkeypatch.setattr(supervisor_module, "ensure_ports_free", check_then_grab)
    layout = StackLayout(tmp_path / "state")
    with grabbed, pytest.raises(StackError) as caught:
        Supervisor([web, Component("prometheus", "prometheus", argv, port)], layout).serve(ready_timeout=20)
    message = str(caught.value)
    assert message.startswith(f"port already in use: 127.0.0.1:{port} (prometheus) held by pid {os.getpid()}")
    assert "taken after tocsin checked it" in message
    assert marked_processes(layout.root) == []


def test_logs_on_a_full_disk_are_counted_not_raised(tmp_path: Path) -> None:
    full = tmp_path / "full.log"
    full.symlink_to("/dev/full")  # every write: ENOSPC
    log = RotatingFile(full)
    log.write(b"a line\n")
    log.write(b"another\n")
    assert log.lost == 15 and "No space left on device" in log.lost_because
    log.close()


def test_os_errors_say_what_to_do() -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    assert explain_os_error(full, "cannot write to /s") == (
        "cannot write to /s: No space left on device (the disk is full: free some space, "
        "or move the state dir (stack.state_dir, or --state-dir) to another disk)"
    )
    denied = PermissionError(errno.EACCES, "Permission denied", "/s/run/x.pid")
    assert explain_os_error(denied).startswith("/s/run/x.pid: Permission denied (fix its permissions")


def test_the_supervisors_http_calls_load_no_http_library() -> None:
    """Its probes are stdlib sockets: no httpx, ssl (libcrypto ~5 MB) or email, nor psutil or sqlite3."""
    code = (
        "import sys\n"
        "from tocsin.stack._http import request, HTTPFailure\n"
        "import tocsin.stack.supervisor\n"
        "try:\n    request('GET', 'http://127.0.0.1:9/')\nexcept HTTPFailure:\n    pass\n"
        "unwanted = ('httpx', 'ssl', 'email', 'rich', 'click', 'psutil', 'sqlite3', 'pydantic')\n"
        "print(sorted(m for m in unwanted if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_bug_in_the_supervisor_stops_the_stack_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = StackLayout(tmp_path)
    supervisor = Supervisor([_stand_in("web")], layout)
    with _serving(supervisor) as errors:
        pid = wait_for(lambda: _pid(layout, "web"), what="web pid")

        def boom(*_: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(supervisor, "_watch", boom)
        wait_for(lambda: errors, timeout=15, what="the supervisor to stop")
    assert str(errors[0]).startswith("the supervisor failed: RuntimeError: boom (traceback in ")
    assert _gone(pid)
    state = read_state(layout) or {}
    assert state["status"] == "failed" and "RuntimeError: boom" in state["error"]
    assert "Traceback (most recent call last)" in layout.log("supervisor").read_text()
