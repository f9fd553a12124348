"""One log format for the three services (Django's LOGGING uses the same): the log watcher counts
every line by level and the seed's debugging patterns (``Slow request``, ``Auth failure``, ``OpenAI``)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

__all__ = ["FORMAT", "setup_logging"]

FORMAT = "%(asctime)s [%(levelname)s] [%(name)s] %(message)s"


def setup_logging(logger: str, path: Path) -> logging.Logger:
    """``logger`` (and its children) to ``path`` at INFO, warnings to stderr too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(FORMAT)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(formatter)
    to_console = logging.StreamHandler(sys.stderr)
    to_console.setLevel(logging.WARNING)
    to_console.setFormatter(formatter)
    log = logging.getLogger(logger)
    log.handlers[:] = [to_file, to_console]
    log.setLevel(logging.INFO)
    log.propagate = False
    return log
