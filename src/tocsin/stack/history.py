"""Alert history in SQLite: every notification the local receiver got, readable while the stack is down.

Alertmanager re-sends a group on every ``repeat_interval`` and, in HA, possibly once per instance; the
``notifications`` table keeps one row per alert transition (fingerprint + status + startsAt), while the
``deliveries`` table keeps one row per HTTP delivery so duplicates can be counted rather than hidden.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["AlertHistory"]

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


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class AlertHistory:
    """The receiver's store. WAL mode, so ``tocsin alerts`` can read while the receiver writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record_webhook(self, payload: Mapping[str, Any], sink: str = "webhook") -> int:
        """Store one Alertmanager webhook delivery; returns how many alert transitions were new."""
        now = time.time()
        alerts: list[Mapping[str, Any]] = payload.get("alerts") or []
        names = sorted({a.get("labels", {}).get("alertname", "") for a in alerts})
        receiver = str(payload.get("receiver", ""))
        with self._db:
            self._db.execute(
                "INSERT INTO deliveries (received_at, sink, receiver, group_key, status, alerts, alertnames)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    now,
                    sink,
                    receiver,
                    str(payload.get("groupKey", "")),
                    str(payload.get("status", "")),
                    len(alerts),
                    ",".join(names),
                ),
            )
            new = 0
            for alert in alerts:
                labels = alert.get("labels", {})
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO notifications (received_at, receiver, status, alertname,"
                    " fingerprint, starts_at, ends_at, labels, annotations, generator_url)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        now,
                        receiver,
                        str(alert.get("status", "")),
                        str(labels.get("alertname", "")),
                        str(alert.get("fingerprint", "")),
                        str(alert.get("startsAt", "")),
                        str(alert.get("endsAt", "")),
                        json.dumps(labels, sort_keys=True),
                        json.dumps(alert.get("annotations", {}), sort_keys=True),
                        str(alert.get("generatorURL", "")),
                    ),
                )
                new += cursor.rowcount
        return new

    def record_mail(self, mail_from: str, rcpt_to: Iterable[str], subject: str, body: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO mails (received_at, mail_from, rcpt_to, subject, body) VALUES (?, ?, ?, ?, ?)",
                (time.time(), mail_from, ",".join(rcpt_to), subject, body),
            )

    def record_slack(self, path: str, payload: Mapping[str, Any]) -> None:
        text = str(payload.get("text") or "")
        for attachment in payload.get("attachments") or []:
            text += "\n" + "\n".join(
                str(attachment.get(k, "")) for k in ("title", "text") if attachment.get(k)
            )
        with self._db:
            self._db.execute(
                "INSERT INTO slack_messages (received_at, path, text, payload) VALUES (?, ?, ?, ?)",
                (time.time(), path, text.strip(), json.dumps(payload, sort_keys=True)),
            )

    def notifications(
        self, *, status: str | None = None, alertname: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Newest first; ``labels``/``annotations`` decoded."""
        sql, args = "SELECT * FROM notifications WHERE 1=1", list[str]()
        if status:
            sql, args = sql + " AND status = ?", [*args, status]
        if alertname:
            sql, args = sql + " AND alertname = ?", [*args, alertname]
        rows = _rows(self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)))
        for row in rows:
            row["labels"] = json.loads(row["labels"])
            row["annotations"] = json.loads(row["annotations"])
        return rows

    def table(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Rows of ``deliveries``, ``mails`` or ``slack_messages``, newest first."""
        if name not in {"deliveries", "mails", "slack_messages"}:
            raise ValueError(f"no table {name!r}")
        return _rows(self._db.execute(f"SELECT * FROM {name} ORDER BY id DESC LIMIT ?", (limit,)))
