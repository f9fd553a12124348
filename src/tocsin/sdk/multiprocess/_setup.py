"""Setting up the multiprocess directory, and the gunicorn hooks.

``gunicorn.conf.py``::

    from tocsin.sdk import multiprocess

    multiprocess.use_directory("/run/myapp/metrics")  # before the app (and prometheus_client) is imported
    on_starting = multiprocess.on_starting            # master start: wipe files of a previous run
    child_exit = multiprocess.child_exit              # a worker died: compact its files

The directory must be set before prometheus_client is first imported, because
prometheus_client chooses between in-memory and file-backed values once, at
import; a worker forked from a master that imported it too early would keep
its values in memory, and its requests would never be counted.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tocsin.errors import ConfigurationError

from ._compact import mark_process_dead
from ._files import ENV_VAR, LOCK_NAME, TMP_SUFFIX, directory_lock, resolve_directory

__all__ = ["child_exit", "clear_directory", "on_starting", "use_directory"]


def _check_value_class() -> None:
    """Fail loudly if prometheus_client was imported before the directory was set."""
    values = sys.modules.get("prometheus_client.values")
    if values is not None and not getattr(values.ValueClass, "_multiprocess", False):
        raise ConfigurationError(
            f"prometheus_client was imported before {ENV_VAR} was set, so its values stay in memory "
            "(call multiprocess.use_directory() at the top of gunicorn.conf.py, or export "
            f"{ENV_VAR} before starting the server)"
        )


def use_directory(path: str | os.PathLike[str] | None = None) -> Path:
    """Use ``path`` (created if needed) as ``PROMETHEUS_MULTIPROC_DIR`` for this process and its children.

    Without ``path``: the directory already in ``$PROMETHEUS_MULTIPROC_DIR``,
    or a new private one under the temp dir. Does not delete anything (see
    :func:`clear_directory`); safe to call again on a config reload.
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or tempfile.mkdtemp(prefix="tocsin-metrics-")
    directory = Path(path).absolute()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ[ENV_VAR] = str(directory)
    _check_value_class()
    return directory


def clear_directory(path: str | os.PathLike[str] | None = None) -> int:
    """Delete the ``*.db`` files (and leftover temp files) of a previous run; returns how many.

    Run it once when the server's master starts, before any worker: counters
    must start from zero with the server, and stale pids would otherwise be
    read forever.
    """
    directory = resolve_directory(path)
    removed = 0
    with directory_lock(directory, shared=False):
        for entry in os.scandir(directory):
            if entry.name != LOCK_NAME and (entry.name.endswith(".db") or entry.name.endswith(TMP_SUFFIX)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def on_starting(server: Any) -> None:
    """gunicorn hook (master, once): set up and wipe the multiprocess directory."""
    directory = use_directory()
    removed = clear_directory(directory)
    log = getattr(server, "log", None)
    if log is not None:
        log.info("tocsin: multiprocess metrics in %s (%d stale files removed)", directory, removed)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook (master, per dead worker): fold the worker's files into the archives.

    Never raises: a failing hook must not take the master down with it.
    """
    try:
        mark_process_dead(int(worker.pid))
    except Exception:
        log = getattr(server, "log", None)
        if log is not None:
            log.exception("tocsin: could not compact the metrics files of worker %s", worker.pid)
