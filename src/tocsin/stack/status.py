"""What is running from a state dir, checked rather than believed: ``tocsin status`` (and the console).

A component is "up" only when its process lives *and* answers its liveness URL now (probed here, with a
timeout); a live pid that answers nothing is "not answering", one the kernel has stopped is "stopped
(SIGSTOP)". The supervisor is checked the same way: alive, and its heartbeat (``run/state.json``
touched every second) fresh. Processes of this state dir that no state file names (the files were
deleted under a running stack) are listed as strays.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.stack._http import HTTPFailure, request
from tocsin.stack.layout import StackLayout
from tocsin.stack.state import ProcessRef, marked_processes, process_state, read_state

__all__ = ["HEARTBEAT_STALE", "ComponentStatus", "StackStatus", "stack_status"]

#: a supervisor whose heartbeat is older than this is "not responding" (stopped or hung)
HEARTBEAT_STALE = 10.0


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    kind: str
    url: str
    state: str
    pid: int | None
    uptime: float | None
    restarts: int
    note: str = ""
    #: the component whose process serves this one ('' when it has its own)
    hosted_by: str = ""

    @property
    def up(self) -> bool:
        return self.state == "up"


@dataclass(frozen=True)
class StackStatus:
    root: Path
    #: the supervisor's own word: starting, ready, stopping, stopped, failed ("" when no state file)
    status: str
    #: running, gone, not responding, or '' when no supervisor is recorded
    supervisor: str
    components: list[ComponentStatus] = field(default_factory=list)
    strays: list[ProcessRef] = field(default_factory=list)
    error: str = ""

    @property
    def running(self) -> bool:
        """Anything of this stack is alive."""
        return bool(self.strays) or any(c.pid is not None for c in self.components)

    @property
    def healthy(self) -> bool:
        return self.supervisor == "running" and all(c.up for c in self.components)


def _probe(url: str, timeout: float) -> str:
    """'' when it answers, else why not."""
    try:
        status, _ = request("GET", url, timeout=timeout)
    except HTTPFailure as exc:
        return str(exc.__cause__ or exc)
    return "" if status < 500 else f"HTTP {status}"


def _component(name: str, c: dict[str, Any], now: float, failure: str) -> ComponentStatus:
    ref = ProcessRef.from_json(name, c) if c.get("pid") else None
    alive = ref is not None and ref.process() is not None
    recorded = str(c.get("state", ""))
    note = str(c.get("last_exit") or "")
    if not alive:
        state = "restarting" if recorded == "restarting" else "down"
    elif process_state(ref.pid if ref else 0) == "T":
        state, note = (
            "stopped (SIGSTOP)",
            "restarted soon unless it gets SIGCONT",
        )
    elif failure:
        state, note = "not answering", failure
    else:
        state = "up"
    hosted_by = str(c.get("hosted_by") or "")
    if hosted_by and state == "up":
        note = f"hosted by the {hosted_by} (same process)"
    uptime = now - float(c.get("started_at") or now) if alive else None
    return ComponentStatus(
        name,
        str(c.get("kind", "")),
        str(c.get("url", "")),
        state,
        ref.pid if alive and ref else None,
        uptime,
        int(c.get("restarts") or 0),
        note,
        hosted_by,
    )


def stack_status(layout: StackLayout, probe_timeout: float = 1.0) -> StackStatus | None:
    """The stack of this state dir, or None when none has ever run there and nothing of one lives."""
    state = read_state(layout)
    recorded: set[int] = set()
    components: list[ComponentStatus] = []
    supervisor = ""
    if state is not None:
        entries = {n: c for n, c in (state.get("components") or {}).items() if isinstance(c, dict)}
        urls = {
            n: f"{c.get('url', '')}{c.get('health_path') or c.get('ready_path') or '/'}"
            for n, c in entries.items()
        }
        with ThreadPoolExecutor(max_workers=max(1, len(urls))) as pool:
            failures = dict(
                zip(urls, pool.map(lambda u: _probe(u, probe_timeout), urls.values()), strict=True)
            )
        now = time.time()
        components = [_component(n, c, now, failures[n]) for n, c in entries.items()]
        recorded = {c.pid for c in components if c.pid is not None}
        supervisor = _supervisor_state(layout, state)
    sup = ProcessRef.from_json("supervisor", (state or {}).get("supervisor"))
    if sup is not None:
        recorded.add(sup.pid)
    strays = [r for r in marked_processes(layout.root) if r.pid not in recorded]
    if state is None and not strays:
        return None
    return StackStatus(
        layout.root,
        str((state or {}).get("status", "")),
        supervisor,
        components,
        strays,
        str((state or {}).get("error") or ""),
    )


def _supervisor_state(layout: StackLayout, state: dict[str, Any]) -> str:
    ref = ProcessRef.from_json("supervisor", state.get("supervisor"))
    if ref is None:
        return ""
    if ref.process() is None:
        return "gone"
    if process_state(ref.pid) == "T":
        return "not responding"
    if state.get("status") != "ready":  # the heartbeat starts once the stack is ready
        return "running"
    try:
        age = time.time() - layout.state_file.stat().st_mtime
    except OSError:
        age = 0.0
    return "not responding" if age > HEARTBEAT_STALE else "running"
