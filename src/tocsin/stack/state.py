"""The stack's state files (``run/state.json``, one pid file per process) and finding its processes.

``status`` and ``down`` work from these files, also when the supervisor itself died. A pid is only
trusted together with its process start time, so a recycled pid never gets a signal meant for the stack.

When the files are gone too (``rm -rf .tocsin`` under a running stack), the processes are still found:
the supervisor starts each one with ``TOCSIN_STATE_DIR=<state dir>`` in its environment
(:data:`MARKER`), which ``/proc/<pid>/environ`` shows to the same user for as long as it runs.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import typing
from pathlib import Path
from typing import Any

from tocsin.stack.layout import StackLayout

if typing.TYPE_CHECKING:
    import psutil

__all__ = [
    "MARKER",
    "NAME_MARKER",
    "ProcessRef",
    "explain_os_error",
    "marked_processes",
    "process_state",
    "read_state",
    "refs_from_pid_files",
    "refs_from_state",
    "stop_processes",
    "write_json_atomic",
]

#: environment variable naming the state dir of the stack a process belongs to
MARKER = "TOCSIN_STATE_DIR"
#: and the name of the process in that stack (``prometheus``, ``supervisor``, ...)
NAME_MARKER = "TOCSIN_COMPONENT"

_MOVE = "the state dir (stack.state_dir, or --state-dir)"
_HINTS = {
    errno.ENOSPC: f"the disk is full: free some space, or move {_MOVE} to another disk",
    errno.EDQUOT: f"the disk quota is used up: free some space, or move {_MOVE}",
    errno.EROFS: f"mount it read-write, or move {_MOVE}",
    errno.EACCES: f"fix its permissions, or move {_MOVE}",
    errno.EPERM: f"fix its permissions, or move {_MOVE}",
    errno.ENOTDIR: f"a file stands where a directory should be: move it away, or move {_MOVE}",
    errno.EEXIST: f"a file stands where a directory should be: move it away, or move {_MOVE}",
    errno.ENOENT: "it vanished while tocsin used it",
}


def explain_os_error(exc: OSError, doing: str = "") -> str:
    """``<doing>: <path>: <strerror> (<what to do>)`` for an OSError met while using the state dir."""
    parts = [doing] if doing else []
    if exc.filename is not None and str(exc.filename) not in doing:
        parts.append(str(exc.filename))
    parts.append(exc.strerror or str(exc))
    hint = _HINTS.get(exc.errno or 0, "")
    return ": ".join(parts) + (f" ({hint})" if hint else "")


def write_json_atomic(path: Path, payload: Any, mode: int = 0o644, *, parents: bool = True) -> None:
    """temp + fsync + rename: a reader never sees half a file, even if we are killed or the disk fills.

    A short write (disk full) raises before the rename, so the previous file stays whole. With
    ``parents=False`` a missing directory is an error rather than created (the supervisor must not
    bring back a state dir someone is deleting).
    """
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = json.dumps(payload, indent=2, sort_keys=True).encode()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_state(layout: StackLayout) -> dict[str, Any] | None:
    try:
        data = json.loads(layout.state_file.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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


def process_state(pid: int) -> str:
    """The kernel's one-letter state of a process (``R``, ``S``, ``T`` when SIGSTOPped, ``Z``), or ''."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return ""
    return stat[stat.rindex(b")") + 2 :][:1].decode()


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

    @classmethod
    def from_json(cls, name: str, data: Any) -> ProcessRef | None:
        """From a pid file or state entry; None when it is not one (a half-written or foreign file)."""
        try:
            return cls(name, int(data["pid"]), float(data["create_time"]))
        except (TypeError, KeyError, ValueError):
            return None

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

    def write_pid_file(self, layout: StackLayout, *, parents: bool = True) -> None:
        write_json_atomic(layout.pid_file(self.name), self.to_json(), parents=parents)

    def __repr__(self) -> str:
        return f"ProcessRef({self.name!r}, {self.pid})"


def refs_from_state(state: dict[str, Any]) -> list[ProcessRef]:
    """Every process the state names: the supervisor first, then the components."""
    refs = []
    if (sup := ProcessRef.from_json("supervisor", state.get("supervisor"))) is not None:
        refs.append(sup)
    components = state.get("components")
    for name, comp in components.items() if isinstance(components, dict) else ():
        if isinstance(comp, dict) and comp.get("pid") and (ref := ProcessRef.from_json(name, comp)):
            refs.append(ref)
    return refs


def refs_from_pid_files(layout: StackLayout) -> list[ProcessRef]:
    refs = []
    try:
        paths = sorted(layout.run.glob("*.pid"))
    except OSError:
        return []
    for path in paths:
        try:
            ref = ProcessRef.from_json(path.stem, json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
        if ref is not None:
            refs.append(ref)
    return refs


def marked_processes(root: Path) -> list[ProcessRef]:
    """Live processes started for the stack of ``root`` (their environment names it), supervisors first.

    The parent of a marked process is its supervisor, also when it carries no marker itself (a
    foreground ``tocsin up`` was started by the user, not by tocsin).
    """
    import psutil

    wanted = str(root)
    found: dict[int, ProcessRef] = {}
    parents: set[int] = set()
    for proc in psutil.process_iter(["ppid", "create_time"]):
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if env.get(MARKER) != wanted or proc.pid == os.getpid():
            continue
        found[proc.pid] = ProcessRef(env.get(NAME_MARKER, str(proc.pid)), proc.pid, proc.info["create_time"])
        parents.add(proc.info["ppid"])
    for ppid in parents - set(found) - {0, 1, os.getpid()}:
        try:
            found[ppid] = ProcessRef("supervisor", ppid, psutil.Process(ppid).create_time())
        except psutil.Error:
            continue
    return sorted(found.values(), key=lambda r: (r.name != "supervisor", r.pid))


def stop_processes(refs: list[ProcessRef], timeout: float = 10.0) -> list[ProcessRef]:
    """SIGTERM (and SIGCONT, so a stopped one handles it), wait up to ``timeout``, then SIGKILL.

    Returns the refs that were still alive at the start.
    """
    import psutil

    procs = [(ref, proc) for ref in refs if (proc := ref.process()) is not None]
    for _, proc in procs:
        for sig in (signal.SIGTERM, signal.SIGCONT):
            try:
                proc.send_signal(sig)
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
