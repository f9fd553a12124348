"""The embedded log store: SQLite with an FTS5 index, retention by age, idempotent inserts.

A poll's rows are committed in one transaction together with a copy of the checkpoint
the watcher saves right after (its file positions and counts): a ``kill -9`` between
that commit and the checkpoint file's rename resumes from the copy, so no line is
stored twice — a line's key, (file generation, byte offset), is only stable for the
files a checkpoint knows, and a file seen since (a new one, a truncated one) gets new
generations at a restart. Rows are still inserted with ``OR IGNORE`` on that key, so a
save retried after a failure adds nothing twice either. Commits are ``synchronous=FULL``.

A store that SQLite finds damaged (not a database, a malformed image) is moved aside as
``logs.db.damaged-<time>`` and a new one is started: the counters live in the checkpoint
file too, so they stay exact.

::

    store = LogStore(".tocsin/logs.db")
    for row in store.search(level="ERROR", since=time.time() - 3600, grep="MongoDB"):
        print(row.when, row.level, row.message)
"""

from __future__ import annotations

import calendar
import math
import os
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ._levels import LEVELS, level_rank, normalize_level
from ._say import say

__all__ = ["LogStore", "StoredLine", "is_damaged", "open_store", "parse_timestamp", "quarantine"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lines(
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    level TEXT NOT NULL,
    level_rank INTEGER NOT NULL,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    generation TEXT NOT NULL,
    offset INTEGER NOT NULL,
    message TEXT NOT NULL,
    UNIQUE(generation, offset)
);
CREATE INDEX IF NOT EXISTS lines_ts ON lines(ts);
CREATE TABLE IF NOT EXISTS checkpoint(id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watcher_checkpoint(state_dir TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS lines_fts USING fts5(message, content='lines', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS lines_ad AFTER DELETE ON lines BEGIN
    INSERT INTO lines_fts(lines_fts, rowid, message) VALUES ('delete', old.id, old.message);
END;
"""
_TIMESTAMP = re.compile(
    r"^\s*\[?(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?"
)
_WORD = re.compile(r"\w")

#: One row to store: (unix time, level, source, path, generation, offset, message).
Row = tuple[float, str, str, str, str, int, str]


def parse_timestamp(text: str) -> float | None:
    """A leading ``2025-10-16 12:34:56[.123][Z|+02:00]`` → Unix time (no zone: local time), else None."""
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    key = match.group(0)
    stamp = _recent.get(key)
    if stamp is None:
        if len(_recent) > 4096:
            _recent.clear()
        stamp = _recent[key] = _to_unix(match)
    return stamp


_recent: dict[str, float | None] = {}  # log lines come in runs of the same second


def _to_unix(match: re.Match[str]) -> float | None:
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = float("0." + match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    try:
        fields = (year, month, day, hour, minute, second)
        if zone is None:
            return time.mktime((*fields, 0, 0, -1)) + fraction
        stamp = calendar.timegm((*fields, 0, 0, 0)) + fraction
    except (OverflowError, ValueError):
        return None
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        stamp -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return stamp


@dataclass(frozen=True)
class StoredLine:
    """A line found by :meth:`LogStore.search`."""

    ts: float
    level: str
    source: str
    path: str
    message: str
    #: the row id: a line stored later has a larger one (``search(after_id=...)`` continues from it)
    id: int = 0

    @property
    def when(self) -> str:
        try:
            return datetime.fromtimestamp(self.ts).isoformat(sep=" ", timespec="seconds")
        except (OverflowError, OSError, ValueError):  # a time no calendar has
            return f"{self.ts:.0f}" if math.isfinite(self.ts) else str(self.ts)


class LogStore:
    """One SQLite file; safe to read (``tocsin logs``) while the watcher writes (WAL)."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, rows: Iterable[Row], checkpoint: tuple[str, str] | None = None) -> int:
        """Store rows (one transaction); rows already stored (same generation and offset) are skipped.
        ``checkpoint``: (state directory, checkpoint JSON) committed in the same transaction, the
        positions and counts these rows bring the watcher of that state directory to."""
        with self._db:
            added = self._insert(rows)
            if checkpoint is not None:
                self._db.execute(
                    "INSERT INTO watcher_checkpoint(state_dir, data) VALUES (?, ?)"
                    " ON CONFLICT(state_dir) DO UPDATE SET data = excluded.data",
                    checkpoint,
                )
            return added

    def watcher_checkpoint(self, state_dir: str) -> str | None:
        """The checkpoint last committed by :meth:`add` for ``state_dir``."""
        row = self._db.execute(
            "SELECT data FROM watcher_checkpoint WHERE state_dir = ?", (state_dir,)
        ).fetchone()
        return None if row is None else str(row[0])

    def _insert(self, rows: Iterable[Row]) -> int:
        # One INSERT ... SELECT into the FTS index after the batch: ~4x faster than a per-row trigger.
        last = self._db.execute("SELECT coalesce(max(id), 0) FROM lines").fetchone()[0]
        cur = self._db.executemany(
            "INSERT OR IGNORE INTO lines(ts, level, level_rank, source, path, generation, offset, message)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (ts, lvl, level_rank(lvl), src, path, gen, off, msg)
                for ts, lvl, src, path, gen, off, msg in rows
            ),
        )
        self._db.execute(
            "INSERT INTO lines_fts(rowid, message) SELECT id, message FROM lines WHERE id > ?", (last,)
        )
        return int(cur.rowcount)

    def load_checkpoint(self) -> str | None:
        """The checkpoint a watcher before version 2 saved in the store (now it is a JSON file)."""
        row = self._db.execute("SELECT data FROM checkpoint WHERE id = 1").fetchone()
        return None if row is None else str(row[0])

    def drop_checkpoint(self) -> None:
        """Forget the old in-store checkpoint once the JSON file has replaced it."""
        with self._db:
            self._db.execute("DELETE FROM checkpoint")

    def last_id(self) -> int:
        """The id of the line stored last (0 when empty)."""
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM lines").fetchone()[0])

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM lines").fetchone()[0])

    def search(
        self,
        *,
        level: str | None = None,
        since: float | None = None,
        until: float | None = None,
        grep: str | None = None,
        source: str | None = None,
        limit: int = 100,
        after_id: int | None = None,
    ) -> list[StoredLine]:
        """The newest ``limit`` lines at or above ``level``, newer than ``since``, containing ``grep``,
        oldest first (as a log reads). With ``after_id``: the first ``limit`` such lines stored after
        that one, in the order they were stored (what ``tocsin logs --follow`` prints next)."""
        where: list[str] = []
        args: list[object] = []
        if level:
            lvl = normalize_level(level)
            if lvl not in LEVELS:
                raise ValueError(f"unknown level {level!r} (one of {', '.join(LEVELS)})")
            where.append("lines.level_rank >= ?")
            args.append(level_rank(lvl))
        if since is not None:
            where.append("lines.ts >= ?")
            args.append(since)
        if until is not None:
            where.append("lines.ts < ?")
            args.append(until)
        if source:
            where.append("lines.source = ?")
            args.append(source)
        if grep:
            # FTS5 finds words fast; a phrase of the words, then a substring check for the exact text.
            if _WORD.search(grep):
                where.append("lines.id IN (SELECT rowid FROM lines_fts WHERE lines_fts MATCH ?)")
                args.append(_phrase(grep))
            where.append("instr(lower(lines.message), lower(?)) > 0")
            args.append(grep)
        if after_id is not None:
            where.append("lines.id > ?")
            args.append(after_id)
        sql = "SELECT ts, level, source, path, message, id FROM lines"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if after_id is not None:
            return [
                StoredLine(*row) for row in self._db.execute(sql + " ORDER BY id LIMIT ?", [*args, limit])
            ]
        sql += " ORDER BY ts DESC, id DESC LIMIT ?"
        rows = self._db.execute(sql, [*args, limit]).fetchall()
        return [StoredLine(*row) for row in reversed(rows)]

    def compact(self, retention: float, now: float | None = None) -> int:
        """Delete lines older than ``retention`` seconds, merge the FTS index, shrink the WAL."""
        cutoff = (time.time() if now is None else now) - retention
        with self._db:
            deleted = self._db.execute("DELETE FROM lines WHERE ts < ?", (cutoff,)).rowcount
            if deleted:
                self._db.execute("INSERT INTO lines_fts(lines_fts) VALUES ('optimize')")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(deleted)


def _phrase(text: str) -> str:
    """Only the words of ``text``, as one FTS5 phrase (the substring check does the exact match)."""
    words = re.findall(r"\w+", text)
    return '"' + " ".join(words).replace('"', '""') + '"'


_DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}


def is_damaged(err: BaseException) -> bool:
    """True for SQLite's "not a database" and "malformed" (not for a full disk or a lock)."""
    if not isinstance(err, sqlite3.DatabaseError):
        return False
    name = getattr(err, "sqlite_errorname", "")
    return name in _DAMAGED or "malformed" in str(err) or "not a database" in str(err)


def _move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        try:
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            continue
    return aside


def open_store(path: str | Path) -> LogStore:
    """The store at ``path``, opened for writing; a damaged one is moved aside and a new one begun."""
    try:
        store = LogStore(path)
        store.load_checkpoint()  # reads a table: a file that is not a database fails here
        return store
    except sqlite3.Error as err:
        if not is_damaged(err):
            from tocsin.errors import UsageError

            raise UsageError(f"{path}: cannot open the log store: {err}") from None
    aside = _move_aside(Path(path))
    say(
        f"{path} is damaged; moved aside to {aside.name}, a new store begins "
        "(counters are exact: they live in the checkpoint)"
    )
    return LogStore(path)


def quarantine(store: LogStore) -> LogStore:
    """``store`` found damaged while in use: close it, move it aside, open a new one."""
    try:
        store.close()
    except sqlite3.Error:
        pass
    return open_store(store.path)
