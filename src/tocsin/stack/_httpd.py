"""Minimal loopback HTTP/1.1 server on asyncio streams, for the receiver.

The receiver runs for as long as the stack does and answers a handful of requests a minute (Alertmanager
webhooks, the Slack sink, ``tocsin alerts``, scrapes). starlette + uvicorn cost it ~6 MB of RSS for
routing and parsing that fit in this file; the stack's total memory budget (150 MB) has no room for that.
Keep-alive, ``Content-Length`` and chunked request bodies are supported (Go's and httpx's clients use them);
responses always carry a ``Content-Length``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["Handler", "Response", "serve_connection"]

Response = tuple[int, str, bytes]
"""``(status, content type, body)``."""

Handler = Callable[[str, str, bytes], Awaitable[Response]]
"""``(method, target with query, body) -> Response``."""

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Too Large"}
_MAX_BODY = 16 * 2**20


class _BadRequest(Exception):
    pass


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        size_total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest("bad chunk size") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks)
            size_total += size
            if size_total > _MAX_BODY:
                raise _BadRequest("body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise _BadRequest("bad Content-Length") from None
    if not 0 <= length <= _MAX_BODY:
        raise _BadRequest("bad Content-Length")
    return await reader.readexactly(length)


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, str, dict[str, str], bytes]:
    """``(method, target, version, lower-cased headers, body)``; IncompleteReadError when the peer closed."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise _BadRequest("bad request line") from None
    if not version.startswith("HTTP/1."):
        raise _BadRequest("unsupported HTTP version")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest("bad header line")
            headers[name.strip().lower()] = value.strip()
    return method, target, version, headers, await _read_body(reader, headers)


def _encode(response: Response, keep_alive: bool, head_only: bool) -> bytes:
    status, media_type, body = response
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        f"content-type: {media_type}\r\ncontent-length: {len(body)}\r\n"
        f"connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + (b"" if head_only else body)


async def serve_connection(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer requests on one connection until the client closes it or asks to."""
    try:
        while True:
            try:
                method, target, version, headers, body = await _read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except (_BadRequest, asyncio.LimitOverrunError, UnicodeDecodeError) as exc:
                writer.write(_encode((400, "text/plain; charset=utf-8", f"{exc}\n".encode()), False, False))
                await writer.drain()
                return
            connection = headers.get("connection", "").lower()
            keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
            response = await handler(method, target, body)
            writer.write(_encode(response, keep_alive, method == "HEAD"))
            await writer.drain()
            if not keep_alive:
                return
    except ConnectionError:
        return
    finally:
        writer.close()
