"""Backup of a big TSDB on a running stack: progress is reported all along, scrapes go on (no gap in
Prometheus' own ``up``), every block file arrives intact. CI runs it on a small TSDB
(``TOCSIN_BACKUP_TSDB_MB``, default 40); ``benchmarks/backup.py`` runs the 1 GB case and records it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tests.ops._bigtsdb import big_tsdb, scrape_gaps, stack_over, tree_bytes

from tocsin.ops import ArchiveReader
from tocsin.ops.backup import backup
from tocsin.stack.layout import StackLayout

pytestmark = pytest.mark.integration
MEGABYTES = int(os.environ.get("TOCSIN_BACKUP_TSDB_MB", "40"))


@pytest.mark.timeout(1800)
def test_a_big_tsdb_is_backed_up_live_with_progress(tmp_path: Path) -> None:
    tsdb = big_tsdb(MEGABYTES)
    with stack_over(tsdb, tmp_path) as (project, prometheus):
        time.sleep(3)  # some scrapes before
        calls: list[tuple[int, int]] = []
        started = time.time()
        result = backup(
            StackLayout(project / "state"),
            tmp_path / "big.tar",
            app="bigtsdb",
            progress=lambda done, total: calls.append((done, total)),
            compress=False,
        )
        ended = time.time()
        time.sleep(3)  # and after
        samples, gap = scrape_gaps(prometheus, started - 2, ended + 2)
    assert result.running
    total = calls[-1][1]
    assert total >= tree_bytes(tsdb) * 0.95  # the snapshot holds every block (plus the live head)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and calls[-1][0] == total
    assert len(calls) >= 20  # the bar moves along the way, not just at the end
    assert gap <= 3.0, f"scrapes paused {gap:.1f}s during the backup"
    assert samples >= (ended - started) * 0.5
    manifest = ArchiveReader(result.path).extract(tmp_path / "check")
    blocks = [p for p in (tmp_path / "check" / "prometheus").iterdir() if (p / "meta.json").is_file()]
    assert blocks and manifest["parts"]["prometheus"]["source"] == "snapshot of prometheus"
