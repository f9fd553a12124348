"""Component output → rotated log files (``.tocsin/logs/<name>.log``, ``.1`` … ``.N``).

The components write to a pipe read by one thread each, which rotates by size: Prometheus never learns
about rotation and nothing is lost while a file is renamed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

__all__ = ["LogPump", "RotatingFile", "tail"]


class RotatingFile:
    """Append-only file that renames itself to ``.1`` (shifting older ones) past ``max_bytes``."""

    def __init__(self, path: Path, max_bytes: int = 5_000_000, backups: int = 3) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")

    def write(self, data: bytes) -> None:
        if self._file.tell() + len(data) > self.max_bytes and self._file.tell() > 0:
            self._rotate()
        self._file.write(data)
        self._file.flush()

    def _rotate(self) -> None:
        self._file.close()
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = self.path.open("ab")

    def close(self) -> None:
        self._file.close()


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
