"""The stack's state files: ``run/state.json`` and one pid file per process.

``status`` and ``down`` work from these files alone, also when the supervisor itself died. A pid is only
trusted together with its process start time, so a recycled pid never gets a signal meant for the stack.
"""

from __future__ import annotations

import json
import os
import signal
import typing
from pathlib import Path
from typing import Any

from tocsin.stack.components import StackLayout

if typing.TYPE_CHECKING:
    import psutil

__all__ = [
    "ProcessRef",
    "read_state",
    "refs_from_pid_files",
    "refs_from_state",
    "stop_processes",
    "write_json_atomic",
]


def write_json_atomic(path: Path, payload: Any) -> None:
    """temp + rename: a reader never sees half a file, even if we are killed mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
    tmp.replace(path)


def read_state(layout: StackLayout) -> dict[str, Any] | None:
    try:
        return json.loads(layout.state_file.read_text())  # type: ignore[no-any-return]
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _create_time(pid: int) -> float:
    """A process's start time, computed exactly as psutil does on Linux (which ``process()`` compares with).

    Read from /proc by hand because the supervisor, which runs as long as the stack, only needs this
    and psutil would cost it ~1 MB of RSS.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open("/proc/stat", "rb") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
    except FileNotFoundError:
        if os.path.exists("/proc/stat"):
            raise
        import psutil  # no /proc (not Linux): let psutil do it

        try:
            return float(psutil.Process(pid).create_time())
        except psutil.Error as exc:
            raise OSError(str(exc)) from exc
    # fields after "(comm) ": state is field 3, starttime (clock ticks since boot) field 22
    start_ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
    return start_ticks / os.sysconf("SC_CLK_TCK") + btime


class ProcessRef:
    """A pid plus its start time, as written in the state and pid files."""

    def __init__(self, name: str, pid: int, create_time: float) -> None:
        self.name, self.pid, self.create_time = name, pid, create_time

    @classmethod
    def of(cls, name: str, pid: int) -> ProcessRef:
        try:
            return cls(name, pid, _create_time(pid))
        except (OSError, ValueError, IndexError):
            return cls(name, pid, 0.0)

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "create_time": self.create_time}

    def process(self) -> psutil.Process | None:
        """The live process, or None if it exited or the pid now belongs to someone else."""
        import psutil

        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 0.5 or proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None

    def write_pid_file(self, layout: StackLayout) -> None:
        write_json_atomic(layout.pid_file(self.name), self.to_json())


def refs_from_state(state: dict[str, Any]) -> list[ProcessRef]:
    """Every process the state names: the supervisor first, then the components."""
    refs = []
    sup = state.get("supervisor")
    if sup:
        refs.append(ProcessRef("supervisor", sup["pid"], sup["create_time"]))
    for name, comp in state.get("components", {}).items():
        if comp.get("pid"):
            refs.append(ProcessRef(name, comp["pid"], comp["create_time"]))
    return refs


def refs_from_pid_files(layout: StackLayout) -> list[ProcessRef]:
    refs = []
    for path in sorted(layout.run.glob("*.pid")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        refs.append(ProcessRef(path.stem, data["pid"], data["create_time"]))
    return refs


def stop_processes(refs: list[ProcessRef], timeout: float = 10.0) -> list[ProcessRef]:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; returns the refs that were still alive at the start."""
    import psutil

    procs = [(ref, proc) for ref in refs if (proc := ref.process()) is not None]
    for _, proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    _, left = psutil.wait_procs([p for _, p in procs], timeout=timeout)
    for proc in left:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=5)
    return [ref for ref, _ in procs]
