"""Acceptance: real gunicorn, 4 workers, exact totals across workers and through kill -9, bounded files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from multiprocess_writers import stop_server
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
WORKERS = 4
IDENTITY = {"app": "mp-test", "version": "1.2.3", "environment": "test", "instance": "host-a"}
LABELS = {**IDENTITY, "route": "/work"}

CONFIG = """
from tocsin.sdk import multiprocess

multiprocess.use_directory({directory!r})
on_starting = multiprocess.on_starting
child_exit = multiprocess.child_exit

bind = "127.0.0.1:0"
workers = {workers}
"""


class Gunicorn:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, directory: Path) -> None:
        self.proc = proc
        self.url = url
        self.directory = directory

    def workers(self) -> list[int]:
        return sorted(child.pid for child in psutil.Process(self.proc.pid).children())

    def hit(self, count: int) -> Counter[int]:
        """``count`` requests from 4 threads; returns how many each worker pid served."""

        def batch(n: int) -> list[int]:
            with httpx.Client(timeout=10) as client:
                return [int(client.get(self.url + "/work").text) for _ in range(n)]

        with ThreadPoolExecutor(4) as pool:
            served = [pid for chunk in pool.map(batch, [count // 4] * 4) for pid in chunk]
        assert len(served) == count
        return Counter(served)

    def scrape(self) -> dict[str, float]:
        page = httpx.get(self.url + "/metrics", timeout=10).text
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(page):
            for s in family.samples:
                if s.name == "target_info":
                    values["target_info"] = float(s.labels == IDENTITY)
                if s.name == "mp_workers" or s.labels == LABELS or s.labels == {**LABELS, "le": "+Inf"}:
                    values[s.name + ("{le=+Inf}" if "le" in s.labels else "")] = s.value
        return values

    def process_files(self) -> dict[str, list[str]]:
        """``*.db`` files by owner (a pid, or ``archive``)."""
        owners: dict[str, list[str]] = {}
        for path in self.directory.glob("*.db"):
            owners.setdefault(path.stem.rsplit("_", 1)[1], []).append(path.name)
        return owners


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Gunicorn]:
    directory = tmp_path / "multiproc"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"stale file from a previous run")
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(CONFIG.format(directory=str(directory), workers=WORKERS))
    log = tmp_path / "gunicorn.log"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(HERE)])
    env["MP_TEST_DATABASE_DOWN"] = str(tmp_path / "database-down")
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(config), "--error-logfile", "-", "gunicorn_app:app"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        listening = wait_for(
            lambda: re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text()),
            timeout=30,
            what="gunicorn to listen",
        )
        server = Gunicorn(proc, listening.group(1), directory)
        wait_for(lambda: len(server.workers()) == WORKERS, timeout=30, what="4 workers")
        yield server
    finally:
        stop_server(proc)


def test_totals_are_exact_across_workers_and_dead_workers_are_compacted(gunicorn: Gunicorn) -> None:
    assert "999999" not in gunicorn.process_files()  # on_starting wiped the previous run

    served = gunicorn.hit(4_000)
    assert len(served) >= 2, f"requests did not spread over workers: {served}"
    first = gunicorn.scrape()
    assert first["mp_requests_total"] == 4_000  # constant labels present in the merged page
    assert first["mp_request_duration_seconds_count"] == 4_000
    assert first["mp_request_duration_seconds_bucket{le=+Inf}"] == 4_000
    assert first["mp_workers"] == WORKERS
    assert first["target_info"] == 1  # the identity, from the app's registry

    before = gunicorn.workers()
    killed = before[:2]
    for pid in killed:
        os.kill(pid, signal.SIGKILL)

    def respawned_and_compacted() -> bool:
        workers = gunicorn.workers()
        owners = gunicorn.process_files()
        return (
            len(workers) == WORKERS
            and not set(killed) & set(workers)
            and not any(str(pid) in owners for pid in killed)
        )

    wait_for(respawned_and_compacted, timeout=30, what="gunicorn to respawn and compact")
    # the new workers have booted (they create their files on import)
    wait_for(
        lambda: all(str(pid) in gunicorn.process_files() for pid in gunicorn.workers()),
        timeout=30,
        what="new workers to boot",
    )

    gunicorn.hit(1_000)
    second = gunicorn.scrape()
    assert second["mp_requests_total"] == 5_000
    assert second["mp_request_duration_seconds_count"] == 5_000
    assert second["mp_workers"] == WORKERS  # the dead workers' livesum gauges are gone

    owners = gunicorn.process_files()
    live = {str(pid) for pid in gunicorn.workers()}
    assert set(owners) <= live | {"archive"}, owners
    # the health gauges (mostrecent) of a killed worker are archived too if it had answered a scrape
    archive = set(owners["archive"])
    assert {"counter_archive.db", "histogram_archive.db"} <= archive, archive
    assert archive <= {"counter_archive.db", "histogram_archive.db", "gauge_mostrecent_archive.db"}, archive
    per_worker = max(len(files) for owner, files in owners.items() if owner != "archive")
    assert sum(len(files) for files in owners.values()) <= WORKERS * per_worker + len(archive)


def test_scrape_is_consistent_whichever_worker_serves_it(gunicorn: Gunicorn) -> None:
    gunicorn.hit(400)
    started = time.monotonic()
    totals = {gunicorn.scrape()["mp_requests_total"] for _ in range(12)}
    assert totals == {400.0}
    assert time.monotonic() - started < 10


def test_scrapes_alone_keep_the_health_gauge_current_as_one_series(
    gunicorn: Gunicorn, tmp_path: Path
) -> None:
    """No probe: the worker answering each scrape runs the check first; the page has one series for it
    (not one per worker), with what that worker just saw."""

    def database_up() -> list[float]:
        page = httpx.get(gunicorn.url + "/metrics", timeout=10).text
        families = text_string_to_metric_families(page)
        samples = [s for f in families for s in f.samples if s.name == "tocsin_health_check_up"]
        assert all(s.labels["check"] == "database" and "pid" not in s.labels for s in samples), samples
        return [s.value for s in samples]

    assert {tuple(database_up()) for _ in range(12)} == {(1.0,)}
    (tmp_path / "database-down").touch()
    assert {tuple(database_up()) for _ in range(12)} == {(0.0,)}
    (tmp_path / "database-down").unlink()
    assert {tuple(database_up()) for _ in range(12)} == {(1.0,)}
