"""A pack end to end: the SDK side pushes a failed batch run to a real Pushgateway, a real Prometheus
evaluates the rules the spec's packs: line compiled to, and the pack's alert fires."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from tests.conftest import wait_for
from tests.packs.conftest import Process

from tocsin.compile import compile_spec
from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Cache, Jobs, Pushgateway, serve
from tocsin.spec import load_spec

pytestmark = pytest.mark.integration

SPEC = """\
version: tocsin/v1
app: archiver
packs:
  - {use: jobs, job: archiver, items: orders, done: archived, priority: {errors: P1}}
  - {use: cache, prefix: ocr, cache: ocr}
"""


def firing(prometheus: Process) -> dict[str, dict[str, str]]:
    alerts = httpx.get(prometheus.url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {a["labels"]["alertname"]: a["labels"] for a in alerts if a["state"] == "firing"}


def test_a_failed_run_pushed_to_the_gateway_fires_the_pack_alert(
    tmp_path: Path, pushgateway: Process, prometheus_factory: Callable[..., Process]
) -> None:
    spec_file = tmp_path / "tocsin.yaml"
    spec_file.write_text(SPEC)
    out = tmp_path / "bundle"
    compile_spec(load_spec(spec_file, profile="fast")).write(out)
    rules = tuple(str(p) for p in sorted((out / "prometheus" / "rules").glob("*.yml")))
    assert any(r.endswith("packs.yml") for r in rules)

    cache_registry = CollectorRegistry()
    cache = Cache("ocr", metrics=Metrics(prefix="ocr", registry=cache_registry))
    with serve(0, registry=cache_registry) as app:
        targets = [pushgateway.url.removeprefix("http://"), f"127.0.0.1:{app.port}"]
        prometheus = prometheus_factory(targets, rules=rules, honor_labels=True)

        registry = CollectorRegistry()
        jobs = Jobs(items="orders", done="archived", metrics=Metrics(registry=registry))
        with jobs.run(
            "archiver", push=Pushgateway(pushgateway.url, job="archiver"), push_errors="raise"
        ) as run:
            run.found(100)
            run.done(80)
            run.errors(3)
        for _ in range(50):  # a cold cache: 1 hit in 10
            cache.record(False)
        cache.record(True)

        now = wait_for(
            lambda: firing(prometheus).get("ArchiverJobErrors"), 60, interval=0.5, what="the alert"
        )
        assert now["severity"] == "critical" and now["priority"] == "P1" and now["job_name"] == "archiver"
        assert now["pack"] == "jobs"
        wait_for(
            lambda: "ArchiverJobIncompleteRun" in firing(prometheus), 60, interval=0.5, what="80 % < 95 %"
        )

        def hit_ratio() -> tuple[float] | None:
            cache.record(False)  # counters keep growing between scrapes, so rate() is never 0/0
            result = httpx.get(
                prometheus.url + "/api/v1/query", params={"query": "ocr_cache:hit_ratio:rate5m"}, timeout=5
            ).json()["data"]["result"]
            value = float(result[0]["value"][1]) if result else float("nan")
            return (value,) if value == value else None  # NaN: not two scrapes yet; 0.0 is an answer

        (ratio,) = wait_for(hit_ratio, 60, interval=0.5, what="the recorded hit ratio")
        assert ratio < 0.3
        wait_for(
            lambda: "OcrCacheHitRatioLow" in firing(prometheus), 60, interval=0.5, what="the cache alert"
        )
