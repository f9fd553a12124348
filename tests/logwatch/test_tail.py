"""Real file life: rotation (rename, copytruncate), truncation, deletion, late files, restarts."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

from tests.logwatch._helpers import load_yaml

from tocsin.cli import main
from tocsin.logwatch import CHECKPOINT_NAME, Watcher


def _watcher(
    tmp_path: Path, glob: str, *, store: bool = False, extra: str = "", park_after: float = 60.0
) -> Watcher:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"files: [{{path: '{glob}', source: app{extra}}}]\n"
        "patterns: [{name: archived, regex: 'Archived (?P<n>\\d+)', value: n}]\n"
        f"store: {{enabled: {'true' if store else 'false'}}}\n"
    )
    return Watcher(load_yaml(config), tmp_path / "state", tmp_path, rotate_wait=0.0, park_after=park_after)


def _lines(start: int, count: int) -> bytes:
    return b"".join(
        b"line %d Archived 1 orders %s\n" % (i, b"x" * (i % 37)) for i in range(start, start + count)
    )


def _total(w: Watcher) -> tuple[int, float]:
    return sum(w.counts.lines.values()), sum(w.counts.patterns.get("archived_total", {}).values())


def _drain(w: Watcher, rounds: int = 3) -> tuple[int, float]:
    for _ in range(rounds):
        w.poll()
    return _total(w)


def test_rename_rotation_drains_the_old_file_through_its_descriptor(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    w = _watcher(tmp_path, "app.log")
    w.poll()
    with open(log, "ab") as old:  # the app still holds the old file while logrotate renames it
        log.rename(tmp_path / "app.log.1")
        old.write(_lines(100, 50))
        log.write_bytes(_lines(150, 20))
        old.write(_lines(170, 5))
    assert _drain(w) == (175, 175.0)
    assert w.counts.stats["rotations"] == 1
    assert _open_fds(w) == 1  # the rotated file is closed once idle (and kept, as a known sibling)
    assert len(w.sources[0].tail.files) == 2
    w.close()


def test_copytruncate_reads_the_unread_tail_from_the_copy(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    w = _watcher(tmp_path, "app.log")
    w.poll()
    with open(log, "ab") as f:
        f.write(_lines(100, 40))  # written, not yet read when logrotate copies and truncates
    shutil.copyfile(log, tmp_path / "app.log.1")
    os.truncate(log, 0)
    with open(log, "ab") as f:
        f.write(_lines(140, 400))  # and the file regrows past the old offset before the next poll
    assert _drain(w) == (540, 540.0)
    assert w.counts.stats["truncations"] == 1
    w.close()


def test_copies_inside_the_glob_are_not_counted_twice(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    w = _watcher(tmp_path, "app.log*")
    w.poll()
    with open(log, "ab") as f:
        f.write(_lines(100, 40))
    shutil.copyfile(log, tmp_path / "app.log.1")
    w.poll()  # sees the copy before the truncation
    os.truncate(log, 0)
    log.write_bytes(_lines(140, 10))
    shutil.copyfile(log, tmp_path / "app.log.2")  # a second copytruncate, the copy seen after it
    os.truncate(log, 0)
    with open(log, "ab") as f:
        f.write(_lines(150, 5))
    assert _drain(w) == (155, 155.0)
    w.close()


def test_deleted_file_is_read_to_its_end_and_late_files_are_picked_up(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    w = _watcher(tmp_path, "logs/*.log")
    assert w.poll() is False
    with open(logs / "a.log", "wb") as f:
        f.write(_lines(0, 10))
        f.flush()
        w.poll()
        f.write(_lines(10, 10))
        f.flush()
        (logs / "a.log").unlink()
        (logs / "b.log").write_bytes(_lines(20, 7))
        assert _drain(w) == (27, 27.0)
    w.close()


def test_restart_resumes_exactly_even_if_rotation_happened_meanwhile(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    w = _watcher(tmp_path, "app.log", store=True)
    w.poll()
    w.close()
    with open(log, "ab") as f:
        f.write(_lines(100, 30) + b"partial line Archived 1")
    log.rename(tmp_path / "app.log.1")  # rotated while the watcher is down
    log.write_bytes(_lines(130, 20))
    w = _watcher(tmp_path, "app.log", store=True)
    assert _total(w) == (100, 100.0)  # counts come back from the checkpoint
    assert _drain(w) == (151, 151.0)  # the partial line of the finished file counts once
    assert w.store is not None and w.store.count() == 151
    w.close()


def test_same_inode_new_content_is_a_new_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 50))
    w = _watcher(tmp_path, "app.log")
    w.poll()
    w.close()
    with open(log, "r+b") as f:  # rewritten in place while down (same inode, longer than before)
        f.truncate(0)
        f.write(_lines(1000, 80))
    w = _watcher(tmp_path, "app.log")
    assert _drain(w) == (130, 130.0)
    w.close()


def test_from_end_skips_what_is_there_at_first_start_only(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(_lines(0, 10) + b"half")
    w = _watcher(tmp_path, "*.log", extra=", from_end: true")
    w.poll()
    assert _total(w) == (0, 0.0)
    with open(tmp_path / "a.log", "ab") as f:
        f.write(b" a line\n" + _lines(10, 3))
    (tmp_path / "b.log").write_bytes(_lines(20, 2))  # appeared later: read from its start
    assert _drain(w) == (6, 5.0)  # "half a line" completed, plus five lines
    w.close()


def test_checkpoint_is_complete_json_with_no_temporary_left(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(_lines(0, 10))
    w = _watcher(tmp_path, "a.log")
    w.poll()
    w.close()
    state = tmp_path / "state"
    data = json.loads((state / CHECKPOINT_NAME).read_text())
    (entry,) = data["files"]["app|" + str(tmp_path / "a.log")]
    assert entry["offset"] == (tmp_path / "a.log").stat().st_size
    assert entry["head_len"] == min(entry["offset"], 1024)
    assert sorted(p.name for p in state.iterdir()) == [CHECKPOINT_NAME]


def test_a_line_longer_than_a_mebibyte_counts_once(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"Archived 5 orders " + b"x" * (2_500_000))
    w = _watcher(tmp_path, "app.log")
    w.poll()
    assert _total(w) == (1, 5.0)  # its first MiB is matched as soon as it is read
    with open(log, "ab") as f:
        f.write(b"y" * 100 + b"\n" + _lines(0, 3))
    assert _drain(w) == (4, 8.0)
    w.close()


def _open_fds(w: Watcher) -> int:
    return sum(1 for s in w.sources[0].tail.files.values() if s.fd is not None)


def test_idle_files_are_parked_and_wake_up_on_change(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    for i in range(1, 4):
        (tmp_path / f"app.log.{i}").write_bytes(_lines(i * 100, 10))
    log.write_bytes(_lines(0, 10))
    w = _watcher(tmp_path, "app.log*", park_after=0.0)
    assert _drain(w) == (40, 40.0)
    assert _open_fds(w) == 0 and len(w.sources[0].tail.files) == 4  # all parked, none forgotten
    with open(log, "ab") as f:
        f.write(_lines(10, 5))
    assert _drain(w, 1) == (45, 45.0)
    # a copytruncate of a parked file: the copy is recognised without an open descriptor
    w.poll()
    assert _open_fds(w) == 0
    shutil.copyfile(log, tmp_path / "app.log.4")
    w.poll()
    os.truncate(log, 0)
    log.write_bytes(_lines(50, 2))
    (tmp_path / "app.log.3").unlink()  # deleted while parked
    (tmp_path / "app.log.2").rename(tmp_path / "old.txt")  # renamed out of the glob while parked
    assert _drain(w) == (47, 47.0)
    w.close()


def test_an_unreadable_checkpoint_or_a_second_watcher_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(_lines(0, 3))
    (tmp_path / "logwatch.yaml").write_text("files: [{path: a.log}]\nstore: {enabled: false}\n")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / CHECKPOINT_NAME).write_text('{"version": 1, "files": {"trunc')
    args = [
        "logwatch",
        "-c",
        str(tmp_path / "logwatch.yaml"),
        "--state-dir",
        str(tmp_path / "state"),
        "--once",
    ]
    assert main([*args, "--no-http"]) == 2
    (tmp_path / "state" / CHECKPOINT_NAME).unlink()
    with open(tmp_path / "state" / "logwatch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert main([*args, "--no-http"]) == 2
    assert main([*args, "--no-http"]) == 0
