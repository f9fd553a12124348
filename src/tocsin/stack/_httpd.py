"""The receiver's HTTP/1.1 server: h11 parses, this module bounds time, memory and connections.

Why h11 on asyncio streams and not uvicorn: the receiver runs for as long as the stack does, and the
stack's memory budget is tight. h11 adds ~0.4 MB of RSS to the process; uvicorn's h11 protocol ~6.5 MB
(measured with ``VmRSS`` after import, see benchmarks/stack_startup.py). h11 does all the parsing —
request line, header grammar, ``Content-Length`` versus chunked framing, keep-alive and pipelining
rules, ``Expect: 100-continue`` — and rejects what the RFC rejects (a negative chunk size, ``1_0`` as a
length, a bare LF in a header). What h11 leaves to the code driving it is here:

- time: a request head must arrive within ``head_timeout`` of its first byte (slowloris), its body
  within ``body_timeout``; a keep-alive connection idle for ``idle_timeout`` is closed, and a reader
  that stops reading the response is dropped after ``write_timeout``;
- memory: the head is capped by h11 (``max_header_bytes``, 431), one body by ``max_body_bytes`` (413),
  and every body held at once, across all connections, by ``max_buffered_bytes`` (503 + Retry-After,
  which Alertmanager retries);
- connections: at most ``max_connections``; a new one beyond that closes the longest-idle keep-alive
  connection, else the slowest one still sending its request, else it is answered 503 and closed.

A protocol error is answered with h11's status hint (400, 431, ...) and the connection closed; no
client input reaches a traceback. Responses always carry ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

import h11

__all__ = ["HTTPServer", "Handler", "Limits", "Response"]

Response = tuple[int, str, bytes]
"""``(status, content type, body)``."""

Handler = Callable[[str, str, bytes], Awaitable[Response]]
"""``(method, target with query, body) -> Response``."""

_TEXT = "text/plain; charset=utf-8"
_READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds for one server; the defaults suit a loopback receiver that Alertmanager posts to."""

    max_connections: int = 256
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 32 * 2**20  # 40,000 alerts with a few labels and a summary are ~13 MB
    max_buffered_bytes: int = 64 * 2**20
    head_timeout: float = 10.0
    body_timeout: float = 60.0
    idle_timeout: float = 5.0  # uvicorn's default; Go's and httpx's clients reconnect transparently
    write_timeout: float = 30.0


class _Reject(Exception):
    """Answer ``status`` with ``reason`` and close the connection."""

    def __init__(self, status: int, reason: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(reason)
        self.status, self.headers = status, headers


class _Closed(Exception):
    """The peer went away, or stayed silent past a deadline with nothing half-sent: close quietly."""


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class HTTPServer:
    """Serves ``handler`` under ``limits``; ``await start(host, port)``, then ``close()``."""

    def __init__(
        self, handler: Handler, limits: Limits | None = None, log: Callable[[str], None] = _stderr
    ) -> None:
        self.handler, self.limits, self.log = handler, limits or Limits(), log
        self.connections: set[_Connection] = set()
        self.buffered = 0  # bytes of request bodies held right now, all connections together
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> asyncio.Server:
        self._server = await asyncio.start_server(self._accept, host, port, backlog=1024)
        return self._server

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every connection (a request being handled is cut short)."""
        if self._server is not None:
            self._server.close()
        tasks = [connection.task for connection in self.connections]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def reserve(self, size: int) -> bool:
        if self.buffered + size > self.limits.max_buffered_bytes:
            return False
        self.buffered += size
        return True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(self, reader, writer)
        if len(self.connections) >= self.limits.max_connections and not self._evict():
            await connection.refuse()
            return
        self.connections.add(connection)
        try:
            await connection.serve()
        finally:
            self.connections.discard(connection)

    def _evict(self) -> bool:
        """Close one connection that costs a slot without doing work; False if every one is busy."""
        idle = [c for c in self.connections if c.phase == "idle"]
        slow = [c for c in self.connections if c.phase in ("head", "body")]
        for group in (idle, slow):
            if group:
                victim = min(group, key=lambda c: c.since)
                self.connections.discard(victim)  # now: its task ends at the next loop turn
                victim.task.cancel()
                return True
        return False


class _Connection:
    def __init__(
        self, server: HTTPServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=server.limits.max_header_bytes)
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.loop = asyncio.get_running_loop()
        self.phase = "idle"  # idle -> head -> body -> busy -> idle ...
        self.since = self.loop.time()
        self.held = 0  # bytes of budget this connection holds

    async def refuse(self) -> None:
        try:
            await self._send_simple(503, "too many connections\n", (("Retry-After", "1"),))
        except (_Closed, OSError):
            pass
        finally:
            self.writer.close()

    async def serve(self) -> None:
        try:
            while True:
                await self._one_request()
                if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is not h11.DONE:
                    return
                self.h11.start_next_cycle()
        except _Reject as reject:
            if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                try:
                    await self._send_simple(reject.status, f"{reject}\n", reject.headers)
                except (_Closed, OSError):
                    pass
        except (_Closed, OSError, asyncio.CancelledError):
            pass
        except Exception as exc:  # a bug of ours: one line in the receiver's log, never a traceback
            self.server.log(f"tocsin receiver: internal error on a connection: {type(exc).__name__}: {exc}")
        finally:
            self._release()
            self.writer.close()

    async def _one_request(self) -> None:
        self._enter("idle")
        request = await self._next_event(self.server.limits.idle_timeout)
        if not isinstance(request, h11.Request):
            raise _Closed
        size = len(request.target) + sum(len(name) + len(value) + 4 for name, value in request.headers)
        if size > self.server.limits.max_header_bytes:  # h11 bounds only a head that arrives in pieces
            raise _Reject(431, f"request head over {self.server.limits.max_header_bytes} bytes")
        if request.http_version not in (b"1.0", b"1.1"):
            raise _Reject(505, f"HTTP/{request.http_version.decode()} is not served here (HTTP/1.1 is)")
        self._enter("body")
        body = await self._read_body(request)
        self._enter("busy")
        method = request.method.decode("ascii")
        target = request.target.decode("ascii", "replace")
        try:
            status, media_type, content = await self.server.handler(method, target, body)
        except Exception as exc:
            self.server.log(
                f"tocsin receiver: internal error on {method} {target}: {type(exc).__name__}: {exc}"
            )
            status, media_type, content = 500, _TEXT, b"internal server error\n"
        self._release()
        headers = self._headers(media_type, len(content))
        events: list[h11.Event] = [h11.Response(status_code=status, headers=headers, reason=_reason(status))]
        if method != "HEAD":
            events.append(h11.Data(data=content))
        await self._send(*events, h11.EndOfMessage())

    def _enter(self, phase: str) -> None:
        self.phase, self.since = phase, self.loop.time()

    def _release(self) -> None:
        self.server.buffered -= self.held
        self.held = 0

    def _hold(self, size: int) -> None:
        if size + self.held > self.server.limits.max_body_bytes:
            limit = self.server.limits.max_body_bytes
            raise _Reject(413, f"request body over {limit / 2**20:g} MiB (Alertmanager: set max_alerts)")
        if not self.server.reserve(size):
            raise _Reject(503, "receiver busy: too many request bodies at once", (("Retry-After", "1"),))
        self.held += size

    async def _read_body(self, request: h11.Request) -> bytes:
        declared = next((v for k, v in request.headers if k == b"content-length"), None)
        if declared is not None:
            self._hold(int(declared))  # h11 checked it is digits only
            reserved = int(declared)
        else:
            reserved = 0
        if self.h11.client_is_waiting_for_100_continue:
            await self._send(h11.InformationalResponse(status_code=100, headers=[]))
        deadline = self.loop.time() + self.server.limits.body_timeout
        chunks: list[bytes] = []
        received = 0
        while True:
            event = await self._next_event(None, deadline)
            if isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            if not isinstance(event, h11.Data):
                raise _Closed
            received += len(event.data)
            if received > reserved:  # chunked: the budget grows with the body
                self._hold(received - reserved)
                reserved = received
            chunks.append(event.data)

    async def _next_event(self, idle: float | None, deadline: float | None = None) -> object:
        """The next h11 event; waits for data under ``deadline`` (or ``idle``, then the head timeout)."""
        limits = self.server.limits
        if deadline is None:
            waited = False
            buffered = bool(self.h11.trailing_data[0])  # a pipelined request already here
            deadline = self.loop.time() + (limits.head_timeout if buffered else (idle or limits.head_timeout))
        else:
            waited = True
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Reject(exc.error_status_hint, f"bad request: {exc}") from None
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout_at(deadline):
                    data = await self.reader.read(_READ_SIZE)
            except TimeoutError:
                if self.h11.their_state is h11.IDLE and not self.h11.trailing_data[0]:
                    raise _Closed from None  # an idle keep-alive connection: close without a word
                raise _Reject(408, "request timed out") from None
            except ConnectionError:
                raise _Closed from None
            if not data and self.h11.their_state is h11.IDLE and not self.h11.trailing_data[0]:
                raise _Closed  # closed between requests
            if not waited:  # the first byte of a head: from now on the head timeout runs
                waited = True
                deadline = self.loop.time() + limits.head_timeout
                self._enter("head")
            try:
                self.h11.receive_data(data)
            except h11.RemoteProtocolError as exc:
                raise _Reject(exc.error_status_hint, f"bad request: {exc}") from None

    @staticmethod
    def _headers(media_type: str, length: int) -> list[tuple[str, str]]:
        return [("Content-Type", media_type), ("Content-Length", str(length))]

    async def _send(self, *events: h11.Event) -> None:
        data = b"".join(self.h11.send(event) or b"" for event in events)
        if data:
            self.writer.write(data)
            try:
                async with asyncio.timeout(self.server.limits.write_timeout):
                    await self.writer.drain()
            except (TimeoutError, ConnectionError):
                raise _Closed from None

    async def _send_simple(self, status: int, text: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        """An error answer on a connection about to close (h11 adds nothing: we say ``Connection: close``)."""
        body = text.encode()
        headers = [*self._headers(_TEXT, len(body)), *extra, ("Connection", "close")]
        try:
            response = h11.Response(status_code=status, headers=headers, reason=_reason(status))
            self.writer.write(self.h11.send(response) or b"")
        except h11.LocalProtocolError:  # nothing can be said in this state
            return
        try:
            self.writer.write(self.h11.send(h11.Data(data=body)) or b"")
        except h11.LocalProtocolError:  # the answer to a HEAD has no body
            pass
        self.writer.write(self.h11.send(h11.EndOfMessage()) or b"")
        try:
            async with asyncio.timeout(self.server.limits.write_timeout):
                await self.writer.drain()
        except (TimeoutError, ConnectionError):
            raise _Closed from None
