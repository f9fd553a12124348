"""A TSDB of a chosen size on disk, backfilled with promtool from generated OpenMetrics.

Values are random floats (Prometheus' XOR encoding cannot shrink them: ~8 bytes a sample), one a
second, so the size on disk follows from series x samples. Everything lies in one 2-hour block window
aligned on the TSDB's grid (promtool re-reads the whole input once per window). The result is kept
under ``build/`` and reused: shared by ``tests/ops/test_backup_large.py`` and ``benchmarks/backup.py``.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["big_tsdb", "build_seconds", "scrape_gaps", "stack_over", "tocsin", "tree_bytes"]

ROOT = Path(__file__).resolve().parents[2]
BYTES_PER_SAMPLE = 7.6  # measured here: random values, 1 s apart, 120-sample chunks
WINDOW = 7200


def build_seconds(tsdb: Path) -> float | None:
    """How long :func:`big_tsdb` took to make ``tsdb`` (generation + promtool), if it recorded it."""
    for line in (tsdb.parent / "done").read_text().splitlines():
        if line.startswith("built in "):
            return float(line.split()[2])
    return None


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _write(path: Path, series: int, samples: int, start: int) -> None:
    rng = random.Random(20261202)
    with path.open("w", buffering=1 << 22) as out:
        out.write("# TYPE bench_random gauge\n")
        for s in range(series):
            head = f'bench_random{{series="s{s:06d}"}} '
            out.write("".join(f"{head}{rng.random():.12f} {start + t}\n" for t in range(samples)))
        out.write("# EOF\n")


def big_tsdb(megabytes: int, *, root: Path | None = None) -> Path:
    """A TSDB directory of about ``megabytes`` MB (blocks only), built once and kept."""
    root = root or ROOT / "build" / "bench-backup"
    place = root / f"{megabytes}mb"
    tsdb = place / "tsdb"
    if (place / "done").is_file():
        return tsdb
    shutil.rmtree(place, ignore_errors=True)
    place.mkdir(parents=True)
    samples = 6000  # 100 min at 1 s, inside one 2 h window
    series = max(1, round(megabytes * 1e6 / BYTES_PER_SAMPLE / samples))
    # two windows back, so no block touches the head a Prometheus on it will open
    start = (int(time.time()) // WINDOW - 2) * WINDOW
    text = place / "input.om"
    began = time.monotonic()
    _write(text, series, samples, start)
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(text), str(tsdb)],
        check=True,
        capture_output=True,
    )
    text.unlink()
    took = time.monotonic() - began
    (place / "done").write_text(f"{series} series x {samples} samples from {start}\nbuilt in {took:.1f} s\n")
    return tsdb


STACK_SPEC = """version: tocsin/v1
app: bigtsdb
scrape: {{interval: 1s, evaluation_interval: 1s}}
stack:
  state_dir: state
  prometheus: {{port: {prometheus}, retention: 30d}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{enabled: false}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{enabled: false}}
"""


def tocsin(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    import sys

    argv = [sys.executable, "-m", "tocsin", *args]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@contextmanager
def stack_over(tsdb: Path, directory: Path) -> Iterator[tuple[Path, str]]:
    """A running stack (1 s scrapes) whose Prometheus starts on ``tsdb``'s blocks (hard links: the
    original is never touched); yields (project dir, Prometheus URL) and stops it after."""
    from tests.conftest import free_ports

    names = ["prometheus", "alertmanager", "cluster", "pushgateway", "receiver", "smtp"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    (directory / "tocsin.yaml").write_text(STACK_SPEC.format(**ports))
    data = directory / "state" / "data" / "prometheus"
    data.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(tsdb, data, copy_function=os.link)
    up = tocsin(directory, "up", "--detach")
    if up.returncode != 0:
        raise RuntimeError(up.stdout + up.stderr)
    try:
        yield directory, f"http://127.0.0.1:{ports['prometheus']}"
    finally:
        tocsin(directory, "down", "--timeout", "10")


def scrape_gaps(prometheus: str, start: float, end: float) -> tuple[int, float]:
    """(samples, longest gap in seconds) of Prometheus' own ``up`` between ``start`` and ``end``: what a
    pause in scraping would show."""
    import httpx

    span = max(1, int(end - start + 1))
    answer = httpx.get(
        f"{prometheus}/api/v1/query",
        params={"query": f'up{{job="prometheus"}}[{span}s]', "time": f"{end:.3f}"},
        timeout=30,
    ).json()
    values = answer["data"]["result"][0]["values"] if answer["data"]["result"] else []
    stamps = [float(t) for t, _ in values if float(t) >= start]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return len(stamps), max(gaps, default=span)
