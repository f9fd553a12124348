"""``tocsin backup`` of a 1 GB TSDB on a running stack, and ``tocsin restore`` of it.

A TSDB of ``--mb`` MB (default 1024: random values, incompressible by Prometheus' XOR encoding) is
backfilled once with promtool (tests/ops/_bigtsdb.py, kept under build/), a stack with 1 s scrapes is
started on it, and the real CLI backs it up in a pseudo-terminal (so its rich progress bar draws, as a
person sees it), plain tar and gzip. Recorded: wall and CPU seconds, MB/s, archive size, how many
times the bar was redrawn, and Prometheus' own ``up`` samples during each backup (the longest gap
between two scrapes: 1 s means scraping never paused). Then down, wipe, restore, up: restore time and
the restored block count. Results: benchmarks/results/backup.json.

    .venv/bin/python benchmarks/backup.py [--mb 1024]
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import select
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import write_results  # noqa: E402
from tests.ops._bigtsdb import big_tsdb, build_seconds, scrape_gaps, stack_over, tocsin, tree_bytes  # noqa: E402


def _in_pty(cwd: Path, *args: str) -> tuple[int, bytes, float, float]:
    """Run the CLI on a terminal: (exit code, everything it drew, wall s, CPU s of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.environ["COLUMNS"] = "120"
        os.execv(sys.executable, [sys.executable, "-m", "tocsin", *args])
    drawn = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    _, status = os.waitpid(pid, 0)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return os.waitstatus_to_exitcode(status), drawn, wall, cpu


def _backup(project: Path, prometheus: str, out: Path, *extra: str) -> dict[str, Any]:
    started = time.time()
    code, drawn, wall, cpu = _in_pty(project, "backup", "--out", str(out), *extra)
    ended = time.time()
    if code != 0:
        raise SystemExit(f"backup failed ({code}): {drawn.decode(errors='replace')[-2000:]}")
    time.sleep(2)
    samples, gap = scrape_gaps(prometheus, started, ended)
    size = out.stat().st_size
    return {
        "archive_bytes": size,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "mb_per_second": round(size / 1e6 / wall, 1),
        "progress_redraws": drawn.count(b"\r") + drawn.count(b"\x1b[2K"),
        "last_line": drawn.decode(errors="replace").strip().splitlines()[-1][:200],
        "scrapes_during_backup": samples,
        "longest_scrape_gap_seconds": round(gap, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024)
    args = parser.parse_args(argv)
    tsdb = big_tsdb(args.mb)
    results: dict[str, Any] = {
        "tsdb_bytes": tree_bytes(tsdb),
        "tsdb_build_seconds": build_seconds(tsdb),  # OpenMetrics written + promtool backfill, once
        "load_average": os.getloadavg(),
    }
    work = Path(tempfile.mkdtemp(prefix="tocsin-bench-backup-", dir=ROOT / "build"))
    try:
        with stack_over(tsdb, work) as (project, prometheus):
            time.sleep(5)
            results["plain"] = _backup(project, prometheus, work / "backup.tar")
            results["gzip"] = _backup(project, prometheus, work / "backup.tar.gz")
            (work / "backup.tar.gz").unlink()
        shutil.rmtree(project / "state")
        code, drawn, wall, cpu = _in_pty(project, "restore", str(work / "backup.tar"))
        if code != 0:
            raise SystemExit(f"restore failed: {drawn.decode(errors='replace')[-2000:]}")
        data = project / "state" / "data" / "prometheus"
        blocks = sum(1 for p in data.iterdir() if (p / "meta.json").is_file())
        results["restore"] = {"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "blocks": blocks}
        results["restore"]["restored_bytes"] = tree_bytes(data)
        up = tocsin(project, "up", "--detach")
        results["restore"]["up_after_restore"] = up.returncode == 0
        tocsin(project, "down")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_average_after"] = os.getloadavg()
    path = write_results("backup", results)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
