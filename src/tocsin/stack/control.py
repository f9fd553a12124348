"""What ``tocsin up / reload / down`` do, as functions (the CLI only parses and prints).

``up`` checks everything it can before anything starts (config checked by promtool/amtool, binaries,
free ports), so a mistake is one ``tocsin: ...`` line and exit 2, never half a stack.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tocsin.errors import StackError
from tocsin.stack.components import Component, StackLayout, ensure_ports_free, read_plan, write_plan
from tocsin.stack.config import Checker, activate, stage_bundle
from tocsin.stack.logs import tail
from tocsin.stack.state import ProcessRef, read_state, refs_from_pid_files, refs_from_state, stop_processes
from tocsin.stack.supervisor import Supervisor

__all__ = ["down", "ensure_not_running", "reload", "running_processes", "start"]


def running_processes(layout: StackLayout) -> list[ProcessRef]:
    """Processes of a stack in this state dir that are still alive (from state and pid files)."""
    state = read_state(layout) or {}
    refs = {(r.pid, r.create_time): r for r in refs_from_state(state) + refs_from_pid_files(layout)}
    return [r for r in refs.values() if r.process() is not None]


def ensure_not_running(layout: StackLayout) -> None:
    """StackError if a stack from this state dir still has a live process (also an orphaned component)."""
    alive = running_processes(layout)
    if alive:
        names = ", ".join(f"{r.name} (pid {r.pid})" for r in alive)
        raise StackError(f"a stack is already running from {layout.root}: {names} (run `tocsin down` first)")


def start(
    layout: StackLayout,
    components: list[Component],
    options: Mapping[str, Any],
    *,
    detach: bool = False,
    on_ready: Callable[[Supervisor], None] | None = None,
    ready_timeout: float = 30.0,
) -> None:
    """Run the stack in the foreground until SIGINT/SIGTERM, or hand it to a daemon and return when ready."""
    ensure_not_running(layout)
    ensure_ports_free(components)
    write_plan(layout, components, dict(options))
    if not detach:
        Supervisor(components, layout, dict(options)).serve(on_ready=on_ready, ready_timeout=ready_timeout)
        return
    layout.state_file.unlink(missing_ok=True)
    layout.logs.mkdir(parents=True, exist_ok=True)
    log_path = layout.log("supervisor")
    with log_path.open("ab") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "tocsin.stack.supervisor", "--state-dir", str(layout.root)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # survives the terminal; Ctrl-C there does not reach it
        )
    deadline = time.monotonic() + ready_timeout + 5
    while time.monotonic() < deadline:
        state = read_state(layout) or {}
        if state.get("status") == "ready":
            return
        if state.get("status") == "failed" or daemon.poll() is not None:
            daemon.wait(timeout=15)
            raise StackError(
                state.get("error") or f"the supervisor exited; see {log_path}:\n{tail(log_path)}"
            )
        time.sleep(0.02)
    raise StackError(f"the stack was not ready after {ready_timeout:.0f}s (see {layout.logs})")


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
    """Stop the supervisor (which stops its children), then anything of the stack still alive.

    Returns the processes that were running; a StackError if any survived SIGKILL.
    """
    state = read_state(layout) or {}
    alive = running_processes(layout)
    supervisor = [r for r in refs_from_state(state) if r.name == "supervisor"]
    stop_processes(supervisor, timeout=timeout + 5)
    stop_processes(running_processes(layout), timeout=timeout)
    for path in layout.run.glob("*.pid") if layout.run.exists() else ():
        path.unlink(missing_ok=True)
    left = running_processes(layout)
    if left:
        raise StackError("still running after SIGKILL: " + ", ".join(f"{r.name} (pid {r.pid})" for r in left))
    return alive
