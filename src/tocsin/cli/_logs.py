"""``tocsin logs``: search the log store the watcher keeps, or follow it (``--follow``).

The store is found like every stack command finds its state (:mod:`tocsin.cli._target`): the spec's
``logs.store.path`` when it sets one, else ``<state dir>/logwatch/logs.db``, where the state dir is
``--state-dir`` or the spec's ``stack.state_dir``. ``--state-dir`` may also name a watcher's own state
dir (``tocsin logwatch --state-dir X`` keeps ``X/logs.db``), and ``--config`` a standalone
``logwatch.yaml`` whose ``store.path`` says where; ``--db`` names the file itself.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tocsin.cli._target import StackTarget, add_target_arguments, no_traceback, resolve_target
from tocsin.errors import SpecError, UsageError

if TYPE_CHECKING:
    from tocsin.logwatch import LogStore
    from tocsin.logwatch.store import StoredLine

__all__ = ["register"]

FOLLOW_POLL = 0.5
_BATCH = 10_000
DEFAULT_RETENTION = 7 * 86400.0


def register(subparsers: Any) -> None:
    logs = subparsers.add_parser(
        "logs",
        help="search the log store: --level ERROR --since 1h --grep TEXT, or --follow",
        description="Search the lines the log watcher stored (the spec's logs: section), or follow them.",
    )
    add_target_arguments(logs)
    logs.add_argument("--level", help="at or above this level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    logs.add_argument("--since", help="newer than this (30m, 1h, 7d)")
    logs.add_argument("--grep", help="text the line contains (case-insensitive)")
    logs.add_argument("--source", help="only this source")
    logs.add_argument("--limit", type=int, default=100, help="newest N lines (default 100)")
    logs.add_argument("--follow", "-f", action="store_true", help="then print new lines as they are stored")
    logs.add_argument("--db", help="the store file itself")
    logs.add_argument(
        "--config", "-c", help="a standalone logwatch.yaml (instead of a spec): its store path and retention"
    )
    logs.add_argument("--compact", action="store_true", help="delete lines past the retention first")
    logs.set_defaults(func=_logs)


def _store_of_spec(spec: Path) -> tuple[Path | None, float]:
    """The spec's ``logs.store`` path (None: the default place) and retention."""
    from tocsin.spec import duration_seconds, load_spec

    try:
        logs = load_spec(spec).logs
    except SpecError:  # a spec being edited still lets you read its logs from the default place
        return None, DEFAULT_RETENTION
    if logs is None:
        return None, DEFAULT_RETENTION
    path = (spec.parent / logs.store.path).resolve() if logs.store.path else None
    return path, duration_seconds(logs.store.retention)


def store_path(args: argparse.Namespace, target: StackTarget) -> tuple[Path, float]:
    """Where the store is, and how long it keeps lines."""
    if args.db:
        return Path(args.db), DEFAULT_RETENTION
    if args.config:
        from tocsin.cli._logwatch import watch_config

        config = watch_config(args.config)
        path = Path(config.base_dir) / config.store.path if config.store.path else None
        retention = float(config.store.retention)
    elif target.spec:
        path, retention = _store_of_spec(target.spec)
    else:
        path, retention = None, DEFAULT_RETENTION
    if path is not None:
        return path, retention
    root = target.layout.root
    if args.state_dir and (root / "logs.db").exists():  # a watcher's own state dir
        return root / "logs.db", retention
    return root / "logwatch" / "logs.db", retention


def _print(rows: list[StoredLine]) -> None:
    for row in rows:
        print(f"{row.when} {row.level:<8} {row.source}: {row.message}", flush=True)


@no_traceback
def _logs(args: argparse.Namespace) -> int:
    from tocsin.logwatch import LogStore
    from tocsin.spec import duration_seconds

    path, retention = store_path(args, resolve_target(args))
    try:
        since = time.time() - duration_seconds(args.since) if args.since else None
    except ValueError as err:
        raise UsageError(f"--since: {err}") from None
    if args.limit < 1:
        raise UsageError(f"--limit {args.limit}: give a positive number of lines")
    if not path.exists():
        if not args.follow:
            raise UsageError(f"{path}: no log store here yet (is the spec's logs: section running?)")
        print(f"tocsin logs: waiting for {path}", file=sys.stderr, flush=True)
        while not path.exists():
            time.sleep(FOLLOW_POLL)
    if args.compact:
        with_write = LogStore(path)
        removed = with_write.compact(retention)
        with_write.close()
        print(f"tocsin logs: removed {removed} line(s) older than the retention", file=sys.stderr)
    filters = {"level": args.level, "grep": args.grep, "source": args.source}
    try:
        inode = path.stat().st_ino
        store = LogStore(path, readonly=True)
        try:
            last = store.last_id()
            # lines stored while we searched are left to --follow, so none is printed twice
            _print([r for r in _search(store, since=since, limit=args.limit, **filters) if r.id <= last])
        finally:
            store.close()
    except sqlite3.Error as exc:
        if not args.follow:
            raise UsageError(f"{path}: not a log store the watcher wrote ({exc})") from None
        last = 0  # the watcher is creating it right now
    if args.follow:
        _follow(path, inode, last, filters)
    return 0


def _search(store: LogStore, **query: Any) -> list[StoredLine]:
    try:
        return store.search(**query)
    except ValueError as err:
        raise UsageError(f"--level: {err}") from None


def _follow(path: Path, inode: int, after: int, filters: dict[str, Any]) -> None:
    """Print lines stored after ``after`` in the file ``inode`` until interrupted.

    A store the watcher replaced (a damaged one is moved aside and a new one started) is read from its
    start; one that is being created, locked or briefly unreadable is retried at the next poll.
    """
    from tocsin.logwatch import LogStore

    store: LogStore | None = None
    try:
        while True:
            time.sleep(FOLLOW_POLL)
            try:
                current = path.stat().st_ino
                if store is None or current != inode:
                    if store is not None:
                        store.close()
                    if current != inode:
                        after = 0  # a new file: its ids start again
                    store, inode = LogStore(path, readonly=True), current
                top = store.last_id()
                if top <= after:
                    continue
                rows = _search(store, after_id=after, limit=_BATCH, **filters)
            except (sqlite3.Error, OSError):
                if store is not None:
                    store.close()
                store = None
                continue
            _print([r for r in rows if r.id <= top])
            after = rows[-1].id if len(rows) == _BATCH else top
    finally:
        if store is not None:
            store.close()
