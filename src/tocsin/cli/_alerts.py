"""``tocsin alerts``: every notification the local receiver got — webhook, mail and Slack — newest first.

Read straight from the receiver's SQLite history (``<state dir>/alerts.sqlite``), so it works while the
stack is down. The rows are the ones ``GET /api/v1/notifications`` serves (docs/stack.md): a webhook row
per alert transition, a mail or Slack row per message, each with its sink, receiver, status, severity and
priority. ``--json`` prints them as strict JSON.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from tocsin.cli._target import add_target_arguments, resolve_target
from tocsin.errors import StackError, UsageError

__all__ = ["register"]

_console = Console(highlight=False, soft_wrap=True)
if not _console.is_terminal:  # piped into grep or a file: never fold words across lines
    _console.width = max(_console.width, 160)
_SINKS = ("webhook", "email", "slack")


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    from tocsin.durations import duration_seconds

    try:
        return time.time() - duration_seconds(text)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


def _alerts(args: argparse.Namespace) -> int:
    from tocsin.stack.history import AlertHistory

    if not 1 <= args.limit <= 10_000:
        raise UsageError(f"--limit {args.limit}: give a number from 1 to 10000")
    since = _since(args.since)
    layout = resolve_target(args).layout
    if not layout.alerts_db.exists():
        _console.print(f"no alert history yet in {layout.alerts_db}")
        return 0
    filters = {"sink": args.sink, "status": args.status, "alertname": args.name}
    filters |= {"severity": args.severity, "priority": args.priority}
    try:
        history = AlertHistory(layout.alerts_db)
        try:
            rows = history.notifications(**filters, since=since, limit=args.limit)
        finally:
            history.close()
    except sqlite3.Error as exc:
        raise StackError(f"cannot read {layout.alerts_db}: {exc}") from None
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, allow_nan=False))
        return 0
    _print_table(rows, str(layout.alerts_db))
    return 0


def _print_table(rows: list[dict[str, Any]], where: str) -> None:
    table = Table(title=f"notifications ({where})", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("received", "sink", "receiver", "status", "alert", "severity", "priority", "n", "summary"):
        table.add_column(column, overflow="fold", justify="right" if column == "n" else "left")
    for r in rows:
        table.add_row(
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["received_at"])),
            r["sink"],
            r["receiver"],
            r["status"],
            r["alertname"],
            r["severity"],
            r["priority"],
            str(r["alerts"] or ""),
            r["summary"].splitlines()[0] if r["summary"] else "",
        )
    _console.print(table)
    counts = Counter(r["sink"] for r in rows)
    _console.print(f"{len(rows)} notifications: " + ", ".join(f"{counts[sink]} {sink}" for sink in _SINKS))


def register(subparsers: Any) -> None:
    help = "every notification the local receiver got (webhook, mail, Slack), newest first"
    parser: argparse.ArgumentParser = subparsers.add_parser("alerts", help=help, description=help)
    add_target_arguments(parser)
    parser.set_defaults(func=_alerts)
    parser.add_argument("--sink", choices=_SINKS, help="only this sink")
    parser.add_argument("--status", choices=["firing", "resolved"], help="only this status")
    parser.add_argument("--name", help="only this alert name")
    parser.add_argument("--severity", help="only this severity (critical, warning, ...)")
    parser.add_argument("--priority", help="only this priority (P1, P2, P3)")
    parser.add_argument("--since", help="only what came in this long ago or less, e.g. 30m, 2h, 1d")
    parser.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
    parser.add_argument("--json", action="store_true", help="print strict JSON instead of a table")
