"""A small asyncio HTTP/1.1 client on h11, with keep-alive, for the console's calls to the stack.

Why not httpx (which :mod:`tocsin.promapi` uses): the console runs for as long as the stack does and its
whole memory budget is ~35 MB; httpx and its imports add ~6 MB. h11 (the parser uvicorn already loads)
does the HTTP; this module only keeps idle connections per host and enforces timeouts. Plain ``http://``
only: everything the console talks to listens on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import h11
import orjson

__all__ = ["HTTPClient", "HTTPError", "Reply"]

_MAX_BODY = 64 * 2**20  # a runaway answer must not eat the console's memory
_IDLE_PER_HOST = 16  # a dashboard's panels query at once: keep them all for the next refresh


class HTTPError(OSError):
    """The request did not complete: connection refused, timeout, malformed or oversized answer."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    def close(self) -> None:
        self.writer.close()


class HTTPClient:
    """``await client.request("GET", url, params=..., json=...)`` → :class:`Reply`; ``limit`` in seconds."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, int], list[_Conn]] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        limit: float | None = None,
    ) -> Reply:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise HTTPError(f"{url}: only http:// URLs are supported")
        key = (parts.hostname, parts.port or 80)
        target = parts.path or "/"
        query = "&".join(q for q in (parts.query, urlencode(params or {})) if q)
        if query:
            target += "?" + query
        body = orjson.dumps(json) if json is not None else b""
        head = [("Host", f"{key[0]}:{key[1]}"), ("Accept-Encoding", "identity")]
        if parts.username is not None:
            token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
            head.append(("Authorization", f"Basic {token}"))
        head += list((headers or {}).items())
        if json is not None:
            head.append(("Content-Type", "application/json"))
        if body or method in ("POST", "PUT"):
            head.append(("Content-Length", str(len(body))))
        try:
            async with asyncio.timeout(self.timeout if limit is None else limit):
                return await self._exchange(key, method, target, head, body)
        except TimeoutError:
            raise HTTPError(f"{method} {url}: timed out") from None
        except (OSError, h11.ProtocolError) as exc:
            if isinstance(exc, HTTPError):
                raise HTTPError(f"{method} {url}: {exc}") from None
            raise HTTPError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from None

    async def _exchange(
        self, key: tuple[str, int], method: str, target: str, head: list[tuple[str, str]], body: bytes
    ) -> Reply:
        idle = self._idle.setdefault(key, [])
        while idle:  # a kept-alive connection the server may have closed meanwhile: one retry on a fresh one
            conn = idle.pop()
            try:
                return await self._send(conn, key, method, target, head, body)
            except (OSError, h11.ProtocolError, _Closed):
                conn.close()
        reader, writer = await _connect(*key)
        return await self._send(_Conn(reader, writer), key, method, target, head, body)

    async def _send(
        self,
        conn: _Conn,
        key: tuple[str, int],
        method: str,
        target: str,
        head: list[tuple[str, str]],
        body: bytes,
    ) -> Reply:
        try:
            return await self._roundtrip(
                conn, key, h11.Request(method=method, target=target, headers=head), body
            )
        except BaseException:  # a timeout (cancellation), a reset, a bad answer: the connection is done
            conn.close()
            raise

    async def _roundtrip(self, conn: _Conn, key: tuple[str, int], request: h11.Request, body: bytes) -> Reply:
        c = conn.h11
        data = c.send(request)
        if body:
            data += c.send(h11.Data(data=body))
        data += c.send(h11.EndOfMessage())
        conn.writer.write(data)
        await conn.writer.drain()
        status, headers, chunks, size = 0, {}, [], 0
        first = True
        while True:
            event = c.next_event()
            if event is h11.NEED_DATA:
                received = await conn.reader.read(65536)
                if not received and first:
                    raise _Closed
                c.receive_data(received)
                continue
            first = False
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > _MAX_BODY:
                    raise HTTPError(f"answer larger than {_MAX_BODY // 2**20} MB")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise HTTPError("connection closed mid-answer")
        if c.our_state is h11.DONE and c.their_state is h11.DONE:
            c.start_next_cycle()
            idle = self._idle.setdefault(key, [])
            if len(idle) < _IDLE_PER_HOST:
                idle.append(conn)
            else:
                conn.close()
        else:
            conn.close()
        return Reply(status, headers, b"".join(chunks))

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A numeric address connects without asyncio's getaddrinfo round trip through a thread pool, which
    costs more than the request itself when a dashboard opens a dozen connections at once."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return await asyncio.open_connection(host, port, limit=2**20)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock, limit=2**20)


class _Closed(Exception):
    """A kept-alive connection was closed by the server before answering."""
