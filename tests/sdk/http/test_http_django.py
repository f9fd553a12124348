"""Django middleware (sync under WSGI, async under ASGI) against real servers in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_servers import get_in_background
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

SITE = Path(__file__).with_name("http_django_site.py")
ROOT = Path(__file__).resolve().parents[3]
STREAM_CHUNK_PAUSE = 0.06


class Site:
    def __init__(self, url: str, gate: Path) -> None:
        self.url = url
        self.gate = gate

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        text = httpx.get(self.url + "/metrics", timeout=5).text
        return [
            (dict(s.labels), s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == name
        ]

    def value(self, name: str, **labels: str) -> float | None:
        found = [v for got, v in self.samples(name) if all(got.get(k) == w for k, w in labels.items())]
        assert len(found) <= 1, f"{name} {labels}: {len(found)} series"
        return found[0] if found else None


@pytest.fixture(params=["wsgi", "asgi"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    gate = tmp_path / "gate"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, str(SITE), request.param, str(gate)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{int(proc.stdout.readline())}"
        wait_for(lambda: httpx.get(url + "/metrics", timeout=2).status_code == 200, what="django site")
        yield Site(url, gate)
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


CASES = [
    ("/", "/", 200),
    ("/articles/2024/", "articles/<int:year>/", 200),
    ("/api/v1/items/blue-shoes/", "api/v1/items/<slug:slug>/", 200),
    ("/api/v1/legacy/42/", "api/v1/legacy/(?P<n>[0-9]+)/$", 200),
    ("/codes/abc", "^codes/(?P<code>[a-z]{3})$", 200),
    ("/boom/", "boom/", 500),
    ("/nowhere/", "<unmatched>", 404),
    ("/articles/not-a-year/", "<unmatched>", 404),
]


def test_django_routes_errors_streaming_and_exclusions(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=10) as client:
        for path, _, status in CASES:
            assert client.get(path).status_code == status, path
        started = time.perf_counter()
        assert client.get("/stream/").text.count("chunk") == 4
        client_seconds = time.perf_counter() - started
        assert client.get("/skipped/").status_code == 200
    for path, route, status in CASES:
        assert site.value("http_requests_total", route=route, status=str(status)) is not None, path
    assert site.value("http_requests_total", route="<unmatched>", status="404") == 2
    stream_seconds = site.value("http_request_duration_seconds_sum", route="stream/")
    assert (
        stream_seconds is not None and 4 * STREAM_CHUNK_PAUSE <= stream_seconds <= client_seconds + 0.5
    )  # the server closes after the client has it all
    routes = {labels["route"] for labels, _ in site.samples("http_requests_total")}
    assert routes == {route for _, route, _ in CASES} | {"stream/"}  # neither /skipped/ nor /metrics
    assert all(v == 0 for _, v in site.samples("http_requests_in_progress"))


def test_django_in_progress_while_the_view_runs(site: Site) -> None:
    thread, result = get_in_background(site.url + "/slow/")
    try:
        wait_for(
            lambda: site.value("http_requests_in_progress", route="slow/") == 1, what="slow/ in progress"
        )
    finally:
        site.gate.touch()
        thread.join(15)
    assert result == [200]
    assert site.value("http_requests_in_progress", route="slow/") == 0
    assert site.value("http_requests_total", route="slow/", status="200") == 1
