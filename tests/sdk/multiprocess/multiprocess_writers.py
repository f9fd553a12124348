"""Helpers for the multiprocess tests: real writer processes and a reader that compares results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector as ClientCollector

ROOT = Path(__file__).resolve().parents[3]

# One process's worth of every metric type and gauge mode; ARG is a per-process number.
WRITER = """
import os, sys
from prometheus_client import Counter, Gauge, Histogram, Summary
n = int(sys.argv[1])
jobs = Counter("jobs", "jobs done", ["queue"])
jobs.labels("a").inc(n)
jobs.labels("b").inc(2 * n)
h = Histogram("job_seconds", "job time", ["queue"], buckets=(0.1, 1.0))
for v in (0.05, 0.5, 5.0)[: n % 3 + 1]:
    h.labels("a").observe(v)
Summary("payload_bytes", "payload").observe(100 * n)
for mode in ("sum", "max", "min", "mostrecent", "all", "liveall", "livesum"):
    Gauge(f"g_{mode}", mode, multiprocess_mode=mode).set(n)
print(os.getpid())
"""


def run_writers(directory: Path, numbers: list[int]) -> list[int]:
    """Run one short-lived process per number; returns their pids (all exited)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(n)], env=env, stdout=subprocess.PIPE, text=True)
        for n in numbers
    ]
    pids = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        pids.append(int(out))
    return pids


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def merged(families: object) -> Samples:
    """Every sample as (name, sorted labels) → value."""
    result: Samples = {}
    for family in families:  # type: ignore[attr-defined]
        for s in family.samples:
            result[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return result


def client_view(directory: Path) -> Samples:
    """What prometheus_client's own collector reads from the directory."""
    return merged(ClientCollector(None, path=str(directory)).collect())


def db_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.db"))


def stop_server(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> None:
    """Ask a server process to stop with ``sig``; kill it if it has not within 20 s."""
    proc.send_signal(sig)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
