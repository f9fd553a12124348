"""vmalert -replay (Debian's victoria-metrics) as the peer: replay rules from a Prometheus into a
VictoriaMetrics and read back the ``ALERTS`` it wrote. Shared by the live test and benchmarks/backtest.py."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Victoria:
    url: str
    pid: int


@contextmanager
def victoria_metrics(data: Path, port: int) -> Iterator[Victoria]:
    """A single-node VictoriaMetrics on 127.0.0.1:``port`` storing under ``data``; stopped on exit."""
    proc = subprocess.Popen(
        ["victoria-metrics", f"-storageDataPath={data}", f"-httpListenAddr=127.0.0.1:{port}",
         "-search.latencyOffset=0s", "-search.disableCache"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield Victoria(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def replay(
    prometheus: str, rules: Path, start: float, end: float, vm: Victoria, port: int, points: int = 1000
) -> subprocess.CompletedProcess[str]:
    """``vmalert -replay`` of ``rules`` over [start, end] (whole seconds), evaluating at each group's
    interval (``-datasource.queryStep=0s``; its 5-minute default samples far too coarsely)."""
    return subprocess.run(
        ["vmalert", f"-rule={rules}", f"-datasource.url={prometheus}", f"-remoteWrite.url={vm.url}",
         f"-replay.timeFrom={rfc3339(start)}", f"-replay.timeTo={rfc3339(end)}", "-replay.disableProgressBar",
         "-replay.rulesDelay=0s", "-datasource.queryStep=0s", f"-replay.maxDatapointsPerQuery={points}",
         f"-httpListenAddr=127.0.0.1:{port}"],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def firing_alerts(vm: Victoria) -> list[dict[str, Any]]:
    """Raw ``ALERTS{alertstate="firing"}`` as query results (``metric``, ``values`` [[seconds, v]]).

    VictoriaMetrics buffers fresh samples: flush them, then read until three reads a second apart agree.
    """
    httpx.get(f"{vm.url}/internal/force_flush")
    counts: list[int] = []
    rows: list[dict[str, Any]] = []
    for _ in range(120):
        text = httpx.get(f"{vm.url}/api/v1/export", params={"match[]": 'ALERTS{alertstate="firing"}'}).text
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        counts.append(sum(len(r["timestamps"]) for r in rows))
        if len(counts) >= 3 and counts[-1] and counts[-1] == counts[-2] == counts[-3]:
            break
        time.sleep(1)
    return [
        {
            "metric": r["metric"],
            "values": [[t / 1000, v] for t, v in zip(r["timestamps"], r["values"], strict=True)],
        }
        for r in rows
    ]
