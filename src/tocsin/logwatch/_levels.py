"""Log levels, with no dependency: the store and its readers (``tocsin logs``, the console) rank by them."""

from __future__ import annotations

__all__ = ["LEVELS", "level_rank", "normalize_level"]

#: Log levels from least to most severe; aliases (WARN, FATAL, lower case) are normalised to these.
LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR", "TRACE": "DEBUG", "CRIT": "CRITICAL"}


def normalize_level(text: str) -> str:
    """``warn`` → ``WARNING``; unknown names are kept upper-cased (they rank as INFO)."""
    upper = text.strip().upper()
    return _ALIASES.get(upper, upper)


def level_rank(level: str) -> int:
    """Position of ``level`` in :data:`LEVELS` (unknown levels rank as INFO)."""
    try:
        return LEVELS.index(level)
    except ValueError:
        return 1
