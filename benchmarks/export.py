"""Export: 7 days x 50 series at a 1-minute step (504,050 points) from a real Prometheus.

Peers in the same run, against the same backfilled Prometheus (``promtool tsdb create-blocks-from
openmetrics``): the serial ``query_range`` loop people write (httpx with its defaults, one request per
day, ``response.json()``), the same serial loop with tocsin's client settings (no gzip, orjson, no
cyclic GC while decoding) to show what parallelism alone adds, and ``tocsin.history.export.export_range``
(parallel chunks, merged and edge-deduplicated). Every run must return the same points. Goal: >= 4x the
serial loop. Besides wall time (which on a shared 2-core machine depends on what else runs: the load
average is recorded), the CPU seconds of the client and of Prometheus together are reported: parallelism
cannot lower those, the client settings do.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import psutil
from _common import write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.history._prom import PIDS, bench_week, prometheus  # noqa: E402

from tocsin.history import TimeRange  # noqa: E402
from tocsin.history.export import export_range, paused_gc  # noqa: E402

REPEATS = 5
QUERY = "bench_value"


def serial_loop(
    url: str, start: int, end: int, *, tuned: bool
) -> dict[tuple[tuple[str, str], ...], list[list]]:
    headers = {"Accept-Encoding": "identity"} if tuned else {}
    merged: dict[tuple[tuple[str, str], ...], list[list]] = {}
    with httpx.Client(base_url=url, timeout=120, headers=headers) as client:
        day = start
        while day <= end:
            last = min(day + 86_400 - 60, end)
            params = {"query": QUERY, "start": day, "end": last, "step": 60}
            response = client.get("/api/v1/query_range", params=params)
            if tuned:
                with paused_gc():
                    body = orjson.loads(response.content)
            else:
                body = response.json()
            for item in body["data"]["result"]:
                merged.setdefault(tuple(sorted(item["metric"].items())), []).extend(item["values"])
            day = last + 60
    return merged


def main() -> None:
    cache = Path(tempfile.gettempdir()) / "tocsin-bench-week"
    cache.mkdir(exist_ok=True)
    tsdb, start, end = bench_week(cache)
    span = TimeRange(start, end, 60)
    timings: dict[str, list[float]] = {"serial_loop": [], "serial_loop_tuned": [], "tocsin_export": []}
    cpu: dict[str, list[float]] = {name: [] for name in timings}
    me = psutil.Process()
    with prometheus(tsdb) as url:
        server = psutil.Process(PIDS[url])
        reference = None
        for _ in range(REPEATS):
            for name in timings:
                cpu_before = sum(me.cpu_times()[:2]) + sum(server.cpu_times()[:2])
                began = time.perf_counter()
                if name == "tocsin_export":
                    series = export_range(url, QUERY, span)
                    points = {tuple(sorted(s.labels.items())): s.points for s in series}
                else:
                    points = serial_loop(url, start, end, tuned=name.endswith("tuned"))
                timings[name].append(time.perf_counter() - began)
                cpu[name].append(sum(me.cpu_times()[:2]) + sum(server.cpu_times()[:2]) - cpu_before)
                count = sum(len(v) for v in points.values())
                assert count == 50 * span.points, (name, count)
                if reference is None:
                    reference = points
                assert points == reference, f"{name} returned different points"
    median = {k: statistics.median(v) for k, v in timings.items()}
    results = {
        "points": 50 * span.points,
        "series": 50,
        "step_seconds": 60,
        "repeats": REPEATS,
        "seconds_median": {k: round(v, 3) for k, v in median.items()},
        "seconds_all": {k: [round(x, 3) for x in v] for k, v in timings.items()},
        "cpu_seconds_median": {k: round(statistics.median(v), 3) for k, v in cpu.items()},
        "load_average": [round(x, 2) for x in psutil.getloadavg()],
        "speedup_vs_serial_loop": round(median["serial_loop"] / median["tocsin_export"], 2),
        "speedup_vs_tuned_serial_loop": round(median["serial_loop_tuned"] / median["tocsin_export"], 2),
        "goal": ">= 4x the serial loop",
    }
    path = write_results("export", results)
    speedup = results["speedup_vs_serial_loop"]
    print(f"serial loop {median['serial_loop']:.2f} s, tuned serial {median['serial_loop_tuned']:.2f} s,")
    print(f"tocsin {median['tocsin_export']:.2f} s: {speedup}x ({path})")


if __name__ == "__main__":
    main()
