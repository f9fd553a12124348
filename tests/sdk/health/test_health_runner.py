"""The runner: concurrency, per-check timeouts, failures as results, single-flight, caching, metrics."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from tocsin.errors import ConfigurationError
from tocsin.sdk.health import Check, CheckFailed, EndpointConfig, Health, Observation, Report, checks
from tocsin.sdk.metrics import Metrics
from tocsin.testing import sample_value

pytestmark = pytest.mark.anyio

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def _sleeper(name: str, seconds: float, *, critical: bool = True) -> Check:
    async def run() -> None:
        await asyncio.sleep(seconds)

    return checks.custom(name, run, critical=critical)


async def test_checks_run_concurrently(tocsin_metrics: Metrics) -> None:
    health = Health([_sleeper(f"c{i}", 0.1) for i in range(5)], cache_ttl=0)
    started = time.perf_counter()
    report = await health.check("ready")
    elapsed = time.perf_counter() - started
    assert report.status == "healthy"
    assert [r.name for r in report.results] == ["c0", "c1", "c2", "c3", "c4"]
    assert elapsed < 0.4  # serial would be 0.5 s; the benchmark measures the real figure


async def test_a_hung_check_fails_at_its_timeout(tocsin_metrics: Metrics) -> None:
    health = Health([_sleeper("hung", 30), _sleeper("ok", 0)], timeout=0.2, cache_ttl=0)
    started = time.perf_counter()
    report = await health.check("ready")
    assert time.perf_counter() - started < 1.0
    hung = report.results[0]
    assert (hung.status, hung.output) == ("down", "timed out after 0.2s")
    assert report.status == "unhealthy"
    assert sample_value(tocsin_metrics, "tocsin_health_check_up", {"check": "hung"}) == 0
    assert sample_value(tocsin_metrics, "tocsin_health_check_up", {"check": "ok"}) == 1
    duration = sample_value(tocsin_metrics, "tocsin_health_check_duration_seconds", {"check": "hung"})
    assert duration is not None and 0.19 < duration < 1.0


async def test_raising_checks_are_failed_results_not_crashes(tocsin_metrics: Metrics) -> None:
    def boom() -> None:
        raise RuntimeError("driver said: postgresql://app:s3cret@db/x is gone")

    async def threshold() -> None:
        raise CheckFailed("queue too long", value=120, unit="jobs")

    health = Health(
        [
            checks.custom("boom", boom, critical=False),
            checks.custom("queue", threshold, critical=False),
            checks.custom("falsy", lambda: False, critical=False),
            checks.custom("weird", lambda: "yes", critical=False),  # type: ignore[arg-type,return-value]
        ],
        cache_ttl=0,
    )
    report = await health.check("ready")
    by_name = {r.name: r for r in report.results}
    assert report.status == "degraded"
    assert by_name["boom"].output == "RuntimeError: driver said: postgresql://app:***@db/x is gone"
    assert "s3cret" in (by_name["boom"].error or "")  # raw text kept for the caller's own logs
    queue = by_name["queue"]
    assert (queue.value, queue.unit, queue.output) == (120, "jobs", "queue too long")
    assert by_name["falsy"].status == "down"
    assert by_name["weird"].output is not None and by_name["weird"].output.startswith("TypeError")


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([("a", "up", True), ("b", "up", False)], "healthy"),
        ([("a", "up", True), ("b", "down", False)], "degraded"),
        ([("a", "warn", True), ("b", "up", False)], "degraded"),
        ([("a", "down", True), ("b", "up", False)], "unhealthy"),
        ([], "healthy"),
    ],
)
async def test_overall_status(
    tocsin_metrics: Metrics, outcomes: list[tuple[str, str, bool]], status: str
) -> None:
    def make(state: str) -> object:
        async def run() -> Observation | None:
            if state == "down":
                raise CheckFailed("down")
            return Observation(status="warn") if state == "warn" else None

        return run

    health = Health(
        [checks.custom(n, make(s), critical=c) for n, s, c in outcomes],  # type: ignore[arg-type]
        cache_ttl=0,
    )
    assert (await health.check("ready")).status == status


class CountingCheck:
    """A 50 ms dependency that counts how often it is really called."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        await asyncio.sleep(0.05)


async def test_concurrent_probes_share_one_run_and_results_are_cached(tocsin_metrics: Metrics) -> None:
    dependency = CountingCheck()
    health = Health([checks.custom("db", dependency)], cache_ttl=60)
    reports = await asyncio.gather(*(health.check("ready") for _ in range(50)))
    assert dependency.calls == 1
    assert all(r.status == "healthy" for r in reports)
    again = await health.check("ready")
    assert dependency.calls == 1 and again.results[0].cached


async def test_sync_checks_run_in_a_thread_with_the_callers_context(tocsin_metrics: Metrics) -> None:
    seen: list[tuple[str, bool]] = []

    def blocking() -> None:
        seen.append((request_id.get(), threading.current_thread() is threading.main_thread()))

    health = Health([checks.custom("sync", blocking)], cache_ttl=0)
    request_id.set("req-42")
    await health.check("ready")
    assert seen == [("req-42", False)]


async def test_a_stuck_sync_check_holds_at_most_one_thread(tocsin_metrics: Metrics) -> None:
    def stuck_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "tocsin-health-stuck"]

    release = threading.Event()
    health = Health([checks.custom("stuck", lambda: release.wait(30))], timeout=0.05, cache_ttl=0)
    first = await health.check("ready")
    assert first.results[0].output == "timed out after 0.05s"
    for _ in range(20):
        report = await health.check("ready")
        assert "still blocked" in (report.results[0].output or "")
    assert len(stuck_threads()) == 1
    release.set()
    for thread in stuck_threads():
        thread.join(5)
    assert stuck_threads() == []
    assert (await health.check("ready")).status == "healthy"


async def test_liveness_never_runs_the_dependencies(tocsin_metrics: Metrics) -> None:
    health = Health([_sleeper("db", 30)], timeout=0.1, cache_ttl=0)
    live = await health.check("live")
    assert [r.name for r in live.results] == ["uptime"]
    assert live.status == "healthy"
    assert [r.name for r in (await health.check("all")).results] == ["uptime", "db"]


def test_check_sync_uses_one_background_loop(tocsin_metrics: Metrics) -> None:
    dependency = CountingCheck()
    health = Health([checks.custom("db", dependency)], cache_ttl=0)
    results: list[Report] = []
    threads = [threading.Thread(target=lambda: results.append(health.check_sync())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and dependency.calls == 1  # single-flight across worker threads
    health.close()


def test_configuration_errors(tocsin_metrics: Metrics) -> None:
    with pytest.raises(ConfigurationError, match="unique"):
        Health([checks.uptime("x"), checks.uptime("x")])
    with pytest.raises(ConfigurationError, match="not a health check"):
        Health([lambda: None])  # type: ignore[list-item]
    health = Health([])
    with pytest.raises(ConfigurationError, match="failure as success"):
        EndpointConfig(health, status_codes={"unhealthy": 200})
    with pytest.raises(ConfigurationError, match="unknown status"):
        EndpointConfig(health, status_codes={"down": 500})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="shorter than 16"):
        EndpointConfig(health, token="short")
    # a partial mapping keeps the 503 for unhealthy
    assert EndpointConfig(health, status_codes={"degraded": 503}).status_codes == {
        "healthy": 200,
        "degraded": 503,
        "unhealthy": 503,
    }


async def test_instrumentation_warns_when_the_series_cap_drops_data(tocsin_metrics: Metrics) -> None:
    health = Health([checks.instrumentation()], cache_ttl=0)
    assert (await health.check("ready")).results[0].status == "up"
    requests = tocsin_metrics.counter("requests_total", "Requests", ["path"], max_series=2)
    for path in ("/a", "/b", "/c", "/d", "/d"):
        requests.labels(path).inc()
    result = (await health.check("ready")).results[0]
    assert (result.status, result.value) == ("warn", 3)
    assert result.output == "3 observations folded into overflow series; most from requests_total"


async def test_check_sync_refuses_to_block_an_event_loop(tocsin_metrics: Metrics) -> None:
    with pytest.raises(ConfigurationError, match="would block this event loop"):
        Health([]).check_sync()
