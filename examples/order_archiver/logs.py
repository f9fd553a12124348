"""The seed's log format and destinations, with the standard library's logging.

``2025-10-16 12:34:56 [INFO] [batch_archiver] 📦 Found 150 delivered orders``: date, level, component,
emoji, message. As the plan's table says, DEBUG goes to the file only, INFO and above to the
console and the file; WARNING and ERROR reach alerts through the log watcher (the spec's ``logs:``),
which counts the plan's patterns and every line by level. The file rotates at ``max_bytes`` (five
generations kept: ``batch_archiver.log.1`` ... ``.5``), which the log-space remediation cleans.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

__all__ = ["FORMAT", "setup_logging"]

FORMAT = "%(asctime)s [%(levelname)s] [%(name)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def setup_logging(component: str, log_dir: Path, *, max_bytes: int = 20_000_000) -> logging.Logger:
    """The component's logger: ``<log_dir>/<component>.log`` at DEBUG, stderr at INFO."""
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    to_file = logging.handlers.RotatingFileHandler(
        log_dir / f"{component}.log", maxBytes=max_bytes, backupCount=5, encoding="utf-8"
    )
    to_file.setLevel(logging.DEBUG)
    to_file.setFormatter(formatter)
    to_console = logging.StreamHandler(sys.stderr)
    to_console.setLevel(logging.INFO)
    to_console.setFormatter(formatter)
    logger = logging.getLogger(component)
    logger.handlers[:] = [to_file, to_console]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger
