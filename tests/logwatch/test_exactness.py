"""No line lost or counted twice: a real watcher process, a writer rotating its file, and kill -9.

The writer rotates as logrotate does: even rotations rename the file and create a new one; odd ones
copy it and truncate it in place (copytruncate), pausing while it does so, as an application would not
(a line written between logrotate's copy and its truncate is lost by the rotation itself, whatever the
reader does). The glob also matches the rotated names, so files rotated while the watcher is down are
still found; the totals must equal what the writer wrote, exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.logwatch._helpers import WatcherProcess, Written, line, run_with_kills, seed_config, write_lines

from tocsin.logwatch import LogStore

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # minutes on a loaded machine


def _assert_exact(metrics: dict[str, float], written: Written) -> None:
    assert metrics["log_lines_total"] == written.lines
    for level, n in written.levels.items():
        assert metrics[f"log_lines_total{{level={level},source=archiver}}"] == n, level
    for counter, value in written.counters.items():
        assert metrics[counter] == value, counter


def _setup(tmp_path: Path, store: bool) -> tuple[Path, WatcherProcess]:
    logs = tmp_path / "logs"
    logs.mkdir()
    config = tmp_path / "logwatch.yaml"
    # the sample lines are dated 2025-10-16: keep them past the default 7-day retention
    config.write_text(seed_config(str(logs / "app.log*"), store=store, retention="3650d"))
    return logs / "app.log", WatcherProcess(config, tmp_path / "state")


def test_million_lines_with_100_rotations_counted_exactly(tmp_path: Path) -> None:
    log, watcher = _setup(tmp_path, store=False)
    with watcher:
        watcher.start()
        written = write_lines(log, 1_000_000, rotations=100, duration=8.0)
        assert written.rotations == 100
        metrics = watcher.wait_caught_up(written.lines)
        _assert_exact(metrics, written)
        assert metrics["logwatch_truncations_total"] >= 1  # copytruncate was seen, not only its copies
        assert watcher.stop() == 0


def test_kill_9_at_random_points_then_restart_is_still_exact(tmp_path: Path) -> None:
    log, watcher = _setup(tmp_path, store=False)
    with watcher:
        written = run_with_kills(
            watcher, 1_000_000, lambda: write_lines(log, 1_000_000, rotations=100, duration=12.0)
        )
        _assert_exact(watcher.wait_caught_up(written.lines), written)
        assert watcher.stop() == 0


def test_kill_9_with_the_log_store_keeps_store_and_counters_in_step(tmp_path: Path) -> None:
    log, watcher = _setup(tmp_path, store=True)
    with watcher:
        written = run_with_kills(
            watcher, 100_000, lambda: write_lines(log, 100_000, rotations=20, duration=7.0)
        )
        _assert_exact(watcher.wait_caught_up(written.lines), written)
        assert watcher.stop() == 0
    store = LogStore(tmp_path / "state" / "logs.db", readonly=True)
    assert store.count() == written.lines
    assert len(store.search(level="ERROR", grep="Failed to connect to MongoDB", limit=10**6)) == sum(
        1 for i in range(written.lines) if b"Failed to connect" in line(i)[0]
    )
    store.close()
