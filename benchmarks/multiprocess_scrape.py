"""Scrape time of a multiprocess /metrics page once many workers have died.

Set-up (the same files for both, written in prometheus_client's own mmap
format): 1,000 series (a counter with 500 label sets, a histogram with 40
label sets × 10 buckets + sum + count, a ``livesum`` gauge with 20 label
sets), 16 live workers that touched every series, and 200 dead workers.

- prometheus_client: ``MultiProcessCollector`` + ``generate_latest`` with
  the dead workers' counter and histogram files left in place, which is what
  its documented ``child_exit`` hook (``mark_process_dead``) leaves.
- tocsin: the same page from ``tocsin.sdk.exposition`` after
  ``tocsin.sdk.multiprocess.mark_process_dead`` compacted each dead worker
  into the archives (the compaction time per dead worker is reported too).

Run: ``.venv/bin/python benchmarks/multiprocess_scrape.py``; writes
``benchmarks/results/multiprocess_scrape.json``.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from _common import best_of, write_results
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tocsin.sdk.exposition import Exposition
from tocsin.sdk.multiprocess import mark_process_dead

LIVE, DEAD = 16, 200
COUNTER_SETS, HISTOGRAM_SETS, GAUGE_SETS = 500, 40, 20
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf"]
TARGET_MS = 100.0


def _keys() -> dict[str, list[str]]:
    counter = [
        mmap_key(
            "app_requests", "app_requests_total", ["route", "status"], [f"/r{i // 5}", str(200 + i % 5)], "x"
        )
        for i in range(COUNTER_SETS)
    ]
    histogram: list[str] = []
    for i in range(HISTOGRAM_SETS):
        route = f"/r{i}"
        for le in BUCKETS:
            histogram.append(
                mmap_key("app_seconds", "app_seconds_bucket", ["route", "le"], [route, le], "latency")
            )
        histogram.append(mmap_key("app_seconds", "app_seconds_sum", ["route"], [route], "latency"))
    gauge = [
        mmap_key("app_inflight", "app_inflight", ["pool"], [f"p{i}"], "in flight") for i in range(GAUGE_SETS)
    ]
    return {"counter": counter, "histogram": histogram, "gauge_livesum": gauge}


def _write(path: Path, keys: list[str], rng: random.Random) -> None:
    table = MmapedDict(str(path))
    for key in keys:
        table.write_value(key, float(rng.randint(0, 1000)), 0.0)
    table.close()


def build(directory: Path) -> tuple[list[int], int]:
    """Write the files of LIVE + DEAD workers; returns the dead pids and the series count."""
    rng = random.Random(568)  # client_python #568, the issue this answers
    keys = _keys()
    live = list(range(100_000, 100_000 + LIVE))
    dead = list(range(200_000, 200_000 + DEAD))
    for pid in live:
        for prefix, names in keys.items():
            _write(directory / f"{prefix}_{pid}.db", names, rng)
    for pid in dead:  # live gauges of dead workers are removed by either hook
        for prefix in ("counter", "histogram"):
            _write(directory / f"{prefix}_{pid}.db", keys[prefix], rng)
    series = COUNTER_SETS + HISTOGRAM_SETS * (len(BUCKETS) + 2) + GAUGE_SETS
    return dead, series


def _timed_ms(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def _values(page: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page.decode())
        for s in family.samples
    }


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="tocsin-bench-mp-"))
    try:
        client_dir, tocsin_dir = root / "client", root / "tocsin"
        client_dir.mkdir()
        dead, series = build(client_dir)
        shutil.copytree(client_dir, tocsin_dir)

        compaction_ms = [_timed_ms(lambda pid=pid: mark_process_dead(pid, tocsin_dir)) for pid in dead]
        files = {"client": len(list(client_dir.glob("*.db"))), "tocsin": len(list(tocsin_dir.glob("*.db")))}

        def client_page(directory: Path = client_dir) -> bytes:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(directory))
            return generate_latest(registry)

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tocsin_dir)
        exposition = Exposition(CollectorRegistry(), multiprocess=True, gzip=False)

        def tocsin_page() -> bytes:
            return exposition.respond().body

        client_values, tocsin_values = _values(client_page()), _values(tocsin_page())
        assert client_values.keys() == tocsin_values.keys()
        assert all(abs(client_values[k] - tocsin_values[k]) < 1e-6 for k in client_values), "pages differ"

        client_ms = best_of(lambda: _timed_ms(client_page), repeats=7)
        tocsin_ms = best_of(lambda: _timed_ms(tocsin_page), repeats=7)
        # prometheus_client's collector on the compacted files: what tocsin's lock and labels add
        floor_ms = best_of(lambda: _timed_ms(lambda: client_page(tocsin_dir)), repeats=7)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    results = {
        "setup": {
            "series": series,
            "live_workers": LIVE,
            "dead_workers": DEAD,
            "db_files": files,
        },
        "scrape_ms": {
            "prometheus_client": round(client_ms, 1),
            "tocsin": round(tocsin_ms, 1),
            "prometheus_client_on_compacted_files": round(floor_ms, 1),
        },
        "speedup": round(client_ms / tocsin_ms, 1),
        "compaction_ms_per_dead_worker": {
            "median": round(sorted(compaction_ms)[len(compaction_ms) // 2], 2),
            "max": round(max(compaction_ms), 2),
        },
        "target_ms": TARGET_MS,
        "meets_target": tocsin_ms <= TARGET_MS,
    }
    path = write_results("multiprocess_scrape", results)
    print(f"{series} series, {LIVE} live + {DEAD} dead workers; files: {files}")
    ratio = client_ms / tocsin_ms
    print(f"scrape: prometheus_client {client_ms:.1f} ms, tocsin {tocsin_ms:.1f} ms ({ratio:.1f}x)")
    print(f"compaction per dead worker: median {results['compaction_ms_per_dead_worker']['median']} ms")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
