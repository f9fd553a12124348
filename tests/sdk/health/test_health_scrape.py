"""Health gauges are fresh at scrape time: ``/metrics`` runs the checks that are due before it renders.

Before, ``tocsin_health_check_up`` was set only by probes of ``/health*``: with nothing probing (a
local ``tocsin up``, where Prometheus only scrapes ``/metrics``) the series did not exist after a
restart, and once 0 it stayed 0 after the dependency came back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from scrape_sites import KINDS, TIMEOUT, Start, TcpProxy, start_sites

from tocsin.sdk.exposition import Exposition, make_asgi_app, make_wsgi_app, start_metrics_server
from tocsin.sdk.health import Health, checks
from tocsin.sdk.metrics import Metrics

pytestmark = pytest.mark.integration

#: Generous: a scrape answers within the check timeout plus this, even on a loaded machine.
MARGIN = 2.0


def _up(page: str) -> dict[str, float]:
    return {
        s.labels["check"]: s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
        if s.name == "tocsin_health_check_up"
    }


@pytest.fixture
def sites() -> Iterator[Start]:
    yield from start_sites()


@pytest.fixture
def pg_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(("127.0.0.1", 5432))
    yield proxy
    proxy.close()


@pytest.mark.parametrize("kind", KINDS)
def test_scrapes_alone_show_the_dependencies_state(sites: Start, pg_proxy: TcpProxy, kind: str) -> None:
    """No probe is ever made: the first scrape shows both checks up, and 0 once the database is gone."""
    url = sites(kind, pg_proxy.port)
    first = httpx.get(url, timeout=10)
    assert first.status_code == 200
    up = _up(first.text)
    assert up.get("database") == 1 and up.get("cache") == 1, up  # the old code had no series at all

    pg_proxy.close()  # the database goes away (connection refused)
    started = time.monotonic()
    after = httpx.get(url, timeout=10)
    assert time.monotonic() - started < TIMEOUT + MARGIN
    assert after.status_code == 200
    assert _up(after.text) == {"uptime": 1, "database": 0, "cache": 1}


def _metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(None, registry=registry)


def _wsgi_get(app: object) -> str:
    from werkzeug.test import Client

    return Client(app).get("/metrics").get_data(as_text=True)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_scrapes_under_a_hung_dependency_answer_in_time_and_leave_nothing(silent_port: int) -> None:
    """ASGI, WSGI and the standalone server: each scrape ends within timeout + margin, says 0, and no
    thread or task outlives it."""
    registry = CollectorRegistry()
    timeout = 0.3
    hung = checks.sql("orders-db", f"postgresql+asyncpg://app@127.0.0.1:{silent_port}/db")
    health = Health([hung], timeout=timeout, cache_ttl=0, refresh_min_interval=0, metrics=_metrics(registry))
    asgi = make_asgi_app(registry)
    wsgi = make_wsgi_app(registry)
    server = start_metrics_server(0, registry=registry)
    transport = httpx.ASGITransport(app=asgi)  # type: ignore[arg-type]
    pool = ThreadPoolExecutor(
        1, thread_name_prefix="test-scraper"
    )  # the test's own thread, made before counting
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def asgi_page() -> str:
                return (await client.get("/metrics")).text

            loop = asyncio.get_running_loop()

            async def wsgi_page() -> str:
                return await loop.run_in_executor(pool, _wsgi_get, wsgi)

            async def server_page() -> str:
                return (await loop.run_in_executor(pool, lambda: httpx.get(server.url, timeout=10))).text

            scrapers = {"asgi": asgi_page, "wsgi": wsgi_page, "standalone": server_page}
            for scrape in scrapers.values():  # warm-up: the runner's loop thread, the server's render threads
                await scrape()
            threads, tasks = set(threading.enumerate()), len(asyncio.all_tasks())
            for name, scrape in scrapers.items():
                for _ in range(3):
                    started = time.monotonic()
                    page = await scrape()
                    assert time.monotonic() - started < timeout + MARGIN, name
                    assert _up(page)["orders-db"] == 0, name
            await asyncio.sleep(timeout)  # a run a scrape stopped waiting for ends at its own timeout
            assert {t for t in threading.enumerate() if t.is_alive()} - threads == set()
            assert len(asyncio.all_tasks()) == tasks
    finally:
        pool.shutdown()
        server.close()
        health.close()


@pytest.mark.anyio
async def test_the_min_interval_and_single_flight_spare_the_dependency() -> None:
    """50 concurrent scrapes run a slow check once; scrapes within ``refresh_min_interval`` of a run
    (a probe's or a scrape's) reuse it; a probe right after a scrape reuses it through ``cache_ttl``."""
    registry = CollectorRegistry()
    calls = 0

    async def database() -> bool:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return True

    check = checks.custom("database", database)
    health = Health([check], cache_ttl=1, refresh_min_interval=60, metrics=_metrics(registry))
    transport = httpx.ASGITransport(app=make_asgi_app(registry))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        pages = await asyncio.gather(*(client.get("/metrics") for _ in range(50)))
        assert {_up(p.text)["database"] for p in pages} == {1}
        assert calls == 1
        assert (await health.check("ready")).results[0].cached  # the probe reuses the scrape's run
        await client.get("/metrics")
        assert calls == 1  # within the min interval: not run again


def test_a_check_that_raises_or_a_closed_runner_never_breaks_a_scrape(closed_port: int) -> None:
    registry = CollectorRegistry()

    def broken() -> bool:
        raise RuntimeError("boom")

    health = Health(
        [checks.custom("broken", broken), checks.tcp("refused", "127.0.0.1", closed_port)],
        refresh_min_interval=0,
        metrics=_metrics(registry),
    )
    response = Exposition(registry).respond()
    assert response.status == 200
    assert _up(response.body.decode()) == {"uptime": 1, "broken": 0, "refused": 0}
    health.close()  # no longer refreshed: the page keeps the last values
    assert _up(Exposition(registry).respond().body.decode()) == {"uptime": 1, "broken": 0, "refused": 0}


def test_refresh_on_scrape_false_leaves_the_gauges_to_probes() -> None:
    registry = CollectorRegistry()
    check = checks.custom("database", lambda: True)
    health = Health([check], refresh_on_scrape=False, metrics=_metrics(registry))
    assert _up(Exposition(registry).respond().body.decode()) == {}
    health.check_sync("ready")
    assert _up(Exposition(registry).respond().body.decode()) == {"database": 1}
    health.close()


def test_unauthorised_scrapes_run_no_check() -> None:
    """A scrape refused by auth must not reach the database (or anyone could make it)."""
    import os

    from tocsin.sdk.exposition import Auth

    registry = CollectorRegistry()
    calls = []
    check = checks.custom("database", lambda: calls.append(1) or True)
    health = Health([check], live=[], metrics=_metrics(registry))
    os.environ["TOCSIN_TEST_SCRAPE_TOKEN"] = "tok-0123456789abcdef"
    try:
        exposition = Exposition(registry, auth=Auth.bearer(token_env="TOCSIN_TEST_SCRAPE_TOKEN"))
        assert exposition.respond(authorization="Bearer wrong").status == 401
        assert calls == []
        assert exposition.respond(authorization="Bearer tok-0123456789abcdef").status == 200
        assert calls == [1]
    finally:
        del os.environ["TOCSIN_TEST_SCRAPE_TOKEN"]
        health.close()


@pytest.mark.anyio
async def test_a_hung_check_never_makes_prometheus_scrape_time_out(silent_port: int) -> None:
    """Prometheus says its scrape timeout (``X-Prometheus-Scrape-Timeout-Seconds``): a scrape waits at
    most half of it, so with a 3 s check against a hung database and a 1 s scrape timeout the page
    still comes in time; the run goes on, and a later scrape shows its 0."""
    registry = CollectorRegistry()
    hung = checks.sql("orders-db", f"postgresql+asyncpg://app@127.0.0.1:{silent_port}/db")
    health = Health(
        [hung], live=[], timeout=3, cache_ttl=0, refresh_min_interval=60, metrics=_metrics(registry)
    )
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": "1"}
    wsgi = make_wsgi_app(registry)
    server = start_metrics_server(0, registry=registry)
    transport = httpx.ASGITransport(app=make_asgi_app(registry))  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            def wsgi_page() -> str:
                from werkzeug.test import Client

                return Client(wsgi).get("/metrics", headers=headers).get_data(as_text=True)  # type: ignore[arg-type]

            async def scrapes() -> list[str]:
                return [
                    (await client.get("/metrics", headers=headers)).text,
                    await asyncio.to_thread(wsgi_page),
                    (await asyncio.to_thread(httpx.get, server.url, headers=headers, timeout=10)).text,
                ]

            started = time.monotonic()
            await scrapes()  # the first starts the run; each waits at most 0.5 s
            assert time.monotonic() - started < 3  # three scrapes, none waited for the 3 s check
            deadline = time.monotonic() + 3 + MARGIN + 3
            while time.monotonic() < deadline:
                pages = await scrapes()
                if all(_up(p).get("orders-db") == 0 for p in pages):
                    break
            assert [_up(p).get("orders-db") for p in pages] == [0, 0, 0]
            await health.check("ready")  # joins the run the ASGI scrape left on this loop, which ends with it
    finally:
        server.close()
        health.close()
