"""serve(): /metrics and /health on one port for a worker with no web app, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tocsin.errors import ConfigurationError, StackError
from tocsin.sdk.health import Health, checks
from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Stream, serve

pytestmark = pytest.mark.integration


def _failing() -> None:
    raise RuntimeError("source unreachable")


def test_one_port_serves_metrics_and_the_three_health_paths() -> None:
    registry = CollectorRegistry()
    factory = Metrics(registry=registry)
    Stream(metrics=factory).event(seconds=0.1)
    health = Health(ready=[checks.custom("source", _failing)], metrics=factory)
    with serve(0, health=health, registry=registry) as server:
        metrics = httpx.get(server.url, timeout=5)
        assert metrics.status_code == 200
        assert 'stream_events_processed_total{outcome="success"} 1.0' in metrics.text
        assert httpx.get(server.base_url + "/health/live", timeout=5).status_code == 200
        ready = httpx.get(server.base_url + "/health/ready", timeout=5)
        assert ready.status_code == 503
        assert ready.json()["checks"]["source"]["status"] == "down"
        assert httpx.get(server.base_url + "/health", timeout=5).status_code == 503
        assert httpx.head(server.base_url + "/health/live", timeout=5).content == b""
        assert httpx.post(server.base_url + "/health", timeout=5).status_code == 405
        assert httpx.get(server.base_url + "/other", timeout=5).status_code == 404
        gz = httpx.get(server.url, headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert gz.headers["content-encoding"] == "gzip"


def test_without_health_only_metrics_are_served() -> None:
    with serve(0, registry=CollectorRegistry()) as server:
        assert server.health_url is None
        assert httpx.get(server.base_url + "/health", timeout=5).status_code == 404
        assert httpx.get(server.url, timeout=5).status_code == 200


def test_a_taken_port_and_a_clashing_path_are_clear_errors() -> None:
    with serve(0, registry=CollectorRegistry()) as server, pytest.raises(StackError, match="cannot listen"):
        serve(server.port)
    with pytest.raises(ConfigurationError, match="also a health path"):
        serve(0, health=Health(), metrics_path="/health")


def test_idle_and_half_sent_connections_do_not_block_the_probes() -> None:
    import socket

    health = Health(metrics=Metrics(registry=CollectorRegistry()))
    with serve(0, health=health, registry=CollectorRegistry()) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(100)]
        for sock in idle[:50]:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
        try:
            assert httpx.get(server.base_url + "/health/live", timeout=5).status_code == 200
            assert httpx.get(server.url, timeout=5).status_code == 200
        finally:
            for sock in idle:
                sock.close()
