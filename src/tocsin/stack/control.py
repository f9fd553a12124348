"""What ``tocsin up / reload / down`` do, as functions (the CLI only parses and prints).

``up`` locks the state dir first (a second ``up`` on it is refused and changes nothing), then checks
everything it can before anything starts (binaries, free ports, the config checked by promtool/amtool),
so a mistake is one ``tocsin: ...`` line and exit 2, never half a stack. Whatever goes wrong after the
first process started, every process it started is stopped again before it returns.

A stack's processes are found three ways, so ``down`` and ``status`` see them whatever was lost: the state
file, the pid files, and the ``TOCSIN_STATE_DIR`` marker in each process's environment (which survives an
``rm -rf`` of the state dir).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tocsin.errors import StackError
from tocsin.stack._portcheck import ensure_ports_free
from tocsin.stack.components import Component, StackLayout, read_plan, write_plan
from tocsin.stack.config import Checker, activate, install_bundle, stage_bundle
from tocsin.stack.lock import StateLock
from tocsin.stack.logs import tail
from tocsin.stack.state import (
    MARKER,
    NAME_MARKER,
    ProcessRef,
    explain_os_error,
    marked_processes,
    read_state,
    refs_from_pid_files,
    refs_from_state,
    stop_processes,
)
from tocsin.stack.supervisor import Supervisor

__all__ = ["down", "reload", "running_processes", "up"]


def running_processes(layout: StackLayout) -> list[ProcessRef]:
    """Live processes of the stack in this state dir, supervisors first (state, pid files, markers)."""
    state = read_state(layout) or {}
    refs: dict[tuple[int, float], ProcessRef] = {}
    for ref in refs_from_state(state) + refs_from_pid_files(layout) + marked_processes(layout.root):
        key = (ref.pid, round(ref.create_time, 1))
        if key not in refs and ref.process() is not None:
            refs[key] = ref
    return sorted(refs.values(), key=lambda r: r.name != "supervisor")


def _names(refs: list[ProcessRef]) -> str:
    return ", ".join(f"{r.name} (pid {r.pid})" for r in refs)


def up(
    layout: StackLayout,
    components: list[Component],
    files: Mapping[str, str],
    check: Checker | None,
    options: Mapping[str, Any],
    *,
    detach: bool = False,
    on_ready: Callable[[Supervisor], None] | None = None,
    on_leftovers: Callable[[list[ProcessRef]], None] | None = None,
    prepare: Callable[[], None] | None = None,
    ready_timeout: float = 30.0,
) -> None:
    """Lock, clean up after a dead stack, install the config, then run in the foreground or detached.

    Foreground: returns when SIGINT/SIGTERM stopped the stack. Detached: returns once it is ready.
    ``on_leftovers`` hears about processes of an earlier stack of this state dir that were stopped;
    ``prepare`` writes whatever else belongs in the state dir (the secrets), under the lock.
    """
    lock = StateLock.acquire(layout)
    try:
        leftovers = running_processes(layout)  # the lock is ours: whatever lives is an orphan
        if leftovers:
            stop_processes(leftovers, timeout=10)
            if on_leftovers is not None:
                on_leftovers(leftovers)
        ensure_ports_free(components)
        try:
            for stale in refs_from_pid_files(layout):
                layout.pid_file(stale.name).unlink(missing_ok=True)
            layout.state_file.unlink(missing_ok=True)
            if prepare is not None:
                prepare()
            install_bundle(layout, files, check)
            write_plan(layout, components, dict(options))
            ProcessRef.of("supervisor", os.getpid()).write_pid_file(layout)  # who holds the lock, for now
        except OSError as exc:
            raise StackError(explain_os_error(exc, f"cannot write to {layout.root}")) from None
        if detach:
            _detach(layout, lock, ready_timeout)
        else:
            supervisor = Supervisor(components, layout, dict(options), lock=lock)
            supervisor.serve(on_ready=on_ready, ready_timeout=ready_timeout)
    finally:
        lock.release()  # detached: the supervisor holds its own copy of the descriptor


def _detach(layout: StackLayout, lock: StateLock, ready_timeout: float) -> None:
    """Hand the stack (and the lock) to a background supervisor; return once it is ready.

    If it fails, or is not ready in time, or we are interrupted, it is stopped: nothing is left behind.
    """
    log_path = layout.log("supervisor")
    try:
        layout.logs.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
    except OSError as exc:
        raise StackError(explain_os_error(exc, f"cannot write to {layout.root}")) from None
    env = {**os.environ, MARKER: str(layout.root), NAME_MARKER: "supervisor"}
    argv = [
        sys.executable,
        "-m",
        "tocsin.stack.supervisor",
        f"--state-dir={layout.root}",
        f"--lock-fd={lock.fd}",
    ]
    with log:
        daemon = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(lock.fd,),
            start_new_session=True,  # survives the terminal; Ctrl-C there does not reach it
            env=env,
        )
    ref = ProcessRef.of("supervisor", daemon.pid)
    deadline = time.monotonic() + ready_timeout + 5
    try:
        while True:
            state = read_state(layout) or {}
            if state.get("status") == "ready" and state.get("supervisor", {}).get("pid") == daemon.pid:
                return
            if daemon.poll() is not None:
                daemon.wait()
                error = state.get("error") if state.get("status") == "failed" else ""
                raise StackError(error or f"the supervisor exited; see {log_path}:\n{tail(log_path)}")
            if time.monotonic() > deadline:
                raise StackError(f"the stack was not ready after {ready_timeout:.0f}s (see {layout.logs})")
            time.sleep(0.02)
    except BaseException:
        stop_processes([ref], timeout=15)  # it stops its children first
        stop_processes([r for r in running_processes(layout) if r.pid != os.getpid()], timeout=5)
        raise


def reload(layout: StackLayout, files: Mapping[str, str], check: Checker | None) -> list[str]:
    """New config generation, checked, swapped in, then ``POST /-/reload``; rolled back if rejected.

    A bundle failing the check raises before anything running is touched. Returns what was reloaded.
    """
    components, _ = read_plan(layout)
    gen = stage_bundle(layout, files, check)
    previous = activate(layout, gen)
    reloadable = [c for c in components if c.kind in ("prometheus", "alertmanager")]
    failures = _post_reload(reloadable)
    if failures:
        if previous is not None:
            activate(layout, previous)
            _post_reload(reloadable)
        raise StackError("reload rejected, previous config kept: " + "; ".join(failures))
    return [c.name for c in reloadable]


def _post_reload(components: list[Component]) -> list[str]:
    failures = []
    with httpx.Client(timeout=30) as client:
        for c in components:
            try:
                response = client.post(f"{c.url}/-/reload")
            except httpx.HTTPError as exc:
                failures.append(f"{c.name}: {exc}")
                continue
            if response.status_code != 200:
                failures.append(f"{c.name}: HTTP {response.status_code}: {response.text.strip()}")
    return failures


def down(layout: StackLayout, timeout: float = 10.0) -> list[ProcessRef]:
    """Stop the supervisors (which stop their children), then anything of the stack still alive.

    Returns the processes that were running; a StackError if any survived SIGKILL.
    """
    alive = running_processes(layout)
    stop_processes([r for r in alive if r.name == "supervisor"], timeout=timeout + 5)
    stop_processes(running_processes(layout), timeout=timeout)
    for ref in refs_from_pid_files(layout):
        try:
            layout.pid_file(ref.name).unlink(missing_ok=True)
        except OSError:
            pass  # a read-only state dir: the pid files are stale, and checked by start time anyway
    left = running_processes(layout)
    if left:
        raise StackError(f"still running after SIGKILL: {_names(left)}")
    return alive
