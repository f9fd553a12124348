"""The console's h11 client against real sockets: keep-alive, servers that close, stall, lie or flood.

The module is hand-written over h11 (see its docstring for why), so its malformed-input cases live here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tocsin.views._http import HTTPClient, HTTPError

pytestmark = pytest.mark.anyio
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A raw TCP server on a free port; yields its URL and a list counting connections."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        srv.close()


async def _request_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def _ok(body: bytes, close: bool = False) -> bytes:
    extra = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def test_keep_alive_reuses_one_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):
            while True:
                head = await _request_head(reader)
                writer.write(_ok(b'{"path": "%s"}' % head.split()[1]))
                await writer.drain()

    async with server(handler) as (url, connections):
        client = HTTPClient()
        for i in range(5):
            reply = await client.request("GET", f"{url}/x", params={"i": str(i)})
            assert reply.status == 200 and reply.json() == {"path": f"/x?i={i}"}
        assert len(connections) == 1
        await client.aclose()


async def test_a_connection_the_server_closed_is_retried_on_a_fresh_one() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(_ok(b"one"))  # keep-alive promised, then the server hangs up (as idle timeouts do)
        await writer.drain()

    async with server(handler) as (url, connections):
        client = HTTPClient()
        assert (await client.request("GET", url)).body == b"one"
        await asyncio.sleep(0.05)
        assert (await client.request("GET", url)).body == b"one"
        assert len(connections) == 2
        await client.aclose()


async def test_chunked_answers_and_posted_json() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await _request_head(reader)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        writer.write(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        await writer.drain()

    async with server(handler) as (url, _):
        client = HTTPClient()
        reply = await client.request("POST", url, json={"matchers": ["a"]})
        assert reply.status == 201 and reply.json() == {"matchers": ["a"]}
        await client.aclose()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"garbage\r\n\r\n", "RemoteProtocolError"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n", "RemoteProtocolError"),
    ],
)
async def test_malformed_answers_are_errors_not_hangs(answer: bytes, message: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(answer)
        await writer.drain()

    async with server(handler) as (url, _):
        with pytest.raises(HTTPError, match=message):
            await HTTPClient(timeout=5).request("GET", url)


async def test_a_stalled_server_times_out() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        await asyncio.sleep(10)

    async with server(handler) as (url, _):
        with pytest.raises(HTTPError, match="timed out"):
            await HTTPClient().request("GET", url, limit=0.3)


async def test_an_endless_answer_is_cut_off() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 2**20
        with contextlib.suppress(ConnectionError):
            for _ in range(100):
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()

    async with server(handler) as (url, _):
        with pytest.raises(HTTPError, match="larger than 64 MB"):
            await HTTPClient(timeout=30).request("GET", url)


async def test_refused_and_unsupported() -> None:
    with pytest.raises(HTTPError, match=r"refused|Connect"):
        await HTTPClient().request("GET", "http://127.0.0.1:9/")
    with pytest.raises(HTTPError, match="only http://"):
        await HTTPClient().request("GET", "https://127.0.0.1/")
