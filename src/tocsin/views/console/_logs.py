"""The logs page's search in the log watcher's store (``tocsin logwatch``: SQLite, read-only here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.views._time import parse_time

__all__ = ["LEVELS", "search"]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LIMIT = 500


def search(
    db: Path | None, level: str | None, grep: str | None, source: str | None, start: str, end: str
) -> dict[str, Any]:
    """Lines of the range, newest ``LIMIT`` kept, oldest first; ``error`` says why there are none."""
    base: dict[str, Any] = {"lines": [], "error": "", "levels": LEVELS, "limit": LIMIT, "db": str(db or "")}
    try:
        since, until = parse_time(start), parse_time(end)
    except ValueError as exc:
        return {**base, "error": str(exc)}
    if db is None:
        return {**base, "error": "this stack has no log watcher (add a logs: section to the spec)"}
    if not db.is_file():
        return {**base, "error": f"no log store yet at {db} (the log watcher creates it with its first line)"}
    if level and level.upper() not in LEVELS:
        return {**base, "error": f"unknown level {level!r} (one of {', '.join(LEVELS)})"}
    from tocsin.logwatch.store import LogStore  # the store's own query: levels, FTS, ordering

    store = LogStore(db, readonly=True)
    try:
        rows = store.search(level=level, since=since, until=until, grep=grep, source=source, limit=LIMIT)
    except Exception as exc:  # a locked or half-written store must not take the page down
        return {**base, "error": f"could not read {db}: {exc}"}
    finally:
        store.close()
    return {
        **base,
        "lines": [{"ts": r.ts, "level": r.level, "source": r.source, "message": r.message} for r in rows],
    }
