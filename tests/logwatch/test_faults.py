"""Disk and state faults (issue 10, item 9): keep running or exit with a clear message, never lose or
double-count. The full disk is a real one: a small tmpfs mounted for the test (we run as root here, as
CI does), so the watcher's own write path meets ENOSPC from the kernel, short writes included."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.logwatch._helpers import (
    WatcherProcess,
    counted_then_full,
    fill_disk,
    line,
    load_yaml,
    seed_config,
)
from tests.logwatch.test_seed003 import _samples

from tocsin.cli import main
from tocsin.errors import UsageError
from tocsin.logwatch import CHECKPOINT_NAME, LogStore, Watcher
from tocsin.logwatch._state import write_checkpoint


def test_a_short_write_on_a_full_disk_leaves_the_old_checkpoint_whole(small_disk: Path) -> None:
    path = small_disk / CHECKPOINT_NAME
    write_checkpoint(path, {"version": 2, "files": {}, "counts": {}})
    old = path.read_bytes()
    filler = fill_disk(small_disk)
    big = {"version": 2, "files": {}, "counts": {"stats": {f"k{i}": i for i in range(100_000)}}}
    with pytest.raises(OSError):
        write_checkpoint(path, big)  # before: 8 KiB written, the rest ignored, renamed over the good one
    assert path.read_bytes() == old
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", CHECKPOINT_NAME]  # no temp left
    filler.unlink()
    write_checkpoint(path, big)
    assert json.loads(path.read_bytes()) == big


@pytest.mark.integration
@pytest.mark.parametrize("store", [False, True], ids=["json", "store"])
def test_a_full_disk_pauses_the_watcher_which_then_resumes_exactly(
    tmp_path: Path, small_disk: Path, store: bool
) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    config = tmp_path / "logwatch.yaml"
    config.write_text(seed_config(str(log), store=store, retention="3650d"))
    watcher = WatcherProcess(config, small_disk / "state")
    with watcher:
        filler = counted_then_full(watcher, log, small_disk)
        with open(log, "ab") as f:
            f.write(b"".join(line(i)[0] for i in range(1000, 3000)))

        def paused() -> dict[str, float] | None:
            m = watcher.metrics()
            return m if m.get("logwatch_checkpoint_failing") == 1 else None

        m = wait_for(paused, timeout=30, what="the watcher to report it cannot save")
        assert m["log_lines_total"] <= 3000  # only saved counts are shown
        watcher.kill9()  # and a crash while the disk is full loses nothing either
        watcher.start()
        assert watcher.proc is not None and watcher.proc.poll() is None
        filler.unlink()
        m = watcher.wait_caught_up(3000)
        assert m["log_lines_total"] == 3000 and m["logwatch_checkpoint_failing"] == 0
        assert watcher.stop() == 0
    errors = "".join(p.read_text() for p in tmp_path.glob("watcher-*.err"))
    assert "cannot save the checkpoint" in errors and "Traceback" not in errors
    if store:
        db = LogStore(small_disk / "state" / "logs.db", readonly=True)
        assert db.count() == 3000
        db.close()


def _watcher(tmp_path: Path, *, store: bool = True, value: str = r"\d+") -> Watcher:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        "files: [{path: app.log, source: app, level: '\\[(?P<level>[A-Z]+)\\]'}]\n"
        f"patterns: [{{name: archived, regex: 'Archived (?P<n>{value}) orders', value: n}}]\n"
        f"store: {{enabled: {'true' if store else 'false'}, retention: 3650d}}\n"
    )
    return Watcher(load_yaml(config), tmp_path / "state", tmp_path, rotate_wait=0.0)


def _lines(start: int, count: int) -> bytes:
    return b"".join(b"[INFO] line %d Archived 1 orders\n" % i for i in range(start, start + count))


def _counted(w: Watcher) -> tuple[int, float]:
    for _ in range(3):
        w.poll()
    return sum(w.counts.lines.values()), sum(w.counts.patterns.get("archived_total", {}).values())


@pytest.mark.parametrize("damage", ["garbage", "truncated", "emptied"])
def test_a_damaged_store_is_moved_aside_and_nothing_is_counted_twice(tmp_path: Path, damage: str) -> None:
    (tmp_path / "app.log").write_bytes(_lines(0, 2000))
    w = _watcher(tmp_path)
    assert _counted(w) == (2000, 2000.0)
    w.close()
    db = tmp_path / "state" / "logs.db"
    size = db.stat().st_size
    if damage == "garbage":
        db.write_bytes(b"this is not a database\n" * 1000)
    elif damage == "truncated":
        os.truncate(db, size // 3)
    else:
        os.truncate(db, 0)  # before: an emptied store silently recounted every line
    with open(tmp_path / "app.log", "ab") as f:
        f.write(_lines(2000, 10))
    w = _watcher(tmp_path)
    assert _counted(w) == (2010, 2010.0)
    assert w.store is not None and w.store.count() >= 10  # new lines are stored again
    w.close()


@pytest.mark.parametrize(
    "checkpoint",
    [
        '{"version": 2, "files": [], "counts": {}}',
        '{"version": 2, "files": {"a": {}}, "counts": {}}',
        '{"version": 2, "files": {"a": [{"dev": 1, "ino": 2, "path": "x", "offset": "big"}]}}',
        '{"version": 2, "files": {"a": [{"dev": 1, "path": "x"}]}}',
        '{"version": 2, "files": {}, "counts": {"patterns": []}}',
        '{"version": 2, "files": {}, "counts": {"lines": [["x"]]}}',
        '{"version": 2, "files": {}, "counts": {"stats": {"bytes_read": -1}}}',
        '{"version": 2, "files": {}, "counts": {"stats": {"bytes_read": Infinity}}}',
        '{"version": 2, "files": {}, "counts": "many"}',
        "[1, 2, 3]",
        '{"version": 2, "files": {"trunc',
    ],
)
def test_a_checkpoint_of_the_wrong_shape_is_refused_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checkpoint: str
) -> None:
    (tmp_path / "app.log").write_bytes(_lines(0, 3))
    (tmp_path / "logwatch.yaml").write_text("files: [{path: app.log}]\nstore: {enabled: false}\n")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / CHECKPOINT_NAME).write_text(checkpoint)
    args = ["logwatch", "-c", str(tmp_path / "logwatch.yaml"), "--state-dir", str(tmp_path / "state")]
    assert main([*args, "--once", "--no-http"]) == 2  # before: AttributeError, TypeError...
    err = capsys.readouterr().err
    assert "the logwatch checkpoint is unreadable" in err and "move it away" in err
    with pytest.raises(UsageError):
        _watcher(tmp_path, store=False)


def test_a_huge_or_non_numeric_capture_never_makes_a_counter_infinite(tmp_path: Path) -> None:
    digits = b"9" * 400
    (tmp_path / "app.log").write_bytes(
        b"[INFO] Archived 5 orders\n[INFO] Archived " + digits + b" orders\n"
        b"[INFO] Archived nan orders\n[INFO] Archived inf orders\n[INFO] Archived -3 orders\n"
        b"[INFO] Archived 1e999 orders\n[INFO] Archived 7 orders\n"
    )
    w = _watcher(tmp_path, store=False, value=r"\S+")
    assert _counted(w) == (7, 12.0)  # before: +Inf for ever after the 400 digits
    assert w.counts.stats["invalid_values"] == 5
    samples = _samples(w)
    assert all(math.isfinite(v) for v in samples.values())
    assert samples["logwatch_invalid_values_total"] == 5
    w.close()
    w = _watcher(tmp_path, store=False, value=r"\S+")  # and it round-trips through the checkpoint
    assert _counted(w) == (7, 12.0)
    w.close()


def test_every_level_counter_exists_at_zero_before_its_first_line(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_bytes(b"")
    w = _watcher(tmp_path, store=False)
    samples = _samples(w)
    for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "none"):
        assert samples[f"log_lines_total{{level={level}}}{{source=app}}"] == 0.0, level
    (tmp_path / "app.log").write_bytes(b"[ERROR] first error\n")
    _counted(w)
    assert _samples(w)["log_lines_total{level=ERROR}{source=app}"] == 1.0
    w.close()
