"""Alert history in SQLite: every notification the local receiver got, readable while the stack is down.

Alertmanager re-sends a group on every ``repeat_interval`` and, in HA, possibly once per instance; the
``notifications`` table keeps one row per alert transition (fingerprint + status + startsAt), while the
``deliveries`` table keeps one row per HTTP delivery so duplicates can be counted rather than hidden.
Mails and Slack messages are kept one row per message, with the status, alert name, severity and
priority read from them (see ``_sinks``), so :meth:`AlertHistory.notifications` lists every sink.

Each write is one transaction (one fsync), however many alerts a webhook carries. Stored JSON is
decoded leniently (a ``NaN`` an older receiver let in comes back as the string ``"NaN"``), so every
answer is valid JSON.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from tocsin.stack._payloads import Webhook, webhook_from
from tocsin.stack._sinks import Summary, title_summary, webhook_id

__all__ = ["SINKS", "AlertHistory"]

#: The receiver's sinks, as named in ``notifications`` rows.
SINKS = ("webhook", "email", "slack")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    receiver TEXT NOT NULL,
    status TEXT NOT NULL,
    alertname TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    generator_url TEXT NOT NULL,
    UNIQUE (fingerprint, status, starts_at)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    sink TEXT NOT NULL,
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    alerts INTEGER NOT NULL,
    alertnames TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mails (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    mail_from TEXT NOT NULL,
    rcpt_to TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS slack_messages (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    path TEXT NOT NULL,
    text TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""
# Columns added after the first release; _migrate adds them to an older file.
_SUMMARY_COLUMNS = [f"{name} TEXT NOT NULL DEFAULT ''" for name in ("receiver", "status", "alertname")]
_SUMMARY_COLUMNS += [f"{name} TEXT NOT NULL DEFAULT ''" for name in ("severity", "priority")]
_SUMMARY_COLUMNS.append("alerts INTEGER NOT NULL DEFAULT 0")
_ADDED = {
    "notifications": [f"{name} TEXT NOT NULL DEFAULT ''" for name in ("severity", "priority", "summary")],
    "mails": [*_SUMMARY_COLUMNS, "raw BLOB"],
    "slack_messages": _SUMMARY_COLUMNS,
}
_COMMON = "id, received_at, receiver, status, alertname, severity, priority"
# Per sink: the query giving the columns every notification row has, newest first.
_SELECT = {
    "webhook": f"SELECT 'webhook' AS sink, {_COMMON}, summary, 1 AS alerts, fingerprint, starts_at,"
    " ends_at, labels, annotations, generator_url FROM notifications",
    "email": f"SELECT 'email' AS sink, {_COMMON}, subject AS summary, alerts, '' AS fingerprint,"
    " '' AS starts_at, '' AS ends_at, '{}' AS labels, '{}' AS annotations, '' AS generator_url FROM mails",
    "slack": f"SELECT 'slack' AS sink, {_COMMON}, text AS summary, alerts, '' AS fingerprint,"
    " '' AS starts_at, '' AS ends_at, '{}' AS labels, '{}' AS annotations, '' AS generator_url"
    " FROM slack_messages",
}
_FILTERS = ("status", "alertname", "severity", "priority", "receiver")


def lenient_json(text: str) -> Any:
    """Stored JSON back to values; the non-JSON constants an older version stored become strings."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, parse_constant=str, parse_float=_finite)


def _finite(text: str) -> float | str:
    value = float(text)
    return value if value - value == 0 else text  # 1e999 is inf: keep its text


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class AlertHistory:
    """The receiver's store. WAL mode, so ``tocsin alerts`` can read while the receiver writes.

    One instance is one SQLite connection: give each thread its own (the receiver writes on one
    thread and reads on another).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process being killed; only power loss may take the last ones
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a file an older receiver wrote up to date: new columns, filled from what was kept."""
        with self._transaction():
            for table, columns in _ADDED.items():
                have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                missing = [column for column in columns if column.split()[0] not in have]
                for column in missing:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
                if missing:
                    self._backfill(table)
            for table in ("notifications", "mails", "slack_messages"):
                self._db.execute(f"CREATE INDEX IF NOT EXISTS {table}_received ON {table} (received_at)")

    def _backfill(self, table: str) -> None:
        if table == "notifications":  # in Python: an older receiver let NaN in, which json_valid refuses
            for row_id, labels, annotations in self._db.execute(
                "SELECT id, labels, annotations FROM notifications"
            ).fetchall():
                label, note = lenient_json(labels), lenient_json(annotations)
                self._db.execute(
                    "UPDATE notifications SET severity = ?, priority = ?, summary = ? WHERE id = ?",
                    (
                        str(label.get("severity", "")),
                        str(label.get("priority", "")),
                        str(note.get("summary", "")),
                        row_id,
                    ),
                )
            return
        title = "subject" if table == "mails" else "text"
        for row_id, text in self._db.execute(f"SELECT id, {title} FROM {table}").fetchall():
            guess = title_summary(text)
            self._db.execute(
                f"UPDATE {table} SET status = ?, alertname = ?, alerts = ? WHERE id = ?",
                (guess.status, guess.alertname, guess.alerts, row_id),
            )
        if table == "slack_messages":  # older receivers kept the webhook's secret path
            for row_id, path in self._db.execute("SELECT id, path FROM slack_messages").fetchall():
                if not path.startswith("sha256:"):
                    self._db.execute(
                        "UPDATE slack_messages SET path = ? WHERE id = ?", (webhook_id(path), row_id)
                    )

    def _transaction(self) -> sqlite3.Connection:
        """``with self._transaction():`` one BEGIN ... COMMIT (the connection is in autocommit mode)."""
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def close(self) -> None:
        self._db.close()

    def record_webhook(self, webhook: Webhook | Mapping[str, Any], sink: str = "webhook") -> int:
        """Store one Alertmanager webhook delivery; returns how many alert transitions were new.

        A decoded payload is checked first (PayloadError names what is wrong).
        """
        if not isinstance(webhook, Webhook):
            webhook = webhook_from(webhook)
        now = time.time()
        names = sorted({a.labels.get("alertname", "") for a in webhook.alerts})
        rows = (
            (
                now,
                webhook.receiver,
                a.status,
                a.labels.get("alertname", ""),
                a.labels.get("severity", ""),
                a.labels.get("priority", ""),
                a.annotations.get("summary", ""),
                a.fingerprint,
                a.starts_at,
                a.ends_at,
                _dumps(a.labels),
                _dumps(a.annotations),
                a.generator_url,
            )
            for a in webhook.alerts
        )
        with self._transaction():
            self._db.execute(
                "INSERT INTO deliveries (received_at, sink, receiver, group_key, status, alerts, alertnames)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    now,
                    sink,
                    webhook.receiver,
                    webhook.group_key,
                    webhook.status,
                    len(webhook.alerts),
                    ",".join(names),
                ),
            )
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO notifications (received_at, receiver, status, alertname, severity,"
                " priority, summary, fingerprint, starts_at, ends_at, labels, annotations, generator_url)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            return self._db.total_changes - before

    def record_mail(
        self,
        mail_from: str,
        rcpt_to: Iterable[str],
        subject: str,
        body: str,
        summary: Summary | None = None,
        raw: bytes | None = None,
    ) -> None:
        s = summary or Summary()
        with self._transaction():
            self._db.execute(
                "INSERT INTO mails (received_at, mail_from, rcpt_to, subject, body, receiver, status,"
                " alertname, severity, priority, alerts, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (time.time(), mail_from, ",".join(rcpt_to), subject, body, *s.columns(), raw),
            )

    def record_slack(self, webhook: str, text: str, payload: Any, summary: Summary | None = None) -> None:
        """One Slack message; ``webhook`` identifies the incoming webhook without its secret path."""
        s = summary or Summary()
        with self._transaction():
            self._db.execute(
                "INSERT INTO slack_messages (received_at, path, text, payload, receiver, status, alertname,"
                " severity, priority, alerts) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (time.time(), webhook, text, _dumps(payload), *s.columns()),
            )

    def notifications(
        self,
        *,
        sink: str | None = None,
        status: str | None = None,
        alertname: str | None = None,
        severity: str | None = None,
        priority: str | None = None,
        receiver: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Every sink's notifications, newest first (``(sink, id)`` is unique); filters are exact matches.

        Each row: ``sink``, ``id``, ``received_at`` (Unix seconds), ``receiver``, ``status``,
        ``alertname``, ``severity``, ``priority``, ``summary``, ``alerts`` (how many alerts the message
        carried: 1 for a webhook row, which is one alert), and for webhook rows the alert's
        ``fingerprint``, ``starts_at``, ``ends_at``, ``labels``, ``annotations``, ``generator_url``.
        """
        values = {"status": status, "alertname": alertname, "severity": severity}
        values |= {"priority": priority, "receiver": receiver}
        where = [f"{name} = ?" for name in _FILTERS if values[name]]
        args: list[Any] = [values[name] for name in _FILTERS if values[name]]
        if since is not None:
            where.append("received_at >= ?")
            args.append(since)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        per_sink = []
        for name in SINKS if sink is None else (sink,):
            sql = f"{_SELECT[name]}{clause} ORDER BY received_at DESC, id DESC LIMIT ?"
            per_sink.append(_rows(self._db.execute(sql, (*args, limit))))
        key = lambda row: (row["received_at"], row["id"])  # noqa: E731
        rows = list(heapq.merge(*per_sink, key=key, reverse=True))[:limit]
        for row in rows:
            row["labels"] = lenient_json(row["labels"])
            row["annotations"] = lenient_json(row["annotations"])
        return rows

    def table(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Rows of ``deliveries``, ``mails`` or ``slack_messages``, newest first."""
        if name not in {"deliveries", "mails", "slack_messages"}:
            raise ValueError(f"no table {name!r}")
        rows = _rows(self._db.execute(f"SELECT * FROM {name} ORDER BY id DESC LIMIT ?", (limit,)))
        for row in rows:
            row.pop("raw", None)  # bytes: kept for the record, not served
            if name == "slack_messages":
                row["webhook"] = row.pop("path")
                row["payload"] = lenient_json(row["payload"])
        return rows
