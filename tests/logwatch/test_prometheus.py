"""A real Prometheus scrapes the watcher's /metrics, and promtool finds nothing to say about it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_port, wait_for
from tests.logwatch._helpers import WatcherProcess, seed_config
from tests.logwatch.test_seed003 import SAMPLE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("prometheus"), reason="needs /usr/bin/prometheus"),
]


def test_prometheus_scrapes_seed_003_counters(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "archiver.log").write_text(SAMPLE)
    config = tmp_path / "logwatch.yaml"
    config.write_text(seed_config("logs/*.log", store=False))
    with WatcherProcess(config, tmp_path / "state") as watcher:
        watcher.start()
        watcher.wait_caught_up(SAMPLE.count("\n"))
        exposition = httpx.get(watcher.url).text
        lint = subprocess.run(
            ["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True
        )
        assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr

        port = free_port()
        target = watcher.url.removeprefix("http://").removesuffix("/metrics")
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s}\n"
            f"scrape_configs: [{{job_name: logwatch, static_configs: [{{targets: ['{target}']}}]}}]\n"
        )
        log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below, after the process
        prometheus = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=log,
        )
        try:

            def value(query: str) -> float | None:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/query", params={"query": query}, timeout=5
                )
                result = response.json()["data"]["result"]
                return float(result[0]["value"][1]) if result else None

            assert wait_for(lambda: value("orders_archived_total"), timeout=30, what="a scrape") == 157.0
            assert value('order_enrich_errors_total{kind="TimeoutError"}') == 1.0
            assert value('sum(log_lines_total{source="archiver"})') == SAMPLE.count("\n")
            assert value("connection_errors_total") == 2.0
        finally:
            prometheus.terminate()
            prometheus.wait(20)
            log.close()
