"""``tocsin logs`` finds lines by text, level and age; compaction removes lines past the retention."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.logwatch._helpers import load_yaml

from tocsin.cli import main
from tocsin.logwatch import LogStore, Watcher
from tocsin.logwatch.store import parse_timestamp


def _stamp(delta: timedelta) -> str:
    return (datetime.now() - delta).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("logs").mkdir()
    Path("logs/archiver.log").write_text(
        f"{_stamp(timedelta(days=9))} [ERROR] [watcher] ❌ Failed to connect to MongoDB: ancient\n"
        f"{_stamp(timedelta(hours=3))} [ERROR] [watcher] ❌ Failed to connect to MongoDB: refused\n"
        f"{_stamp(timedelta(minutes=20))} [INFO] [watcher] ✅ Connected to database\n"
        f"{_stamp(timedelta(minutes=10))} [WARNING] [watcher] ⚠️  Order ORD-7 is incomplete\n"
        f"{_stamp(timedelta(minutes=5))} [ERROR] [watcher] ❌ Failed to connect to MongoDB: timed out\n"
        f"{_stamp(timedelta(minutes=1))} [DEBUG] [watcher] MongoDB ping 3 ms\n"
    )
    Path("logwatch.yaml").write_text(
        "files:\n  - path: logs/*.log\n    source: archiver\n"
        "    level: '\\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\\]'\n"
        "store: {retention: 7d}\n"
    )
    assert main(["logwatch", "--config", "logwatch.yaml", "--state-dir", "st", "--once", "--no-http"]) == 0
    return tmp_path


def _logs(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["logs", "--state-dir", "st", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_logs_finds_lines_by_text_and_level(watched: Path, capsys: pytest.CaptureFixture[str]) -> None:
    errors = _logs(capsys, "--level", "ERROR", "--grep", "mongodb")
    assert [line.split("MongoDB: ")[1] for line in errors] == ["ancient", "refused", "timed out"]
    assert all(" ERROR    archiver: " in line for line in errors)
    store = LogStore("st/logs.db", readonly=True)
    assert {row.path for row in store.search()} == {str(watched / "logs" / "archiver.log")}
    store.close()
    assert _logs(capsys, "--level", "error", "--grep", "MongoDB", "--since", "1h") == [errors[-1]]
    warnings = _logs(capsys, "--level", "WARNING", "--since", "1h")
    assert [w.split("] ", 2)[2] for w in warnings] == [
        "⚠️  Order ORD-7 is incomplete",
        errors[-1].split("] ", 2)[2],
    ]
    assert len(_logs(capsys, "--grep", "MongoDB")) == 4  # any level: the DEBUG ping too
    assert _logs(capsys, "--grep", "⚠️  Order") == [warnings[0]]  # no word characters: substring only
    assert _logs(capsys, "--grep", "not there") == []


def test_compaction_removes_lines_older_than_the_retention(
    watched: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(_logs(capsys, "--grep", "ancient")) == 1
    assert _logs(capsys, "--config", "logwatch.yaml", "--compact", "--grep", "ancient") == []
    assert len(_logs(capsys, "--level", "DEBUG")) == 5
    store = LogStore("st/logs.db")
    assert store.compact(retention=3600 * 2) == 1  # the 3-hour-old line, and nothing twice
    assert store.compact(retention=3600 * 2) == 0
    assert [r.message.rsplit(" ", 1)[-1] for r in store.search(grep="MongoDB")] == ["out", "ms"]
    store.close()


def test_the_watcher_compacts_on_its_own(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(
        f"{_stamp(timedelta(days=8))} [INFO] old\n{_stamp(timedelta(0))} [INFO] new\n"
    )
    (tmp_path / "logwatch.yaml").write_text(
        "files: [{path: a.log}]\nstore: {retention: 7d, compact_every: 1s}\n"
    )
    watcher = Watcher(load_yaml(tmp_path / "logwatch.yaml"), tmp_path / "st", tmp_path)
    watcher.poll()
    assert watcher.store is not None and watcher.store.count() == 2
    deadline = time.monotonic() + 10
    while watcher.store.count() != 1 and time.monotonic() < deadline:
        watcher.poll()
        time.sleep(0.05)
    assert [r.message[-3:] for r in watcher.store.search()] == ["new"]
    watcher.close()


def test_min_level_and_json_messages(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"level": "debug", "message": "noise", "time": "2030-01-01T00:00:00Z"}\n'
        '{"level": "error", "message": "disk full", "time": 1900000000}\n'
    )
    (tmp_path / "logwatch.yaml").write_text(
        "files: [{path: a.jsonl, format: json}]\nstore: {min_level: warning, retention: 3650d}\n"
    )
    watcher = Watcher(load_yaml(tmp_path / "logwatch.yaml"), tmp_path / "st", tmp_path)
    watcher.poll()
    assert watcher.store is not None
    (row,) = watcher.store.search()
    assert (row.level, row.message, row.ts) == ("ERROR", "disk full", 1900000000.0)
    watcher.close()


def test_timestamps() -> None:
    assert parse_timestamp("2025-10-16T12:34:56Z rest") == 1760618096.0
    assert parse_timestamp("2025-10-16 14:34:56.5+02:00 x") == 1760618096.5
    assert (
        parse_timestamp("[2025-10-16 12:34:56,250] x")
        == time.mktime((2025, 10, 16, 12, 34, 56, 0, 0, -1)) + 0.25
    )
    assert parse_timestamp("no time here") is None


def test_logs_without_a_store_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "--state-dir", str(tmp_path / "nothing")]) == 2
    assert "no log store here" in capsys.readouterr().err
