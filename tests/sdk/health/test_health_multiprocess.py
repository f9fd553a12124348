"""Health gauges under gunicorn-style workers: one series per check, the latest probe's result.

A probe reaches one worker. With prometheus_client's default gauge mode (``all``) every worker
kept its own ``tocsin_health_check_up{pid=...}`` series, forever, with the value of the last probe
*it* served: after the database came back, the workers no probe had reached yet still said 0, so
``min(tocsin_health_check_up) == 0`` kept firing (and dead workers' files kept adding series).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tocsin.sdk.multiprocess import MultiProcessCollector

ROOT = Path(__file__).resolve().parents[3]

# One worker: probes a check that answers ARG (1 = up, 0 = down) once, then exits.
WORKER = """
import sys
from tocsin.sdk.health import Health, checks
up = sys.argv[1] == "1"
health = Health(ready=[checks.custom("database", lambda: up)], cache_ttl=0)
health.check_sync("ready")
"""


def _probe_in_worker(directory: Path, up: bool) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", WORKER, "1" if up else "0"], env=env, check=True, timeout=60)


def _health_samples(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in MultiProcessCollector(path=directory, constant_labels_from=None).collect():
        for s in family.samples:
            if s.name.startswith("tocsin_health_check"):
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_the_latest_probe_of_any_worker_is_the_checks_state(tmp_path: Path) -> None:
    _probe_in_worker(tmp_path, up=False)  # worker 1 saw the database down
    _probe_in_worker(tmp_path, up=True)  # later, worker 2 saw it back
    samples = _health_samples(tmp_path)
    up = {labels: v for (name, labels), v in samples.items() if name == "tocsin_health_check_up"}
    assert up == {(("check", "database"),): 1.0}  # one series, no pid label, the latest result
    durations = [labels for (name, labels) in samples if name == "tocsin_health_check_duration_seconds"]
    assert durations == [(("check", "database"),)]

    _probe_in_worker(tmp_path, up=False)  # and down again: the newest wins whichever worker saw it
    assert _health_samples(tmp_path)[("tocsin_health_check_up", (("check", "database"),))] == 0.0


# One worker answers one scrape of the merged page: its own checks run first (ARG: 1 = up, 0 = down).
SCRAPING_WORKER = """
import sys
from tocsin.sdk.exposition import Exposition
from tocsin.sdk.health import Health, checks
up = sys.argv[1] == "1"
health = Health(ready=[checks.custom("database", lambda: up)], cache_ttl=0, refresh_min_interval=0)
sys.stdout.write(Exposition(multiprocess=True).respond().body.decode())
"""


def _scrape_worker(directory: Path, up: bool) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT / "src")}
    argv = [sys.executable, "-c", SCRAPING_WORKER, "1" if up else "0"]
    return subprocess.run(argv, env=env, check=True, timeout=60, capture_output=True, text=True).stdout


def test_the_worker_answering_a_scrape_runs_its_checks_first(tmp_path: Path) -> None:
    """No probe at all: each scrape shows what the answering worker just saw, as one series per check."""
    from prometheus_client.parser import text_string_to_metric_families

    def up_series(page: str) -> list[tuple[tuple[tuple[str, str], ...], float]]:
        families = text_string_to_metric_families(page)
        samples = [s for f in families for s in f.samples if s.name == "tocsin_health_check_up"]
        return sorted((tuple(sorted(s.labels.items())), s.value) for s in samples)

    database, uptime = (("check", "database"),), (("check", "uptime"),)
    assert up_series(_scrape_worker(tmp_path, up=False)) == [(database, 0.0), (uptime, 1.0)]
    # another worker, later, with the database back: its scrape shows 1, and no stale series of the first
    assert up_series(_scrape_worker(tmp_path, up=True)) == [(database, 1.0), (uptime, 1.0)]
