"""The multiprocess directory: where it is, its file names, and the lock that orders readers and compaction.

prometheus_client writes one mmap file per process and value type:
``counter_<pid>.db``, ``histogram_<pid>.db``, ``summary_<pid>.db`` and
``gauge_<mode>_<pid>.db``. Compaction folds a dead process's files into
``<type>_archive.db`` (``gauge_<mode>_archive.db``), which every
``MultiProcessCollector`` reads like any other ``*.db`` file.

Nothing here imports prometheus_client: this module is imported from
``gunicorn.conf.py`` before ``PROMETHEUS_MULTIPROC_DIR`` is set, and
prometheus_client picks its value class once, at import.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from tocsin.errors import ConfigurationError

ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"
LOCK_NAME = ".tocsin-multiprocess.lock"
ARCHIVE = "archive"
TMP_SUFFIX = ".tocsin-tmp"


def resolve_directory(path: str | os.PathLike[str] | None) -> Path:
    """``path``, or ``$PROMETHEUS_MULTIPROC_DIR``; it must be an existing directory."""
    if path is None:
        value = os.environ.get(ENV_VAR)
        if not value:
            raise ConfigurationError(
                f"{ENV_VAR} is not set (call tocsin.sdk.multiprocess.use_directory() or export it)"
            )
        path = value
    directory = Path(path)
    if not directory.is_dir():
        raise ConfigurationError(f"multiprocess directory {directory} does not exist (create it first)")
    return directory


@contextlib.contextmanager
def directory_lock(directory: Path, *, shared: bool) -> Iterator[None]:
    """An ``flock`` on the directory's lock file: scrapes share it, compaction takes it alone.

    Why: compaction replaces the archive and removes the dead process's file in
    two steps; a scrape between them would count that process twice.
    """
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def split_name(name: str) -> tuple[str, str] | None:
    """``counter_123.db`` → ``("counter", "123")``; ``gauge_liveall_7.db`` → ``("gauge_liveall", "7")``."""
    if not name.endswith(".db"):
        return None
    prefix, sep, owner = name[:-3].rpartition("_")
    if not sep or not prefix:
        return None
    return prefix, owner


def process_files(directory: Path) -> dict[int, list[Path]]:
    """The per-process files in ``directory``, by pid (archives and foreign files left out)."""
    found: dict[int, list[Path]] = {}
    for entry in os.scandir(directory):
        parts = split_name(entry.name)
        if parts is not None and parts[1].isdigit():
            found.setdefault(int(parts[1]), []).append(Path(entry.path))
    return found
