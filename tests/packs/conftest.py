"""Fixtures of the pack tests: real binaries on free ports, a fresh metrics factory per test."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import free_port, wait_for

from tocsin.sdk.metrics import Metrics
from tocsin.testing import fresh_metrics


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    """A metrics factory on its own registry, the default for the test."""
    with fresh_metrics() as factory:
        yield factory


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"none of {names} is installed (make system installs them)")


class Process:
    def __init__(self, argv: list[str], url: str, ready: str) -> None:
        self.argv = argv
        self.url = url
        self.ready = ready
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(
            lambda: httpx.get(self.url + self.ready, timeout=2).status_code == 200, 30, what=self.argv[0]
        )
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def pushgateway_factory() -> Iterator[Callable[[int], Process]]:
    """Start Debian's Pushgateway on a given port (so a test can start it late, or restart it)."""
    started: list[Process] = []
    binary = _binary("prometheus-pushgateway", "pushgateway")

    def start(port: int) -> Process:
        # Debian's binary persists to /var/lib/prometheus/pushgateway.data by default, shared by every
        # Pushgateway started without the flag: an empty value keeps each test's gateway in memory.
        argv = [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]
        process = Process(argv, f"http://127.0.0.1:{port}", "/-/ready").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def pushgateway(pushgateway_factory: Callable[[int], Process]) -> Process:
    return pushgateway_factory(free_port())


def _prometheus_factory(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Start a real Prometheus scraping ``targets`` every second (``honor_labels`` for Pushgateways)."""
    started: list[Process] = []
    binary = _binary("prometheus")

    def start(targets: list[str], *, rules: tuple[str, ...] = (), honor_labels: bool = False) -> Process:
        port = free_port()
        config = tmp_path / f"prometheus-{port}.yml"
        job = {"job_name": "app", "static_configs": [{"targets": targets}], "honor_labels": honor_labels}
        config.write_text(  # JSON is YAML
            json.dumps(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": list(rules),
                    "scrape_configs": [job],
                }
            )
        )
        argv = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / f'tsdb-{port}'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        process = Process(argv, f"http://127.0.0.1:{port}", "/-/ready").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    yield from _prometheus_factory(tmp_path)


@pytest.fixture(scope="module")
def prometheus_factory_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Process]]:
    yield from _prometheus_factory(tmp_path_factory.mktemp("prometheus"))


def query(prometheus: Process, promql: str) -> list[dict[str, object]]:
    """The instant-query result of ``promql`` (fails the test on a PromQL error)."""
    answer = httpx.get(prometheus.url + "/api/v1/query", params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", f"{promql}: {answer}"
    return answer["data"]["result"]  # type: ignore[no-any-return]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page: (name, sorted labels) → value."""
    text = httpx.get(url, timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's headless Chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
