"""Rotated siblings of a glob that names only the live file: found by listing, tracked by identity."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.logwatch.test_tail import _drain, _lines, _watcher

from tocsin.logwatch import CHECKPOINT_NAME
from tocsin.logwatch._scan import Lister


def _rotate(log: Path, keep: int = 10) -> None:
    """RotatingFileHandler's rollover: app.log.K → app.log.K+1, app.log → app.log.1."""
    for k in range(keep, 0, -1):
        older = log.with_name(f"{log.name}.{k}")
        if older.exists():
            older.rename(log.with_name(f"{log.name}.{k + 1}"))
    log.rename(log.with_name(f"{log.name}.1"))


def test_files_created_and_rotated_between_two_polls_are_read(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 10))
    w = _watcher(tmp_path, "app.log")
    assert _drain(w, 1) == (10, 10.0)
    for n in range(1, 4):  # three files born and rotated away while the watcher does not look
        _rotate(log)
        log.write_bytes(_lines(n * 10, 10))
    assert _drain(w) == (40, 40.0)
    _rotate(log)  # and the live file itself, with a last line still unfinished, then a new one
    log.write_bytes(_lines(40, 5))
    assert _drain(w) == (45, 45.0)
    w.close()


def test_siblings_there_at_the_first_start_are_history_and_others_are_never_read(tmp_path: Path) -> None:
    (tmp_path / "app.log.1").write_bytes(_lines(0, 7))
    (tmp_path / "app.log.2.gz").write_bytes(b"\x1f\x8b compressed\n")
    (tmp_path / "app.log.bak").write_bytes(_lines(0, 3))
    (tmp_path / "other.log.1").write_bytes(_lines(0, 3))
    log = tmp_path / "app.log"
    log.write_bytes(_lines(100, 5))
    w = _watcher(tmp_path, "app.log")
    assert _drain(w) == (5, 5.0)
    (tmp_path / "app.log.3.gz").write_bytes(b"\x1f\x8b later\n")  # compressed later: still not lines
    (tmp_path / "app.log.old").write_bytes(_lines(0, 3))
    assert _drain(w) == (5, 5.0)
    w.close()


def test_siblings_are_history_after_a_first_start_stopped_before_its_first_poll(tmp_path: Path) -> None:
    (tmp_path / "app.log.1").write_bytes(_lines(0, 7))
    (tmp_path / "app.log").write_bytes(_lines(100, 5))
    _watcher(tmp_path, "app.log").close()  # its first checkpoint is saved: it knows no file yet
    w = _watcher(tmp_path, "app.log")
    assert _drain(w) == (5, 5.0)  # before: the empty state saved for the glob made app.log.1 new
    w.close()


def test_rotations_while_the_watcher_is_down_are_read_after_restart(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 10))
    w = _watcher(tmp_path, "app.log")
    w.poll()
    w.close()
    with open(log, "ab") as f:
        f.write(_lines(10, 5))
    for n in range(3):
        _rotate(log)
        log.write_bytes(_lines(100 + n * 10, 10))
    w = _watcher(tmp_path, "app.log")
    assert _drain(w) == (45, 45.0)
    w.close()
    w = _watcher(tmp_path, "app.log")  # and a second restart reads nothing twice
    assert _drain(w) == (45, 45.0)
    w.close()


def test_a_version_1_checkpoint_takes_untracked_siblings_as_history(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 10))
    w = _watcher(tmp_path, "app.log")
    w.poll()
    w.close()
    (tmp_path / "app.log.1").write_bytes(_lines(50, 20))  # read by the old watcher, which did not save it
    path = tmp_path / "state" / CHECKPOINT_NAME
    data = json.loads(path.read_text())
    data["version"] = 1
    path.write_text(json.dumps(data))
    w = _watcher(tmp_path, "app.log")
    assert _drain(w) == (10, 10.0)
    w.close()


def test_symlink_loops_dangling_links_and_directories_in_the_way_are_skipped(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    os.symlink("loop.log", logs / "loop.log")  # ELOOP
    os.symlink("a.log", logs / "b.log")
    os.symlink("b.log", logs / "a.log")
    os.symlink("missing", logs / "dangling.log")
    (logs / "dir.log").mkdir()
    (logs / "real.log").write_bytes(_lines(0, 4))
    os.symlink("real.log", logs / "link.log")  # the same file twice: counted once
    w = _watcher(tmp_path, "logs/*.log")
    assert _drain(w) == (4, 4.0)
    w.close()


def test_rotated_name_forms() -> None:
    lister = Lister("/var/log/*.log")
    siblings = ["app.log.1", "app.log.12", "app.log-20251016", "app.log.2025-10-16", "app.log.2025-10-16_12"]
    others = ["app.log.1.gz", "app.log.bak", "app.log.swp", "app.txt.1", ".app.log.1", "app.log."]
    assert [lister.kind(n) for n in siblings] == [2] * len(siblings)
    assert [lister.kind(n) for n in others] == [0] * len(others)
    assert lister.kind("app.log") == 1
