"""The receiver's webhook ingest: alerts stored per second, and what other clients wait meanwhile.

The receiver runs as ``tocsin up`` runs it (``python -m tocsin.stack.receiver``, its own process, a
fresh SQLite file). Measured, in one run:

- ``batches``: 200 webhooks of 100 alerts each, posted one after the other the way Alertmanager
  delivers a group (alerts/s);
- ``big``: one webhook carrying 40,000 alerts (a flapping label on a big fleet) while a second client
  reads ``/api/v1/notifications?limit=10`` in a loop: how long the big one takes, and the latency the
  other client saw during it (median, p99, max).

``--baseline REV`` runs the same measurements on the receiver of git revision REV too (extracted to a
temporary directory), for a before/after ratio on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import write_results

ROOT = Path(__file__).resolve().parents[1]
BATCHES, BATCH_SIZE, BIG = 200, 100, 40_000


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _payload(count: int, offset: int = 0) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": "HostDown",
                "instance": f"10.0.{i // 250}.{i % 250}:9100",
                "severity": "critical",
            },
            "annotations": {"summary": f"host {i} is down"},
            "startsAt": "2026-12-01T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": f"{i:016x}",
        }
        for i in range(offset, offset + count)
    ]
    body = {"version": "4", "receiver": "tocsin", "status": "firing", "groupKey": "{}", "alerts": alerts}
    return json.dumps(body).encode()


def _start(src: Path, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "PYTHONPATH": str(src)}
    argv = [sys.executable, "-m", "tocsin.stack.receiver", "--port", str(port), "--smtp-port", "0"]
    proc = subprocess.Popen([*argv, "--db", str(db)], env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"receiver from {src} did not start")


def _measure(src: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _start(src, Path(tmp) / "alerts.sqlite")
        try:
            memory = psutil.Process(proc.pid)
            rss_start = memory.memory_info().rss / 2**20
            with httpx.Client(base_url=url, timeout=120) as client:
                bodies = [_payload(BATCH_SIZE, 1_000_000 + i * BATCH_SIZE) for i in range(BATCHES)]
                started = time.perf_counter()
                for body in bodies:
                    client.post("/webhook", content=body).raise_for_status()
                batch_seconds = time.perf_counter() - started
                rss_batches = memory.memory_info().rss / 2**20

                big = _payload(BIG)
                done = threading.Event()
                big_seconds: list[float] = []

                def post_big() -> None:
                    t0 = time.perf_counter()
                    with httpx.Client(base_url=url, timeout=300) as other:
                        other.post("/webhook", content=big).raise_for_status()
                    big_seconds.append(time.perf_counter() - t0)
                    done.set()

                thread = threading.Thread(target=post_big)
                thread.start()
                latencies: list[float] = []
                while not done.is_set():
                    t0 = time.perf_counter()
                    client.get("/api/v1/notifications", params={"limit": "10"}).raise_for_status()
                    latencies.append(time.perf_counter() - t0)
                    time.sleep(0.005)
                thread.join()
                rss_big = memory.memory_info().rss / 2**20
        finally:
            proc.terminate()
            proc.wait(10)
    latencies.sort()
    return {
        "rss_mb": {
            "started": round(rss_start, 1),
            "after_batches": round(rss_batches, 1),
            "after_big_webhook": round(rss_big, 1),
        },
        "batches_alerts_per_second": round(BATCHES * BATCH_SIZE / batch_seconds),
        "big_webhook_alerts": BIG,
        "big_webhook_bytes": len(big),
        "big_webhook_seconds": round(big_seconds[0], 3),
        "big_webhook_alerts_per_second": round(BIG / big_seconds[0]),
        "other_client_requests_during_big": len(latencies),
        "other_client_latency_ms": {
            "median": round(statistics.median(latencies) * 1000, 2),
            "p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
            "max": round(latencies[-1] * 1000, 2),
        },
    }


def _extract(rev: str, into: Path) -> Path:
    archive = into / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "src"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="also measure the receiver of this git revision")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "what": f"{BATCHES} webhooks x {BATCH_SIZE} alerts in sequence (alerts/s); one {BIG}-alert webhook"
        " while another client reads /api/v1/notifications?limit=10 in a loop (its latency meanwhile)"
    }
    results["tocsin"] = _measure(ROOT / "src")
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            results[f"baseline_{args.baseline}"] = base = _measure(_extract(args.baseline, Path(tmp)))
        now = results["tocsin"]
        results["ratios"] = {
            "batches_throughput_now_over_baseline": round(
                now["batches_alerts_per_second"] / base["batches_alerts_per_second"], 2
            ),
            "big_webhook_seconds_now_over_baseline": round(
                now["big_webhook_seconds"] / base["big_webhook_seconds"], 3
            ),
            "other_client_max_latency_now_over_baseline": round(
                now["other_client_latency_ms"]["max"] / base["other_client_latency_ms"]["max"], 3
            ),
        }
    print(json.dumps(results, indent=2))
    write_results("receiver_ingest", results)


if __name__ == "__main__":
    main()
