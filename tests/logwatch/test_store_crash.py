"""The log store holds each line exactly once across a ``kill -9`` at the worst moment: after the
poll's rows are committed to SQLite and before the checkpoint file is renamed into place.

What a kill there leaves on disk is exactly this: the store with the poll's rows, the checkpoint file
of the poll before (its atomic rename never happened). The in-process tests recreate that state —
the watcher is dropped without its final save and the previous checkpoint file is put back — so the
moment is hit every time, not once in a while as by the randomized kills of ``test_exactness``. Each
case gives the poll a file the last checkpoint did not know (a new one, a new ``app.log`` after a
rename, the new content after a truncation): before, such a file got a new random generation at the
restart, so its lines, stored under the old one, were stored again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.logwatch._helpers import (
    WatcherProcess,
    counted_then_full,
    line,
    load_yaml,
    seed_config,
)

from tocsin.logwatch import CHECKPOINT_NAME, LogStore, Watcher


def _lines(start: int, count: int) -> bytes:
    return b"".join(line(i)[0] for i in range(start, start + count))


def _watcher(tmp_path: Path) -> Watcher:
    config = tmp_path / "logwatch.yaml"
    config.write_text(seed_config(str(tmp_path / "logs" / "*.log*"), retention="3650d"))
    return Watcher(load_yaml(config), tmp_path / "state", tmp_path, rotate_wait=0.0)


def _killed(watcher: Watcher) -> None:
    """What SIGKILL does to the watcher: its descriptors closed, no last checkpoint."""
    for source in watcher.sources:
        source.tail.close()
    assert watcher.store is not None
    watcher.store.close()


def _new_file(logs: Path) -> int:
    (logs / "b.log").write_bytes(_lines(100, 200))
    return 200


def _rename(logs: Path) -> int:
    (logs / "a.log").rename(logs / "a.log.1")
    (logs / "a.log").write_bytes(_lines(100, 200))
    return 200


def _copytruncate(logs: Path) -> int:
    shutil.copyfile(logs / "a.log", logs / "a.log.1")
    os.truncate(logs / "a.log", 0)
    with open(logs / "a.log", "ab") as f:
        f.write(_lines(100, 50))
    return 50


def _truncate_and_regrow(logs: Path) -> int:
    (logs / "a.log").write_bytes(_lines(100, 150))  # truncates, then grows past the old offset
    return 150


@pytest.mark.parametrize(
    "change",
    [_new_file, _rename, _copytruncate, _truncate_and_regrow],
    ids=["new-file", "rename", "copytruncate", "truncate-regrow"],
)
def test_a_kill_between_the_store_commit_and_the_checkpoint_stores_nothing_twice(
    tmp_path: Path, change: Callable[[Path], int]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_bytes(_lines(0, 100))
    watcher = _watcher(tmp_path)
    watcher.poll()
    assert watcher.store is not None and watcher.store.count() == 100
    checkpoint = tmp_path / "state" / CHECKPOINT_NAME
    before = checkpoint.read_bytes()

    total = 100 + change(logs)
    assert watcher.poll()  # one poll reads it all: its rows are committed, then its checkpoint saved
    assert watcher.store.count() == total
    _killed(watcher)
    checkpoint.write_bytes(before)  # the rename of that checkpoint never happened

    watcher = _watcher(tmp_path)
    for _ in range(3):
        watcher.poll()
    assert sum(watcher.counts.lines.values()) == total
    assert watcher.store is not None
    assert watcher.store.count() == total  # before: 100 + twice the new lines
    watcher.close()


def test_a_checkpoint_file_moved_away_still_starts_over(tmp_path: Path) -> None:
    """The store's copy is trusted only with the epoch of the checkpoint file it was saved before."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_bytes(_lines(0, 100))
    watcher = _watcher(tmp_path)
    watcher.poll()
    watcher.close()
    (tmp_path / "state" / CHECKPOINT_NAME).unlink()
    watcher = _watcher(tmp_path)
    assert watcher.poll()  # every line read and counted again, as documented
    assert sum(watcher.counts.lines.values()) == 100
    watcher.close()


@pytest.mark.integration
def test_a_watcher_killed_after_a_store_commit_resumes_with_the_store_exact(
    tmp_path: Path, small_disk: Path
) -> None:
    """The same moment with a real ``kill -9``: the checkpoint's disk is full, so the watcher stays
    right after its store commit (on another disk) for as long as the test wants, and is killed there."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    config = tmp_path / "logwatch.yaml"
    db = tmp_path / "store" / "logs.db"
    text = seed_config(str(logs / "app.log*"), retention="3650d")
    config.write_text(text.replace("store: {", f"store: {{path: '{db}', "))
    watcher = WatcherProcess(config, small_disk / "state")
    with watcher:
        filler = counted_then_full(watcher, log, small_disk)
        log.rename(logs / "app.log.1")
        log.write_bytes(_lines(1000, 2000))  # a file the saved checkpoint does not know

        def stored() -> bool | None:
            m = watcher.metrics()
            store = LogStore(db, readonly=True)
            try:
                return (m.get("logwatch_checkpoint_failing") == 1 and store.count() == 3000) or None
            finally:
                store.close()

        wait_for(stored, timeout=30, what="the rows committed and the checkpoint failing")
        watcher.kill9()
        filler.unlink()
        watcher.start()
        m = watcher.wait_caught_up(3000)
        assert m["log_lines_total"] == 3000
        assert watcher.stop() == 0
    store = LogStore(db, readonly=True)
    assert store.count() == 3000  # before: 5000, the new file's 2000 lines stored twice
    store.close()
