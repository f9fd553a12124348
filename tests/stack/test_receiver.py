"""The receiver's sinks and history: what is stored, what is served, and what survives odd input."""

from __future__ import annotations

import asyncio
import json
import smtplib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.stack._receiver import Served, served

from tocsin.stack import AlertHistory
from tocsin.stack.receiver import create_app


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path / "alerts.sqlite") as running:
        yield running


def _payload(status: str, fingerprint: str = "f1", **labels: str) -> dict[str, object]:
    alert = {
        "status": status,
        "labels": {"alertname": "Disk", **labels},
        "annotations": {"summary": "disk full"},
        "fingerprint": fingerprint,
        "startsAt": "t0",
    }
    return {"receiver": "tocsin", "status": status, "groupKey": '{}:{alertname="Disk"}', "alerts": [alert]}


def test_history_keeps_one_row_per_transition_and_counts_every_delivery(tmp_path: Path) -> None:
    history = AlertHistory(tmp_path / "a.sqlite")
    assert history.record_webhook(_payload("firing")) == 1
    assert history.record_webhook(_payload("firing")) == 0  # repeat or second HA instance
    assert history.record_webhook(_payload("resolved")) == 1
    assert [n["status"] for n in history.notifications()] == ["resolved", "firing"]
    assert len(history.table("deliveries")) == 3
    with pytest.raises(ValueError):
        history.table("sqlite_master")
    history.close()


def test_receiver_endpoints_in_process(tmp_path: Path) -> None:
    history = AlertHistory(tmp_path / "a.sqlite")
    app = create_app(history)

    async def drive() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            assert (await client.post("/webhook", content=b"nope")).status_code == 400
            assert (await client.post("/webhook", json={"alerts": "x"})).status_code == 400
            stored = await client.post(
                "/webhook", json=_payload("firing", severity="critical", priority="P1")
            )
            assert stored.json() == {"stored": 1}
            assert (await client.post("/slack/T/B", json={"channel": "#x"})).text == "no_text"
            slack = {"attachments": [{"title": "[FIRING:1] Disk", "text": "disk full"}]}
            assert (await client.post("/slack/T/B", json=slack)).text == "ok"
            firing = (await client.get("/api/v1/notifications", params={"status": "firing"})).json()
            assert [(n["sink"], n["alertname"]) for n in firing] == [("slack", "Disk"), ("webhook", "Disk")]
            webhook = firing[1]
            assert (webhook["severity"], webhook["priority"], webhook["summary"]) == (
                "critical",
                "P1",
                "disk full",
            )
            assert (await client.get("/api/v1/slack")).json()[0]["text"] == "[FIRING:1] Disk\ndisk full"
            metrics = (await client.get("/metrics")).text
            assert 'tocsin_receiver_notifications_total{sink="webhook"} 1' in metrics
            assert (await client.get("/webhook")).status_code == 405
            assert (await client.get("/nope")).status_code == 404

    asyncio.run(drive())
    app.close()
    history.close()


_OLD_SCHEMA = """
CREATE TABLE notifications (id INTEGER PRIMARY KEY, received_at REAL NOT NULL, receiver TEXT NOT NULL,
    status TEXT NOT NULL, alertname TEXT NOT NULL, fingerprint TEXT NOT NULL, starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL, generator_url TEXT NOT NULL,
    UNIQUE (fingerprint, status, starts_at));
CREATE TABLE mails (id INTEGER PRIMARY KEY, received_at REAL NOT NULL, mail_from TEXT NOT NULL,
    rcpt_to TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE slack_messages (id INTEGER PRIMARY KEY, received_at REAL NOT NULL, path TEXT NOT NULL,
    text TEXT NOT NULL, payload TEXT NOT NULL);
INSERT INTO notifications VALUES (1, 100.0, 'tocsin', 'firing', 'Old', 'f', 't', '',
    '{"alertname": "Old", "severity": "warning", "x": NaN}', '{"v": Infinity}', '');
INSERT INTO mails VALUES (1, 101.0, 'am@x', 'o@x', '[FIRING:3] Old (ocr critical)', 'body');
INSERT INTO slack_messages VALUES (1, 102.0, 'T0/B0/secret-token', 'RESOLVED: Old (warning)', '{}');
"""


def _old_database(path: Path) -> Path:
    """What the receiver before issue 10 left on disk: a NaN it let in, a Slack token path it kept."""
    db = sqlite3.connect(path)
    db.executescript(_OLD_SCHEMA)
    db.commit()
    db.close()
    return path


def test_an_older_history_file_is_migrated_and_its_nan_served_as_json(tmp_path: Path) -> None:
    """item 12: a webhook carrying NaN made /api/v1/notifications 500 from then on."""
    history = AlertHistory(_old_database(tmp_path / "alerts.sqlite"))
    rows = history.notifications()
    assert [(r["sink"], r["status"], r["alertname"]) for r in rows] == [
        ("slack", "resolved", "Old"),
        ("email", "firing", "Old"),
        ("webhook", "firing", "Old"),
    ]
    assert rows[2]["severity"] == "warning" and rows[2]["labels"]["x"] == "NaN"
    assert rows[1]["alerts"] == 3
    json.dumps(rows, allow_nan=False)
    slack = history.table("slack_messages")
    assert "secret-token" not in json.dumps(slack)  # item 13: the token path is not kept
    history.close()
    raw = sqlite3.connect(tmp_path / "alerts.sqlite").execute("SELECT path FROM slack_messages").fetchall()
    assert "secret-token" not in str(raw)


def test_alerts_json_is_valid_json_on_an_old_poisoned_history(tmp_path: Path) -> None:
    """item 12: `tocsin alerts --json` printed NaN, which no JSON parser reads."""
    _old_database(tmp_path / "alerts.sqlite")
    out = subprocess.run(
        [sys.executable, "-m", "tocsin", "alerts", "--state-dir", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(out.stdout, parse_constant=pytest.fail)
    assert {row["sink"] for row in rows} == {"webhook", "email", "slack"}


def _send_mail(port: int, message: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("am@example.org", ["oncall@example.org"], message)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # item 12: an unknown charset made the sink answer 500 and the mail was lost
        (
            b"Subject: [FIRING:1] Disk\r\nContent-Type: text/plain; charset=x-no-such\r\n\r\ndisk full\r\n",
            "disk full",
        ),
        (
            b"Subject: =?x-bad?q?hello?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n",
            "",
        ),
        (b"Subject: \xff\xfe latin\r\n\r\nbody \xe9\r\n", "body"),
        (b"no headers at all\r\n", ""),
        (
            b"Subject: multi\r\nContent-Type: multipart/alternative; boundary=zz\r\n\r\n--zz\r\n"
            b"Content-Type: text/plain; charset=unknown-8bit\r\n\r\nplain \xe9\r\n--zz--\r\n",
            "plain",
        ),
    ],
)
def test_every_mail_is_kept_whatever_its_charset(receiver: Served, message: bytes, expected: str) -> None:
    _send_mail(receiver.smtp_port, message)
    mails = httpx.get(f"{receiver.url}/api/v1/mails").json()
    assert len(mails) == 1 and expected in mails[0]["body"]
    assert receiver.log == []


def test_slack_token_paths_are_never_stored_or_served(receiver: Served) -> None:
    """item 13: the Slack sink stored and served the webhook's token path."""
    secret = "T0001/B0002/XyZsecretTOKEN"
    message = {"attachments": [{"title": "[FIRING:2] Disk", "text": "a\nb"}]}
    assert httpx.post(f"{receiver.url}/slack/{secret}", json=message).text == "ok"
    for what in ("slack", "notifications"):
        served_text = httpx.get(f"{receiver.url}/api/v1/{what}").text
        assert "XyZsecretTOKEN" not in served_text and "B0002" not in served_text
    db = receiver.app.store.reader.path.read_bytes()
    assert b"XyZsecretTOKEN" not in db
    assert httpx.get(f"{receiver.url}/api/v1/slack").json()[0]["webhook"].startswith("sha256:")
