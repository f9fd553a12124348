"""``tocsin logwatch`` (follow log files, serve /metrics) and ``tocsin logs`` (search the log store)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tocsin.errors import UsageError

__all__ = ["DEFAULT_PORT", "ENGINES", "add_watch_arguments", "register"]

_STATE_DIR = ".tocsin/logwatch"


# Kept here (and checked equal to tocsin.logwatch's) so that building the CLI imports nothing heavy.
DEFAULT_PORT = 9465
ENGINES = ("hyperscan", "re2", "re")


def add_watch_arguments(watch: argparse.ArgumentParser) -> None:
    """The options of ``tocsin logwatch``, shared with ``python -m tocsin.logwatch``."""
    watch.add_argument("--config", "-c", required=True, help="logwatch.yaml, or the spec with --section logs")
    watch.add_argument("--section", help="read this top-level key of --config (e.g. logs, in tocsin.yaml)")
    watch.add_argument(
        "--state-dir", default=_STATE_DIR, help=f"positions, counts, log store (default {_STATE_DIR})"
    )
    watch.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"/metrics port (default {DEFAULT_PORT}; 0: any)"
    )
    watch.add_argument("--host", default="127.0.0.1", help="/metrics address (default 127.0.0.1)")
    watch.add_argument("--no-http", action="store_true", help="do not serve /metrics")
    watch.add_argument("--once", action="store_true", help="read what is there, save, exit")
    watch.add_argument("--engine", default="auto", choices=("auto", *ENGINES), help="multi-pattern engine")
    watch.add_argument(
        "--rotate-wait", type=float, default=2.0, help="seconds a rotated file stays open once idle"
    )
    watch.add_argument(
        "--park-after", type=float, default=60.0, help="seconds before an idle, fully read file is closed"
    )
    watch.set_defaults(func=_logwatch)


def register(subparsers: Any) -> None:
    watch = subparsers.add_parser("logwatch", help="follow log files: patterns → metrics, lines → log store")
    add_watch_arguments(watch)

    logs = subparsers.add_parser("logs", help="search the log store: --level ERROR --since 1h --grep TEXT")
    logs.add_argument("--level", help="at or above this level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    logs.add_argument("--since", help="newer than this (30m, 1h, 7d)")
    logs.add_argument("--grep", help="text the line contains (case-insensitive)")
    logs.add_argument("--source", help="only this source")
    logs.add_argument("--limit", type=int, default=100, help="newest N lines (default 100)")
    logs.add_argument("--config", "-c", help="logwatch.yaml, to find a store.path set there")
    logs.add_argument("--section", help="read this top-level key of --config (e.g. logs)")
    logs.add_argument(
        "--state-dir", default=_STATE_DIR, help=f"where the watcher keeps its store (default {_STATE_DIR})"
    )
    logs.add_argument("--db", help="the store file itself (overrides --state-dir)")
    logs.add_argument("--compact", action="store_true", help="delete lines past the retention first")
    logs.set_defaults(func=_logs)


def _logwatch(args: argparse.Namespace) -> int:
    from tocsin.logwatch import run

    return run(
        args.config,
        args.state_dir,
        section=args.section,
        port=None if args.no_http else args.port,
        host=args.host,
        once=args.once,
        engine=args.engine,
        rotate_wait=args.rotate_wait,
        park_after=args.park_after,
    )


def _store_path(args: argparse.Namespace) -> tuple[Path, float]:
    from tocsin.logwatch.config import load_config, parse_duration

    retention = parse_duration("7d")
    if args.db:
        return Path(args.db), retention
    path = Path(args.state_dir) / "logs.db"
    if args.config:
        config = load_config(args.config, section=args.section)
        retention = parse_duration(config.store.retention)
        if config.store.path:
            path = Path(args.config).resolve().parent / config.store.path
    return path, retention


def _logs(args: argparse.Namespace) -> int:
    from tocsin.logwatch import LogStore
    from tocsin.logwatch.config import parse_duration

    path, retention = _store_path(args)
    if not path.exists():
        raise UsageError(
            f"{path}: no log store here (start `tocsin logwatch` first, or pass --state-dir/--db)"
        )
    try:
        since = time.time() - parse_duration(args.since) if args.since else None
    except ValueError as err:
        raise UsageError(f"--since: {err}") from None
    if args.compact:
        with_write = LogStore(path)
        removed = with_write.compact(retention)
        with_write.close()
        print(f"tocsin logs: removed {removed} line(s) older than the retention", file=sys.stderr)
    store = LogStore(path, readonly=True)
    try:
        rows = store.search(
            level=args.level, since=since, grep=args.grep, source=args.source, limit=args.limit
        )
    except ValueError as err:
        raise UsageError(f"--level: {err}") from None
    finally:
        store.close()
    for row in rows:
        print(f"{row.when} {row.level:<8} {row.source}: {row.message}")
    return 0
