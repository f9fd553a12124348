"""The standalone ``/metrics`` server under a burst: 200 simultaneous scrapes, idle app and busy app.

tocsin's ``start_metrics_server`` against its peer in the same run, prometheus_client's own
``start_http_server`` (a ``ThreadingWSGIServer``: one thread per connection, the stdlib's listen
backlog). Each scrape opens its own connection, all at once; counted: how many got a complete 200
within 1 s and within 10 s, and the threads the server had while 1,000 slow connections were open.
"Busy" runs two CPU-bound Python threads in the app meanwhile (they hold the GIL as a real app does);
the scrapers run in a process of their own, as Prometheus would.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from _common import counter_registry, write_results
from prometheus_client import start_http_server

from tocsin.sdk.exposition import start_metrics_server

SCRAPES = 200


@contextmanager
def _tocsin() -> Iterator[int]:
    with start_metrics_server(0, registry=counter_registry()) as server:
        yield server.port


@contextmanager
def _prometheus_client() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server, thread = start_http_server(port, addr="127.0.0.1", registry=counter_registry())
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def _scrape(port: int) -> float | None:
    started = time.monotonic()
    try:
        async with asyncio.timeout(10):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
    except (TimeoutError, OSError):
        return None
    return time.monotonic() - started if answer.startswith(b"HTTP/1.") and b" 200 " in answer[:20] else None


async def _all(port: int) -> list[float | None]:
    return await asyncio.gather(*(_scrape(port) for _ in range(SCRAPES)))


def _client(port: int) -> list[float | None]:
    return asyncio.run(_all(port))


def _burst(port: int) -> dict[str, int]:
    """The scrapers run in a process of their own, as Prometheus does: only the server shares the GIL."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        times = pool.submit(_client, port).result()
    return {
        "within_1s": sum(1 for t in times if t is not None and t <= 1.0),
        "within_10s": sum(1 for t in times if t is not None),
    }


@contextmanager
def _busy() -> Iterator[None]:
    stop = threading.Event()

    def spin() -> None:
        x = 0
        while not stop.is_set():
            x = (x * 31 + 7) % 1_000_003

    threads = [threading.Thread(target=spin) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _slow_threads(port: int) -> int:
    before = threading.active_count()
    socks = []
    for _ in range(1_000):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        socks.append(sock)
    time.sleep(2)
    grown = threading.active_count() - before
    for sock in socks:
        sock.close()
    return grown


def main() -> None:
    servers: dict[str, Callable[[], Any]] = {"tocsin": _tocsin, "prometheus_client": _prometheus_client}
    results: dict[str, Any] = {"what": __doc__.split("\n\n")[1].replace("\n", " "), "scrapes": SCRAPES}
    for name, server in servers.items():
        with server() as port:
            idle = _burst(port)
            with _busy():
                busy = _burst(port)
            threads = _slow_threads(port)
        results[name] = {"idle": idle, "busy_app": busy, "threads_for_1000_slow_connections": threads}
    print(json.dumps(results, indent=2))
    write_results("metrics_server", results)


if __name__ == "__main__":
    main()
