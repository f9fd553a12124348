"""Component output → rotated log files (``.tocsin/logs/<name>.log``, ``.1`` … ``.N``).

The components write to a pipe read by one thread each, which rotates by size: Prometheus never learns
about rotation and nothing is lost while a file is renamed. A log that cannot be written (disk full,
state dir gone) never stops the pipe being drained, or a component would block on its next write: the
lines are counted as lost and the count is written once the file takes writes again.
"""

from __future__ import annotations

import errno
import io
import os
import threading
from pathlib import Path
from typing import IO

__all__ = ["LogPump", "RotatingFile", "tail"]


class RotatingFile:
    """Append-only file that renames itself to ``.1`` (shifting older ones) past ``max_bytes``.

    Unbuffered, one ``write(2)`` per call (looping over short writes), so a failed write leaves no
    half-flushed buffer to be written twice later. Safe to share between threads.
    """

    def __init__(self, path: Path, max_bytes: int = 5_000_000, backups: int = 3) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: io.FileIO | None = io.FileIO(path, "ab")
        self._lock = threading.Lock()
        #: bytes that could not be written since the last successful write, and why
        self.lost, self.lost_because = 0, ""

    def write(self, data: bytes) -> None:
        """Append ``data``; never raises: what cannot be written is counted in :attr:`lost`."""
        with self._lock:
            try:
                if self.lost:
                    note = f"--- tocsin: {self.lost} bytes of output lost ({self.lost_because})\n"
                    self._write(note.encode())
                    self.lost = 0
                self._write(data)
            except OSError as exc:
                self.lost += len(data)
                self.lost_because = exc.strerror or str(exc)

    def _write(self, data: bytes) -> None:
        if self._file is None:
            self._file = io.FileIO(self.path, "ab")
        size = self._file.seek(0, os.SEEK_END)
        if size + len(data) > self.max_bytes and size > 0:
            self._rotate()
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            if not written:
                raise OSError(errno.ENOSPC, "nothing written")
            view = view[written:]

    def _rotate(self) -> None:
        self._close_file()
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = io.FileIO(self.path, "ab")

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        with self._lock:
            self._close_file()


class LogPump(threading.Thread):
    """Copies one child's combined stdout/stderr into a :class:`RotatingFile` until the pipe closes."""

    def __init__(self, stream: IO[bytes], sink: RotatingFile) -> None:
        super().__init__(daemon=True, name=f"log:{sink.path.name}")
        self._stream, self._sink = stream, sink

    def run(self) -> None:
        for line in iter(self._stream.readline, b""):
            self._sink.write(line)
        self._stream.close()


def tail(path: Path, lines: int = 8) -> str:
    """The last lines of a log, for error messages when a component dies at start."""
    try:
        data = path.read_bytes()[-8192:]
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])
