"""Compaction: fold a dead process's files into one archive per type, so scrape cost stays flat.

prometheus_client's ``mark_process_dead`` only removes ``live*`` gauge files;
the counter and histogram files of every dead worker stay and are re-read on
every scrape (client_python #568). Here a dead process's values are added into
``<type>_archive.db``: the totals are unchanged, the file count is not.

How each kind folds (the same result prometheus_client's collector gives when
it reads the dead file itself):

==========================================  ===========================================
counter, histogram, summary, gauge ``sum``  added to the archive
gauge ``max`` / ``min``                     the larger / smaller value is kept
gauge ``mostrecent``                        the value with the later timestamp is kept
gauge ``live*``                             removed (the process is not live any more)
gauge ``all``                               left as it is: its series carry the pid
==========================================  ===========================================
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from ._files import ARCHIVE, TMP_SUFFIX, directory_lock, process_files, resolve_directory, split_name

__all__ = ["compact_dead_processes", "mark_process_dead"]

_Value = tuple[float, float]  # (value, timestamp)
_Fold = Callable[[_Value, _Value], _Value]


def _add(old: _Value, new: _Value) -> _Value:
    return (old[0] + new[0], max(old[1], new[1]))


def _larger(old: _Value, new: _Value) -> _Value:
    return new if new[0] > old[0] else old


def _smaller(old: _Value, new: _Value) -> _Value:
    return new if new[0] < old[0] else old


def _later(old: _Value, new: _Value) -> _Value:
    return new if new[1] > old[1] else old


_GAUGE_FOLDS: dict[str, _Fold] = {
    "sum": _add,
    "max": _larger,
    "min": _smaller,
    "mostrecent": _later,
}


_KEEP = "keep"  # gauge ``all``: its series are labelled with the pid, so the file stays
_DELETE = "delete"  # gauge ``live*``: what prometheus_client's mark_process_dead does


def _fold_rule(prefix: str) -> _Fold | str:
    """How a dead process's file with this prefix is handled: a fold function, or keep/delete."""
    if not prefix.startswith("gauge_"):
        return _add  # counter, histogram, summary: raw per-process values, additive
    mode = prefix[len("gauge_") :]
    if mode.startswith("live"):
        return _DELETE
    return _GAUGE_FOLDS.get(mode, _KEEP)


def _read(path: Path) -> dict[str, _Value]:
    from prometheus_client.mmap_dict import MmapedDict

    values: dict[str, _Value] = {}
    for key, value, timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):  # type: ignore[no-untyped-call]
        values[key] = (value, timestamp)
    return values


def _write_atomically(path: Path, values: dict[str, _Value]) -> None:
    """Write an mmap dict next to ``path`` and rename it over ``path`` (readers see old or new, whole)."""
    from prometheus_client.mmap_dict import MmapedDict

    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    tmp.unlink(missing_ok=True)
    table = MmapedDict(str(tmp))  # type: ignore[no-untyped-call]
    try:
        for key, (value, timestamp) in values.items():
            table.write_value(key, value, timestamp)  # type: ignore[no-untyped-call]
    finally:
        table.close()  # type: ignore[no-untyped-call]
    # No fsync: the directory is wiped when the master starts, so nothing needs to survive a power cut.
    os.replace(tmp, path)


def _fold_file(path: Path, prefix: str, fold: _Fold) -> None:
    archive = path.with_name(f"{prefix}_{ARCHIVE}.db")
    try:
        merged = _read(archive)
    except FileNotFoundError:
        merged = {}
    for key, value in _read(path).items():
        old = merged.get(key)
        merged[key] = value if old is None else fold(old, value)
    _write_atomically(archive, merged)


def mark_process_dead(pid: int, path: str | os.PathLike[str] | None = None) -> int:
    """Fold the files of the dead process ``pid`` into the archives; returns how many files went away.

    Call it only once ``pid`` has exited (gunicorn's ``child_exit`` hook does):
    a live process would keep writing to a file that is no longer read.
    Safe to call from several processes at once (an exclusive lock orders them)
    and for a pid that left no files.
    """
    directory = resolve_directory(path)
    removed = 0
    with directory_lock(directory, shared=False):
        for file in sorted(process_files(directory).get(pid, [])):
            parts = split_name(file.name)
            assert parts is not None
            rule = _fold_rule(parts[0])
            if rule == _KEEP:
                continue
            if not isinstance(rule, str):
                _fold_file(file, parts[0], rule)
            file.unlink(missing_ok=True)
            removed += 1
    return removed


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno != errno.ESRCH  # EPERM: it exists, owned by someone else
    return True


def compact_dead_processes(path: str | os.PathLike[str] | None = None) -> list[int]:
    """Fold the files of every process that no longer exists; returns their pids.

    For servers without a ``child_exit`` hook (``uvicorn --workers``): call it
    from a timer or before scrapes. It decides liveness with ``kill(pid, 0)``,
    so every writer must share this pid namespace (not for a directory shared
    between containers).
    """
    directory = resolve_directory(path)
    dead = [pid for pid in sorted(process_files(directory)) if pid != os.getpid() and not _is_alive(pid)]
    for pid in dead:
        mark_process_dead(pid, directory)
    return dead
