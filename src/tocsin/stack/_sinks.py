"""What a mail or a Slack message says about its alerts: receiver, status, name, severity, priority.

The webhook carries every label; a mail and a Slack message carry text. tocsin's compiled
``alertmanager.yml`` makes them say it plainly (see ``tocsin.compile.alertmanager``):

- mail: headers ``X-Tocsin-Receiver``, ``X-Tocsin-Status``, ``X-Tocsin-Alertname``,
  ``X-Tocsin-Severity``, ``X-Tocsin-Priority``, ``X-Tocsin-Alerts`` (invisible to a reader);
- Slack: the attachment title ``[FIRING:2] Name``, the fields ``severity`` and ``priority``, and
  the attachment's ``callback_id`` (the receiver; Slack does not show it).

Messages from a hand-written Alertmanager config fall back on Alertmanager's default subject and
title (``[FIRING:2] Name ...``), which give the status, the count and the first group label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tocsin.stack._payloads import Mail

try:  # CPython's own SHA-256: hashlib would load OpenSSL, 0.7 MB of RSS in a process that runs all day
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - other interpreters, Python 3.12+ (_sha2)
    from hashlib import sha256

__all__ = ["Summary", "mail_summary", "slack_summary", "title_summary", "webhook_id"]

_TITLE = re.compile(r"^\s*\[?(FIRING|RESOLVED)(?::(\d+))?\]?:?\s+([^\s(]+)", re.IGNORECASE)


def webhook_id(path: str) -> str:
    """A Slack webhook's identity without its secret: the token in its path never reaches the store."""
    digest: str = sha256(path.encode()).hexdigest()
    return f"sha256:{digest[:12]}"


@dataclass(frozen=True)
class Summary:
    """The group a message was about; ``alerts`` is how many alerts it listed (0: unknown)."""

    receiver: str = ""
    status: str = ""
    alertname: str = ""
    severity: str = ""
    priority: str = ""
    alerts: int = 0

    def columns(self) -> tuple[str, str, str, str, str, int]:
        return (self.receiver, self.status, self.alertname, self.severity, self.priority, self.alerts)


def title_summary(title: str) -> Summary:
    """Status, count and name from ``[FIRING:2] Name ...`` (Alertmanager's default subject and title)."""
    match = _TITLE.match(title)
    if not match:
        return Summary()
    count = int(match[2]) if match[2] and len(match[2]) < 7 else 0
    return Summary(status=match[1].lower(), alertname=match[3], alerts=count)


def _count(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 7 else 0


def mail_summary(mail: Mail) -> Summary:
    header = mail.headers.get
    guess = title_summary(mail.subject)
    return Summary(
        receiver=header("x-tocsin-receiver", ""),
        status=header("x-tocsin-status", "").lower() or guess.status,
        alertname=header("x-tocsin-alertname", "") or guess.alertname,
        severity=header("x-tocsin-severity", ""),
        priority=header("x-tocsin-priority", ""),
        alerts=_count(header("x-tocsin-alerts", "")) or guess.alerts,
    )


def slack_summary(payload: dict[str, Any]) -> Summary:
    attachments = payload.get("attachments")
    first = attachments[0] if isinstance(attachments, list) and attachments else {}
    if not isinstance(first, dict):
        first = {}
    guess = title_summary(str(first.get("title") or payload.get("text") or ""))
    fields = first.get("fields") if isinstance(first.get("fields"), list) else []
    named = {
        str(f.get("title", "")).lower(): str(f.get("value", "")) for f in fields or [] if isinstance(f, dict)
    }
    return Summary(
        receiver=str(first.get("callback_id") or ""),
        status=guess.status,
        alertname=guess.alertname,
        severity=named.get("severity", ""),
        priority=named.get("priority", ""),
        alerts=guess.alerts,
    )
