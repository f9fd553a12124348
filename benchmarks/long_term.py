"""Long-term store: ingest and query cost of 100k series, Prometheus alone vs Prometheus + VictoriaMetrics.

Both set-ups run side by side in the same run, so they share the machine's load: one target serves 100,000
gauge series (values change every scrape) to two Debian Prometheus 2.42 servers scraping it every 5 s —
``alone`` stores them, ``writer`` stores them and remote-writes to a Debian VictoriaMetrics 1.79 started
with the flags ``tocsin up`` gives it (``stack.long_term``: dedup at the scrape interval). After both hold
every series, CPU seconds and RSS of each process are sampled over an ingest window; then the same range
queries (the last 10 minutes at a 15 s step: one series, a sum over all, a topk, a count) are timed
against ``alone`` and against VictoriaMetrics. Disk use of each data dir is recorded at the end.

The machine is a shared 2-core box: read the ratios (``writer + victoriametrics`` over ``alone``; query
time VictoriaMetrics over Prometheus), recorded with the load average.

    .venv/bin/python benchmarks/long_term.py [--series 100000] [--window 60]
"""

from __future__ import annotations

import argparse
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import free_ports  # noqa: E402

from tocsin.compile.long_term import victoriametrics_flags  # noqa: E402

SCRAPE = 5
QUERIES = {
    "one_series": 'bench_series{i="4242"}',
    "sum_all": "sum(bench_series)",
    "topk_by_shard": "topk(5, sum by (shard) (bench_series))",
    "count": "count(bench_series)",
}
QUERY_REPEATS = 5


def _bodies(series: int, variants: int = 4) -> list[bytes]:
    """Exposition texts of ``series`` gauges, values drawn anew per variant (served in turn)."""
    rng = random.Random(1)
    names = [f'bench_series{{shard="{i % 100}",i="{i}"}} ' for i in range(series)]
    head = "# TYPE bench_series gauge\n"
    return [
        (head + "".join(f"{n}{rng.random() * 100:.3f}\n" for n in names)).encode() for _ in range(variants)
    ]


@contextmanager
def target(series: int, port: int) -> Iterator[str]:
    bodies, turn = _bodies(series), [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies[turn[0] % len(bodies)]
            turn[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)


@contextmanager
def process(argv: list[str], log: Path, ready: str) -> Iterator[psutil.Process]:
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(ready, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{argv[0]} not ready: see {log}")
                time.sleep(0.2)
            yield psutil.Process(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def prometheus(root: Path, name: str, port: int, scrape: str, remote: str | None) -> list[str]:
    config = root / f"{name}.yml"
    text = (
        f"global: {{scrape_interval: {SCRAPE}s, scrape_timeout: {SCRAPE}s}}\n"
        f"scrape_configs: [{{job_name: bench, static_configs: [{{targets: ['{scrape}']}}]}}]\n"
    )
    if remote:  # as the compiler writes it for stack.long_term (compile/long_term.remote_write)
        text += f"remote_write: [{{url: '{remote}', name: long-term}}]\n"
    config.write_text(text)
    return [
        "prometheus", f"--config.file={config}", f"--storage.tsdb.path={root / name}",
        f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=15d",
    ]  # fmt: skip


def count(url: str) -> int:
    try:  # a busy server may answer 503 or time out: not full yet
        reply = httpx.get(f"{url}/api/v1/query", params={"query": "count(bench_series)"}, timeout=60).json()
    except (httpx.HTTPError, ValueError):
        return 0
    result = reply.get("data", {}).get("result")
    return int(float(result[0]["value"][1])) if result else 0


def wait_all(urls: list[str], series: int, timeout: float) -> float:
    began = time.monotonic()
    while not all(count(u) >= series for u in urls):
        if time.monotonic() - began > timeout:
            raise RuntimeError(
                f"not every store has {series} series after {timeout}s: {[count(u) for u in urls]}"
            )
        time.sleep(1)
    return time.monotonic() - began


def remote_lag(url: str) -> float:
    """Seconds between the newest sample the writer has and the newest it sent (its backlog), from its
    own /metrics (it does not scrape itself)."""
    values: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        for name in (
            "prometheus_remote_storage_highest_timestamp_in_seconds",
            "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
        ):
            if line.startswith(name):
                values[name] = float(line.rsplit(" ", 1)[1])
    if len(values) < 2:
        return float("inf")
    return (
        values["prometheus_remote_storage_highest_timestamp_in_seconds"]
        - values["prometheus_remote_storage_queue_highest_sent_timestamp_seconds"]
    )


def wait_caught_up(url: str, timeout: float) -> None:
    began = time.monotonic()
    while remote_lag(url) > 2 * SCRAPE:
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"remote write still {remote_lag(url):.0f}s behind after {timeout}s")
        time.sleep(1)


def cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def time_queries(url: str, end: float) -> dict[str, float]:
    """Median seconds of each query over the last 10 minutes (15 s step), on one keep-alive client."""
    out = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for name, query in QUERIES.items():
            params = {"query": query, "start": end - 600, "end": end, "step": 15}
            runs = []
            for _ in range(QUERY_REPEATS):
                began = time.perf_counter()
                reply = client.get("/api/v1/query_range", params=params)
                runs.append(time.perf_counter() - began)
                assert reply.json()["status"] == "success", reply.text[:300]
            out[name] = round(statistics.median(runs), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds of ingest measured")
    args = parser.parse_args()
    p_target, p_alone, p_writer, p_vm = free_ports(4)
    vm_url = f"http://127.0.0.1:{p_vm}"
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-lt-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        print(f"rendering {args.series:,} series…", flush=True)
        scrape = stack.enter_context(target(args.series, p_target))
        options = {"retention": "1y", "dedup_interval": f"{SCRAPE}s"}
        vm = stack.enter_context(
            process(
                [
                    "victoria-metrics",
                    *victoriametrics_flags(options, listen=f"127.0.0.1:{p_vm}", data=str(root / "vm")),
                ],
                root / "vm.log",
                f"{vm_url}/health",
            )
        )
        alone = stack.enter_context(
            process(prometheus(root, "alone", p_alone, scrape, None), root / "alone.log",
                    f"http://127.0.0.1:{p_alone}/-/ready")
        )  # fmt: skip
        writer = stack.enter_context(
            process(prometheus(root, "writer", p_writer, scrape, f"{vm_url}/api/v1/write"),
                    root / "writer.log", f"http://127.0.0.1:{p_writer}/-/ready")
        )  # fmt: skip
        urls = [f"http://127.0.0.1:{p_alone}", f"http://127.0.0.1:{p_writer}", vm_url]
        print("waiting for every store to hold every series…", flush=True)
        settle = wait_all(urls, args.series, timeout=600)
        wait_caught_up(urls[1], timeout=300)  # the window measures steady state, not the first backlog
        procs = {"prometheus_alone": alone, "prometheus_writer": writer, "victoriametrics": vm}
        cpu0 = {k: cpu(p) for k, p in procs.items()}
        rss: dict[str, list[float]] = {k: [] for k in procs}
        began = time.monotonic()
        print(f"all stores full after {settle:.0f}s; measuring {args.window:.0f}s of ingest…", flush=True)
        while time.monotonic() - began < args.window:
            for k, p in procs.items():
                rss[k].append(p.memory_info().rss / 2**20)
            time.sleep(1)
        elapsed = time.monotonic() - began
        cpu_per_s = {k: round((cpu(p) - cpu0[k]) / elapsed, 3) for k, p in procs.items()}
        end = time.time() - 2 * SCRAPE  # VictoriaMetrics hides the newest two scrape intervals
        print("timing queries…", flush=True)
        query_s = {"prometheus": time_queries(urls[0], end), "victoriametrics": time_queries(vm_url, end)}
        disk = {
            "prometheus_alone": du(root / "alone"),
            "prometheus_writer": du(root / "writer"),
            "victoriametrics": du(root / "vm"),
        }
        samples_per_s = args.series / SCRAPE
    rss_mb = {k: {"median": round(statistics.median(v), 1), "max": round(max(v), 1)} for k, v in rss.items()}
    with_vm_cpu = cpu_per_s["prometheus_writer"] + cpu_per_s["victoriametrics"]
    with_vm_rss = rss_mb["prometheus_writer"]["median"] + rss_mb["victoriametrics"]["median"]
    results = {
        "series": args.series,
        "scrape_interval_seconds": SCRAPE,
        "samples_per_second": samples_per_s,
        "ingest_window_seconds": round(elapsed, 1),
        "settle_seconds": round(settle, 1),
        "cpu_cores": cpu_per_s,
        "cpu_microseconds_per_sample": {k: round(v / samples_per_s * 1e6, 2) for k, v in cpu_per_s.items()},
        "rss_mb": rss_mb,
        "disk_bytes_after_window": disk,
        "query_seconds_median": query_s,
        "ratios": {
            "cpu_with_vm_over_alone": round(with_vm_cpu / cpu_per_s["prometheus_alone"], 2),
            "remote_write_cpu_over_alone": round(
                cpu_per_s["prometheus_writer"] / cpu_per_s["prometheus_alone"], 2
            ),
            "rss_with_vm_over_alone": round(with_vm_rss / rss_mb["prometheus_alone"]["median"], 2),
            "query_vm_over_prometheus": {
                q: round(query_s["victoriametrics"][q] / query_s["prometheus"][q], 2) for q in QUERIES
            },
        },
        "load_average": [round(x, 2) for x in psutil.getloadavg()],
        "versions": {"prometheus": "2.42.0 (Debian)", "victoriametrics": "1.79.5 (Debian)"},
    }
    path = write_results("long_term", results)
    print(f"cpu cores: {cpu_per_s}")
    print(f"rss MB (median): { {k: v['median'] for k, v in rss_mb.items()} }")
    print(f"queries: {query_s}")
    print(f"ratios: {results['ratios']} ({path})")


if __name__ == "__main__":
    main()
