"""Backtest: 50 alerts x 7 days (1-minute evaluations) over a real Prometheus, tocsin against vmalert -replay.

Same data (50 series backfilled with promtool, one sample a minute), same rules (``bench_value{series=
"sNN"} > 90`` for 3m, one group, interval 1m), same evaluation grid (whole minutes: vmalert aligns to the
interval, tocsin is run unaligned here so both evaluate at the same instants). vmalert (Debian's
victoria-metrics 1.79) replays by querying Prometheus and remote-writing ALERTS to a VictoriaMetrics,
from which its firing intervals are read back; it runs with its default 1,000 points per request and
with 11,000 (the most Prometheus allows, as tocsin uses). tocsin is timed in-process and as the
``tocsin backtest`` command (interpreter start and imports included). Goal: faster than vmalert, with
the same firing intervals. On a shared machine wall time depends on the load (recorded); the CPU
seconds of each side (tocsin + Prometheus; vmalert + Prometheus + the VictoriaMetrics it writes to) do not.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from _common import write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.history._prom import PIDS, bench_week, prometheus  # noqa: E402
from tests.history._vmalert import firing_alerts, replay, victoria_metrics  # noqa: E402

from tocsin.history.backtest import rules_from_groups, run_backtest  # noqa: E402

REPEATS = 3
ALERTS = 50
FOR = 180


def _rules() -> dict[str, Any]:
    rules = [
        {"alert": f"Bench{i:02d}", "expr": f'bench_value{{series="s{i:02d}"}} > 90', "for": "3m"}
        for i in range(ALERTS)
    ]
    return {"groups": [{"name": "bench", "interval": "1m", "rules": rules}]}


Intervals = dict[str, list[tuple[float, float | None]]]


def _from_alerts(rows: list[dict[str, Any]], start: float, end: float) -> Intervals:
    out: Intervals = {}
    for row in rows:
        stamps = sorted(float(t) for t, _ in row["values"])
        episodes: list[list[float]] = []
        for ts in stamps:
            if episodes and ts - episodes[-1][1] <= 90:
                episodes[-1][1] = ts
            else:
                episodes.append([ts, ts])
        name = row["metric"]["alertname"]
        out.setdefault(name, []).extend(
            (a, None if b + 60 > end else b + 60) for a, b in episodes if a >= start + FOR + 60
        )
    return {k: sorted(v) for k, v in out.items()}


def _from_backtest(backtest: Any, start: float) -> Intervals:
    out: Intervals = {}
    for replayed in backtest.replays:
        for e in replayed.episodes:
            if e.fired_at is not None and e.fired_at >= start + FOR + 60:
                out.setdefault(replayed.rule.alert, []).append((e.fired_at, e.resolved_at))
    return {k: sorted(v) for k, v in out.items()}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _vmalert(
    url: str, rules: Path, start: int, end: int, points: int, root: Path, port: int
) -> tuple[float, float, Intervals]:
    with victoria_metrics(root / f"vm-{points}-{time.monotonic_ns()}", port) as vm:
        server, storage = psutil.Process(PIDS[url]), psutil.Process(vm.pid)
        cpu_before = _children_cpu() + _cpu(server) + _cpu(storage)
        began = time.perf_counter()
        done = replay(url, rules, start, end, vm, port + 1, points)
        seconds = time.perf_counter() - began
        cpu = _children_cpu() + _cpu(server) + _cpu(storage) - cpu_before
        imported = done.stderr.rsplit("Imported", 1)[-1].strip()
        print(f"vmalert {points}: {seconds:.2f} s, imported {imported}", file=sys.stderr)
        return seconds, cpu, _from_alerts(firing_alerts(vm), start, end)


def _differences(a: Intervals, b: Intervals) -> int:
    return sum(1 for k in set(a) | set(b) for x in set(a.get(k, [])) ^ set(b.get(k, [])))


def main() -> None:
    import socket

    cache = Path(tempfile.gettempdir()) / "tocsin-bench-week"
    cache.mkdir(exist_ok=True)
    tsdb, start, end = bench_week(cache)
    work = Path(tempfile.mkdtemp(prefix="tocsin-bench-backtest-"))
    rules_path = work / "rules.yml"
    rules_path.write_text(json.dumps(_rules()))
    spec = work / "tocsin.yaml"
    spec.write_text("version: tocsin/v1\napp: bench\nscrape: {interval: 1m, evaluation_interval: 1m}\n"
                    "includes: [rules.yml]\n")  # fmt: skip
    rules = rules_from_groups(_rules()["groups"], 60.0, file=str(rules_path))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    times: dict[str, list[float]] = {"tocsin": [], "tocsin_cli": [], "vmalert_1000": [], "vmalert_11000": []}
    cpu: dict[str, list[float]] = {"tocsin": [], "vmalert_1000": [], "vmalert_11000": []}
    intervals: dict[str, Intervals] = {}
    me = psutil.Process()
    with prometheus(tsdb) as url:
        server = psutil.Process(PIDS[url])
        for _ in range(REPEATS):
            cpu_before = _cpu(me) + _cpu(server)
            began = time.perf_counter()
            backtest = run_backtest(url, rules, start, end, align=False)
            times["tocsin"].append(time.perf_counter() - began)
            cpu["tocsin"].append(_cpu(me) + _cpu(server) - cpu_before)
            intervals["tocsin"] = _from_backtest(backtest, start)
            began = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).with_name("tocsin")), "backtest", str(spec), "--prometheus", url,
                 "--since", str(start), "--until", str(end), "--format", "json"],
                check=True, capture_output=True,
            )  # fmt: skip
            times["tocsin_cli"].append(time.perf_counter() - began)
            for points in (1000, 11000):
                seconds, used, found = _vmalert(url, rules_path, start, end, points, work, port)
                times[f"vmalert_{points}"].append(seconds)
                cpu[f"vmalert_{points}"].append(used)
                intervals[f"vmalert_{points}"] = found
    median = {k: statistics.median(v) for k, v in times.items()}
    episodes = sum(len(v) for v in intervals["tocsin"].values())
    results = {
        "alerts": ALERTS,
        "days": 7,
        "evaluations_per_alert": (end - start) // 60 + 1,
        "firing_episodes": episodes,
        "seconds_median": {k: round(v, 3) for k, v in median.items()},
        "seconds_all": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "cpu_seconds_median": {k: round(statistics.median(v), 3) for k, v in cpu.items()},
        "load_average": [round(x, 2) for x in psutil.getloadavg()],
        "interval_differences_vs_vmalert": {
            k: _differences(intervals["tocsin"], intervals[k]) for k in ("vmalert_1000", "vmalert_11000")
        },
        "speedup_vs_vmalert_default": round(median["vmalert_1000"] / median["tocsin"], 2),
        "speedup_vs_vmalert_11000": round(median["vmalert_11000"] / median["tocsin"], 2),
        "cli_speedup_vs_vmalert_default": round(median["vmalert_1000"] / median["tocsin_cli"], 2),
        "goal": "faster than vmalert -replay, with the same firing intervals",
    }
    path = write_results("backtest", results)
    print(
        json.dumps(
            {k: results[k] for k in ("firing_episodes", "seconds_median", "interval_differences_vs_vmalert")}
        )
    )
    print(f"-> {path}")


if __name__ == "__main__":
    main()
