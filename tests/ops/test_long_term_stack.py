"""``stack.long_term: victoriametrics`` on real binaries: ``tocsin up --ha`` runs Debian's VictoriaMetrics
as a supervised component and both Prometheus replicas remote-write to it.

- each series is stored once (the ``replica`` label dropped, ``-dedup.minScrapeInterval`` keeping one
  sample per scrape interval), also in a range query over the last hour;
- one Prometheus hung then killed (its own TSDB has the gap) leaves no gap in VictoriaMetrics;
- VictoriaMetrics hung until the supervisor restarts it (an outage of 8–11 s, the supervisor's hang
  detection: 8+ scrapes at the fast profile's 1 s, where the 60 s of the plan are 4 at 15 s; the same
  semantics, Prometheus' WAL-backed retries) loses no sample either.

A gap is measured on raw samples (a range selector in an instant query): consecutive samples of the
pushed ``beacon`` series more than 2.5 scrape intervals apart.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import free_ports, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.path.exists("/usr/bin/victoria-metrics"), reason="Debian's victoria-metrics not installed"
    ),
]

SPEC = """version: tocsin/v1
app: longterm
stack:
  state_dir: state
  prometheus: {{port: {p0}}}
  alertmanager: {{port: {a0}, cluster_port: {c0}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{enabled: false}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{enabled: false}}
  long_term: {{port: {vm}}}
  ha:
    prometheus: {{port: {p1}}}
    alertmanager: {{port: {a1}, cluster_port: {c1}}}
alerts:
  - name: BeaconHigh
    expr: max(beacon)
    critical: "> 100"
    priority: P1
"""
#: the fast profile's scrape interval, and the largest spacing of raw samples that is not a gap
SCRAPE = 1.0
GAP = 2.5 * SCRAPE


@dataclass
class LongTermStack:
    dir: Path
    ports: dict[str, int]
    http: httpx.Client

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def tocsin(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tocsin", *args],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pid(self, component: str) -> int:
        import json

        state = json.loads((self.dir / "state" / "run" / "state.json").read_text())
        return int(state["components"][component]["pid"])

    def api(self, base: str, path: str, **params: Any) -> Any:
        reply = self.http.get(f"{self.url(base)}{path}", params=params)
        reply.raise_for_status()
        return reply.json()["data"]

    def raw_samples(self, base: str, window: float, at: float | None = None) -> list[float]:
        """Timestamps of ``beacon``'s raw samples in ``window`` seconds up to ``at`` (default now)."""
        params = {"query": f"beacon[{int(window)}s]", "time": f"{at or time.time():.3f}"}
        result = self.api(base, "/api/v1/query", **params)["result"]
        assert len(result) <= 1, f"{base}: beacon stored {len(result)} times: {result}"
        return [float(ts) for ts, _ in result[0]["values"]] if result else []


def gaps(stamps: list[float], since: float, until: float) -> list[tuple[float, float]]:
    """Spans between consecutive samples (and the window's ends) longer than GAP."""
    points = [since, *[t for t in stamps if since <= t <= until], until]
    return [(a, b) for a, b in itertools.pairwise(points) if b - a > GAP]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LongTermStack]:
    root = tmp_path_factory.mktemp("long_term")
    names = ["p0", "p1", "a0", "a1", "c0", "c1", "pushgateway", "receiver", "smtp", "vm"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    (root / "tocsin.yaml").write_text(SPEC.format(**ports))
    with httpx.Client(timeout=5) as http:
        running = LongTermStack(root, ports, http)
        up = running.tocsin("up", "--detach", "--ha", "--profile", "fast")
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            running.http.put(f"{running.url('pushgateway')}/metrics/job/beacon", content="beacon 1\n")
            yield running
        finally:
            running.tocsin("down", "--timeout", "5")


def _written_up_to(stack: LongTermStack, moment: float) -> bool:
    stamps = stack.raw_samples("vm", 600)
    return bool(stamps) and max(stamps) >= moment


def test_each_series_once_over_the_last_hour(stack: LongTermStack) -> None:
    began = time.time()
    wait_for(lambda: _written_up_to(stack, began + 20), timeout=60, what="20 s of beacon in VictoriaMetrics")
    end = time.time()
    # both replicas scrape the Pushgateway and VictoriaMetrics: one series each, without `replica`
    shared = '{__name__=~"up|beacon", job=~"pushgateway|victoriametrics|beacon"}'
    matrix = stack.api("vm", "/api/v1/query_range", query=shared, start=end - 3600, end=end, step=15)
    label_sets = [tuple(sorted(s["metric"].items())) for s in matrix["result"]]
    assert len(label_sets) == len(set(label_sets)) == 3, label_sets
    assert all("replica" not in s["metric"] for s in matrix["result"])
    for replica in ("p0", "p1"):  # while each Prometheus has its own copy, labelled
        own = stack.api(replica, "/api/v1/query", query="beacon")["result"]
        assert [s["metric"].get("job") for s in own] == ["beacon"]
    # one sample per scrape interval, not one per replica and interval
    for base in ("vm", "p0"):
        stamps = stack.raw_samples(base, 15, at=end - 2)
        assert 12 <= len(stamps) <= 16, f"{base}: {len(stamps)} samples in 15 s at a 1 s scrape"
    assert not gaps(stack.raw_samples("vm", 600, at=end - 2), began + 5, end - 2)


def test_a_prometheus_hung_then_killed_loses_nothing(stack: LongTermStack) -> None:
    pid = stack.pid("prometheus-0")
    began = time.time()
    os.kill(pid, signal.SIGSTOP)  # scrapes nothing: its own TSDB will have the hole
    try:
        time.sleep(6 * SCRAPE)  # the outage itself, not a wait for something to happen
    finally:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: stack.pid("prometheus-0") != pid, timeout=10, what="prometheus-0 restarted")
    wait_for(lambda: stack.http.get(f"{stack.url('p0')}/-/ready").status_code == 200, timeout=30)
    ended = time.time()
    wait_for(lambda: _written_up_to(stack, ended + 3), timeout=60, what="remote write after the restart")
    own = gaps(stack.raw_samples("p0", 120), began, ended + 3)
    assert own and max(b - a for a, b in own) >= 5, f"prometheus-0 should have a hole: {own}"
    assert not gaps(stack.raw_samples("vm", 120), began - 5, ended + 3)


def test_victoriametrics_down_then_restarted_loses_nothing(stack: LongTermStack) -> None:
    pid = stack.pid("victoriametrics")
    began = time.time()
    os.kill(pid, signal.SIGSTOP)  # both Prometheus' writes hang, fail, and are retried from their WAL
    wait_for(lambda: stack.pid("victoriametrics") != pid, timeout=40, what="the supervisor restarting it")
    back = time.time()
    wait_for(lambda: stack.http.get(f"{stack.url('vm')}/health").status_code == 200, timeout=30)
    replayed = "the WAL replayed into VictoriaMetrics"
    wait_for(lambda: _written_up_to(stack, back + 3), timeout=90, what=replayed)
    print(f"VictoriaMetrics down {back - began:.1f}s")
    assert back - began >= 5  # a real outage: many scrapes happened while nothing was stored
    assert not gaps(stack.raw_samples("vm", 180), began - 5, back + 3)


def _store_files(archive: Path) -> set[str]:
    import tarfile

    with tarfile.open(archive) as tar:
        return {n for n in tar.getnames() if n.startswith("victoriametrics/")}


def test_backup_and_restore_carry_the_long_term_store(stack: LongTermStack) -> None:
    """Last in the module: it takes the stack down and up again (with --ha, as the fixture did)."""
    import shutil

    wait_for(lambda: len(stack.raw_samples("vm", 60)) >= 30, timeout=60, what="30 s of samples")
    # both replicas' writes of the window are in (each replica has its own queue): well behind now
    at = time.time() - 15
    wait_for(lambda: _written_up_to(stack, at + 12), timeout=60, what="every sample up to `at` written")
    before = stack.raw_samples("vm", 60, at=at)
    assert len(before) >= 15
    archive = stack.dir / "backup.tar"
    out = stack.tocsin("backup", "--out", str(archive))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "victoriametrics" in out.stdout
    snapshots = stack.dir / "state" / "data" / "victoriametrics" / "snapshots"
    assert not [p for p in snapshots.iterdir() if p.is_dir()]  # its snapshot deleted after
    assert stack.tocsin("down", "--timeout", "10").returncode == 0
    shutil.rmtree(stack.dir / "state")
    restored = stack.tocsin("restore", str(archive))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "long-term store" in restored.stdout
    stopped = stack.dir / "stopped.tar"  # a stopped store is copied as it lies: the same files
    assert stack.tocsin("backup", "--out", str(stopped), "--quiet").returncode == 0
    assert _store_files(stopped) == _store_files(archive) != set()
    up = stack.tocsin("up", "--detach", "--ha", "--profile", "fast")
    assert up.returncode == 0, up.stdout + up.stderr
    assert stack.raw_samples("vm", 60, at=at) == before
