"""Where lines go: console, files with size or time rotation, an alert handler, and the level counter.

Seed 003's table is a set of minimum levels, one per destination::

    DEBUG    file only                     file level DEBUG
    INFO     console + file                console level INFO
    WARNING  console + file + alert        alert level WARNING (+ log_messages_total for alert rules)
    ERROR    console + file + alert        (same; the alert rule decides how fast)
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from dataclasses import dataclass
from pathlib import Path

from tocsin.errors import ConfigurationError
from tocsin.sdk.metrics import CappedCounter

__all__ = ["CountingHandler", "LogFile", "file_handler", "level_number"]


def level_number(level: str | int) -> int:
    """``"info"``/``"INFO"``/``20`` → 20; anything else is a configuration error."""
    if isinstance(level, int):
        return level
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ConfigurationError(f"unknown log level {level!r} (use DEBUG, INFO, WARNING, ERROR or CRITICAL)")
    return number


@dataclass(frozen=True)
class LogFile:
    """A JSON-lines log file. Rotate by size (``max_bytes``) or by time (``when``: ``"midnight"``,
    ``"H"``, ``"D"``, ``"W0"``... as :class:`logging.handlers.TimedRotatingFileHandler`), keeping
    ``backups`` old files; neither means no rotation (leave it to logrotate)."""

    path: str | os.PathLike[str]
    level: str | int = "DEBUG"
    max_bytes: int | None = None
    when: str | None = None
    interval: int = 1
    backups: int = 5


def file_handler(spec: LogFile) -> logging.FileHandler:
    """The handler for ``spec``; creates the parent directory."""
    if spec.max_bytes is not None and spec.when is not None:
        raise ConfigurationError(
            f"log file {os.fspath(spec.path)!r}: rotate by max_bytes or by when, not both"
        )
    if spec.max_bytes is not None and spec.max_bytes <= 0:
        raise ConfigurationError(f"log file {os.fspath(spec.path)!r}: max_bytes must be > 0")
    path = Path(spec.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler: logging.FileHandler
    if spec.max_bytes is not None:
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=spec.max_bytes, backupCount=spec.backups, encoding="utf-8"
        )
    elif spec.when is not None:
        handler = logging.handlers.TimedRotatingFileHandler(
            path, when=spec.when, interval=spec.interval, backupCount=spec.backups, encoding="utf-8", utc=True
        )
    else:
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(level_number(spec.level))
    return handler


class CountingHandler(logging.Handler):
    """Counts every record that reaches the root logger in ``log_messages_total{level,logger}``.

    One handler on the root, whatever the number of outputs, so each event is
    counted once. No formatting and no lock: an increment is all it does.
    """

    def __init__(self, counter: CappedCounter) -> None:
        super().__init__(logging.NOTSET)
        self._counter = counter

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        # the capped labels() is one dict hit for a label set already seen, and honours the series cap
        self._counter.labels(record.levelname.lower(), record.name).inc()
