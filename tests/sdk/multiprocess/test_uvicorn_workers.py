"""Acceptance: ``uvicorn --workers 2`` with compaction at worker start; a killed worker loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from multiprocess_writers import stop_server
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import free_port, wait_for

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent


def _total(url: str) -> float:
    page = httpx.get(url + "/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(page)}
    return sum(s.value for s in families["uv_requests"].samples if s.name == "uv_requests_total")


def _hit(url: str, count: int) -> Counter[int]:
    """``count`` requests from 4 threads; returns how many each worker pid served."""

    def batch(n: int) -> list[int]:
        with httpx.Client(timeout=10) as client:
            return [int(client.get(url + "/work").text) for _ in range(n)]

    with ThreadPoolExecutor(4) as pool:
        return Counter(pid for chunk in pool.map(batch, [count // 4] * 4) for pid in chunk)


@pytest.fixture
def uvicorn_workers(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    directory = tmp_path / "multiproc"
    directory.mkdir()
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parents[2] / "src"), str(HERE)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "uvicorn_app:app", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: httpx.get(url + "/metrics", timeout=1).status_code == 200, timeout=30, what="uvicorn"
        )
        yield url, directory
    finally:
        stop_server(proc, signal.SIGINT)


def test_killed_worker_is_compacted_by_its_successor(
    uvicorn_workers: tuple[str, Path],
) -> None:
    url, directory = uvicorn_workers
    served = _hit(url, 400)
    assert _total(url) == 400
    victim, victim_served = served.most_common(1)[0]  # its requests must survive its death
    assert victim_served > 0
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: (
            (directory / "counter_archive.db").exists() and not (directory / f"counter_{victim}.db").exists()
        ),
        timeout=30,
        what="the respawned worker to compact its predecessor",
    )
    _hit(url, 200)
    assert _total(url) == 600
    assert len(list(directory.glob("counter_*.db"))) == 3  # two live workers + the archive
