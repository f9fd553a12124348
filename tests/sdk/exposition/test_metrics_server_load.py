"""The standalone server under load and hostile input (issue 10 item 15).

Counts, not micro-timings: how many of 200 simultaneous scrapes are answered within 1 s, how many
threads 1,000 slow connections cost, which responses a smuggled POST body produces.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import h11
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter
from tests._fuzz import FUZZ, mutated

from tocsin.sdk.exposition import MetricsServer, ServerLimits, start_metrics_server
from tocsin.sdk.exposition._http11 import BadRequest, parse_head

pytestmark = pytest.mark.integration


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = Counter("load_test", "x", ["route"], registry=registry)
    for i in range(200):  # a realistic page: a few hundred series
        counter.labels(f"/r/{i}").inc(i)
    return registry


@pytest.fixture(scope="module")
def server() -> Iterator[MetricsServer]:
    limits = ServerLimits(head_timeout=1.0, idle_timeout=2.0, write_timeout=2.0)
    with start_metrics_server(0, registry=_registry(), limits=limits) as running:
        yield running


def _responses(data: bytes, count: int, methods: tuple[str, ...] = ()) -> list[h11.Response]:
    """Parse ``count`` responses from ``data`` as a client would (asserting they are well formed)."""
    client = h11.Connection(h11.CLIENT)
    client.receive_data(data)
    client.receive_data(b"")
    out = []
    for i in range(count):
        method = methods[i] if methods else "GET"
        client.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        event = client.next_event()
        assert isinstance(event, h11.Response), data[:300]
        out.append(event)
        while not isinstance(event, h11.EndOfMessage):
            event = client.next_event()
            assert event not in (h11.NEED_DATA, h11.PAUSED), "response cut short"
        if i < count - 1:
            client.start_next_cycle()
    return out


def _exchange(server: MetricsServer, data: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection((server.addr, server.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def _alive(server: MetricsServer) -> None:
    assert httpx.get(server.url, timeout=5).status_code == 200


async def _scrape(port: int, deadline: float) -> bool:
    """One scrape on its own connection; True if the whole answer came within ``deadline`` s."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(deadline):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
    except TimeoutError:
        return False
    return (
        answer.startswith(b"HTTP/1.1 200")
        and b"load_test_total" in answer
        and time.monotonic() - started <= deadline
    )


def test_200_simultaneous_scrapes_are_all_answered(server: MetricsServer) -> None:
    """item 15: with a listen backlog of 5, 7-15 of 200 simultaneous scrapes hung past 30 s.

    Each must be answered within 10 s: far under the hang, with room for a loaded 2-core CI
    (on a quiet machine all 200 take well under a second, see benchmarks/metrics_server.py)."""

    async def burst() -> list[bool]:
        return await asyncio.gather(*(_scrape(server.port, 10.0) for _ in range(200)))

    answered = sum(asyncio.run(burst()))
    assert answered == 200


def test_1000_slow_connections_cost_no_threads_and_never_lock_out_prometheus() -> None:
    """item 15: one thread per connection and no deadline: 1,000 slow connections made 929 threads."""
    limits = ServerLimits(max_connections=100, head_timeout=60)
    with start_metrics_server(0, registry=_registry(), limits=limits) as server:
        threads_before = threading.active_count()
        slow = []
        try:
            for _ in range(1_000):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
                slow.append(sock)
            with httpx.Client(timeout=10) as prometheus:
                for _ in range(3):
                    assert prometheus.get(server.url).status_code == 200
            assert threading.active_count() <= threads_before + limits.render_threads
            assert len(server._server.conns) <= limits.max_connections
        finally:
            for sock in slow:
                sock.close()


def test_a_post_body_is_never_parsed_as_the_next_request(server: MetricsServer) -> None:
    """item 15: the body of a POST was read as a request of its own."""
    smuggled = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
    post = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(smuggled), smuggled)
    last = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = _exchange(server, post + last)
    assert [r.status_code for r in _responses(answer, 2)] == [405, 200]
    assert b"HTTP/1.1 404" not in answer
    # a body too big to drop, or chunked: answered, then the connection is closed
    chunked = (
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\n\r\n"
    )
    answer = _exchange(server, chunked + last)
    assert [r.status_code for r in _responses(answer, 1)] == [405]
    assert answer.count(b"HTTP/1.1 ") == 1


def test_pipelined_scrapes_are_answered_in_order(server: MetricsServer) -> None:
    requests = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nHEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    requests += b"GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = _exchange(server, requests)
    assert [r.status_code for r in _responses(answer, 3, ("GET", "HEAD", "GET"))] == [200, 200, 404]


def test_slow_and_idle_connections_are_closed_on_their_deadline(server: MetricsServer) -> None:
    with socket.create_connection((server.addr, server.port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")
        assert _responses(sock.recv(1000), 1)[0].status_code == 408  # head_timeout: 1 s
    with socket.create_connection((server.addr, server.port), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(1000) == b""  # idle_timeout: 2 s, closed without a word
        assert time.monotonic() - started < 9


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /metrics HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),  # found by the differential fuzz
        (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1_0\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 10_000 + b"\r\n\r\n", 431),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n", 400),  # TLS hello
        (b"GET /metrics HTTP/1.1\nHost: x\n\n" + b"x" * 9000, 431),  # bare LF: never a head
    ],
)
def test_malformed_requests_get_a_clean_error(
    server: MetricsServer, request_bytes: bytes, status: int
) -> None:
    assert _responses(_exchange(server, request_bytes), 1)[0].status_code == status
    _alive(server)


# --- fuzzing (bounded: 100 examples each) ------------------------------------------------------------------

_VALID = [
    b"GET /metrics?name[]=load_test_total HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
    b"HEAD /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
]


@FUZZ
@given(st.one_of(mutated(_VALID), st.binary(max_size=400)))
def test_fuzzed_requests_never_crash_or_hang(server: MetricsServer, data: bytes) -> None:
    answer = _exchange(server, data)
    if answer:
        assert answer.startswith(b"HTTP/1.1 ")
        _responses(answer, 1, ("HEAD" if data.startswith(b"HEAD ") else "GET",))
    assert server._server.conns is not None and threading.active_count() < 50


def _h11_head(head: bytes) -> h11.Request | None:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(head + b"\r\n")
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    return event if isinstance(event, h11.Request) else None


@settings(max_examples=400, deadline=None, database=None)
@given(st.one_of(mutated(_VALID), st.binary(max_size=200)))
def test_the_head_parser_never_accepts_what_h11_refuses(data: bytes) -> None:
    """Differential: whatever _http11 accepts, h11 accepts too, with the same method, target, headers."""
    head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    try:
        ours = parse_head(head)
    except BadRequest:
        return
    theirs = _h11_head(head)
    assert theirs is not None, head
    assert theirs.method.decode() == ours.method and theirs.target.decode() == ours.target
    names = {name.decode() for name, _ in theirs.headers}
    assert names == set(ours.headers)
