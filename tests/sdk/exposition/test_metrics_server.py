"""The standalone server: loopback by default, its own path, stoppable, clear errors."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from tocsin.errors import StackError
from tocsin.sdk.exposition import start_metrics_server

pytestmark = pytest.mark.integration


def test_binds_loopback_serves_only_its_path_and_closes() -> None:
    registry = CollectorRegistry()
    Counter("standalone", "x", registry=registry).inc(2)
    server = start_metrics_server(0, registry=registry)
    assert server.addr == "127.0.0.1"
    assert server.port > 0
    with httpx.Client() as client:
        assert client.get(server.url).status_code == 200
        assert client.get(server.url + "/").status_code == 200
        # keep-alive: a second request on the same connection
        assert "standalone_total 2.0" in client.get(server.url).text
        assert client.get(f"http://127.0.0.1:{server.port}/other").status_code == 404
        assert client.head(server.url).content == b""
    server.close()
    server.close()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)
    # the port is free again
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", server.port))


def test_custom_path_and_busy_port() -> None:
    with start_metrics_server(0, registry=CollectorRegistry(), path="/internal/metrics") as server:
        assert server.url.endswith("/internal/metrics")
        assert httpx.get(server.url).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{server.port}/metrics").status_code == 404
        with pytest.raises(StackError, match="cannot listen"):
            start_metrics_server(server.port, registry=CollectorRegistry())
