"""The standalone server's event loop: one selector thread, a bounded render pool, deadlines.

See ``_server`` for why it is built this way; this module is the machinery: connection states
(idle -> head -> render -> write -> idle, with discard for a dropped body), accept with eviction,
deadlines checked on every turn, and renders shared by identical concurrent requests.
"""

from __future__ import annotations

import collections
import errno
import logging
import selectors
import socket
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ._core import Exposition, MetricsResponse
from ._http11 import BadRequest, RequestHead, parse_head

__all__ = ["Route", "ServerLimits"]

#: An extra path's handler, called on a render thread with the method and the (lower-cased) headers.
Route = Callable[[str, Mapping[str, str]], MetricsResponse]

_log = logging.getLogger("tocsin.sdk.exposition")
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS |= {408: "Request Timeout", 431: "Request Header Fields Too Large", 500: "Internal Server Error"}
_REASONS |= {505: "HTTP Version Not Supported"}
_IDLE, _HEAD, _RENDER, _WRITE, _DISCARD = "idle", "head", "render", "write", "discard"
_ACCEPT_BATCH = 32  # accepts per loop turn, so that the requests of accepted connections are read between


@dataclass(frozen=True)
class ServerLimits:
    """Bounds for :func:`start_metrics_server`; the defaults suit Prometheus scraping every 1–60 s."""

    max_connections: int = 512
    max_head_bytes: int = 8192
    max_dropped_body: int = 64 * 1024
    head_timeout: float = 5.0
    idle_timeout: float = 75.0  # above Prometheus' longest usual scrape interval: it keeps its connection
    write_timeout: float = 10.0
    render_timeout: float = 30.0
    render_threads: int = 2


# method, authorization, accept, accept-encoding, query, X-Prometheus-Scrape-Timeout-Seconds
_RenderKey = tuple[str, str | None, str | None, str | None, str, str | None]


class _Conn:
    __slots__ = (
        "close_after",
        "deadline",
        "events",
        "inbuf",
        "key",
        "method",
        "out",
        "served",
        "sock",
        "state",
        "to_drop",
    )

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.inbuf = bytearray()
        self.out = memoryview(b"")
        self.state = _IDLE
        self.deadline = deadline
        self.close_after = False
        self.to_drop = 0
        self.method = "GET"
        self.key: _RenderKey | None = None
        self.events = selectors.EVENT_READ  # what the selector watches for (0: unregistered)
        self.served = False


def _normalised(path: str) -> str:
    return path.rstrip("/") or "/"


def _plain(status: int, text: str) -> MetricsResponse:
    body = text.encode()
    return MetricsResponse(status, [("Content-Type", "text/plain; charset=utf-8")], body)


def _encode(response: MetricsResponse, method: str, close: bool) -> bytes:
    lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}".rstrip()]
    lines += [f"{name}: {value}" for name, value in response.headers]
    if not any(name.lower() == "content-length" for name, _ in response.headers):
        lines.append(f"Content-Length: {len(response.body)}")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if method == "HEAD" else head + response.body


class _Server:
    """The listening socket, the selector loop and the render pool (all state lives on the loop thread)."""

    def __init__(
        self,
        sock: socket.socket,
        exposition: Exposition,
        path: str,
        limits: ServerLimits,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self.listener, self.exposition, self.metrics_path, self.limits = sock, exposition, path, limits
        self.routes = {_normalised(p): route for p, route in (routes or {}).items()}
        self.selector = selectors.DefaultSelector()
        self.conns: dict[socket.socket, _Conn] = {}
        self.inflight: dict[_RenderKey, list[_Conn]] = {}
        self.done: collections.deque[tuple[_RenderKey, MetricsResponse]] = collections.deque()
        self.pool = ThreadPoolExecutor(limits.render_threads, thread_name_prefix="tocsin-metrics-render")
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.accepting = False
        self.paused_until = 0.0
        self.stopping = False
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        self._accept_on()

    # --- the loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stopping:
                accept = False
                for key, mask in self.selector.select(self._timeout()):
                    if key.data == "listener":
                        accept = True
                    elif key.data == "wake":
                        self._drain_wake()
                    else:
                        self._serve(key.data, mask)
                if accept:  # after the reads: a request that came in is dispatched before any eviction
                    self._accept()
                self._finish_renders()
                self._expire()
        finally:
            for conn in list(self.conns.values()):
                self._close(conn)
            self.selector.close()
            self.listener.close()
            self.wake_r.close()
            self.wake_w.close()
            self.pool.shutdown(wait=False, cancel_futures=True)

    def _serve(self, conn: _Conn, mask: int) -> None:
        try:
            if mask & selectors.EVENT_READ and conn.sock in self.conns:
                self._read(conn)
            if mask & selectors.EVENT_WRITE and conn.sock in self.conns:
                self._write(conn)
        except Exception:  # a bug of ours must cost one connection, never the server
            _log.exception("tocsin: metrics server connection failed")
            self._close(conn)

    def stop(self) -> None:
        self.stopping = True
        self._wake()

    def _timeout(self) -> float:
        now = time.monotonic()
        nearest = min((c.deadline for c in self.conns.values()), default=now + 1.0)
        if not self.accepting and self.paused_until:
            nearest = min(nearest, self.paused_until)
        return max(0.0, min(nearest - now, 1.0))

    def _wake(self) -> None:
        try:
            self.wake_w.send(b"\0")
        except OSError:  # full (a wake-up is pending anyway) or closed (stopping)
            pass

    def _drain_wake(self) -> None:
        try:
            while self.wake_r.recv(4096):
                pass
        except OSError:
            pass

    # --- connections ---------------------------------------------------------------------------------

    def _accept_on(self) -> None:
        if not self.accepting:
            self.selector.register(self.listener, selectors.EVENT_READ, "listener")
            self.accepting = True

    def _accept_off(self) -> None:
        if self.accepting:
            self.selector.unregister(self.listener)
            self.accepting = False

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BATCH):
            if len(self.conns) >= self.limits.max_connections and not self._evict():
                self._accept_off()  # full of work: the next ones wait in the backlog
                return
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._accept_off()  # the process is out of descriptors: retry in a moment
                    self.paused_until = time.monotonic() + 0.1
                return
            sock.setblocking(False)
            conn = _Conn(sock, time.monotonic() + self.limits.idle_timeout)
            self.conns[sock] = conn
            self.selector.register(sock, selectors.EVENT_READ, conn)

    def _evict(self) -> bool:
        """Free a slot from a connection doing no work: the longest idle, else the slowest head.

        A connection accepted but not read yet counts as a head, not as idle: it is likely the newest.
        """
        conns = self.conns.values()
        idle = [c for c in conns if c.state == _IDLE and c.served]
        slow = [c for c in conns if c.state == _HEAD or (c.state == _IDLE and not c.served)]
        for waiting in (idle, slow):
            if waiting:
                self._close(min(waiting, key=lambda c: c.deadline))
                return True
        return False

    def _close(self, conn: _Conn) -> None:
        if self.conns.pop(conn.sock, None) is None:
            return
        if conn.events:
            self.selector.unregister(conn.sock)
        conn.sock.close()
        if not self.accepting and not self.stopping and time.monotonic() >= self.paused_until:
            self._accept_on()

    def _expire(self) -> None:
        now = time.monotonic()
        if not self.accepting and self.paused_until and now >= self.paused_until:
            self.paused_until = 0.0
            if len(self.conns) < self.limits.max_connections:
                self._accept_on()
        for conn in [c for c in self.conns.values() if c.deadline <= now]:
            if conn.state == _HEAD:
                self._answer_and_close(conn, _plain(408, "request timed out\n"))
            else:
                self._close(conn)

    def _interest(self, conn: _Conn, events: int) -> None:
        """Watch ``conn`` for ``events``; 0 takes it out of the selector (nothing to read or write)."""
        if events == conn.events:
            return
        if not events:
            self.selector.unregister(conn.sock)
        elif not conn.events:
            self.selector.register(conn.sock, events, conn)
        else:
            self.selector.modify(conn.sock, events, conn)
        conn.events = events

    # --- reading -------------------------------------------------------------------------------------

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)
            return
        conn.inbuf += data
        self._advance(conn)

    def _advance(self, conn: _Conn) -> None:
        """Consume what ``inbuf`` holds: drop a body, then parse at most one request."""
        if conn.state == _DISCARD:
            dropped = min(conn.to_drop, len(conn.inbuf))
            del conn.inbuf[:dropped]
            conn.to_drop -= dropped
            if conn.to_drop:
                return
            conn.state = _IDLE
            conn.deadline = time.monotonic() + self.limits.idle_timeout
        if conn.state not in (_IDLE, _HEAD) or not conn.inbuf:
            return
        if conn.state == _IDLE:
            conn.state = _HEAD
            conn.deadline = time.monotonic() + self.limits.head_timeout
        end = conn.inbuf.find(b"\r\n\r\n", 0, self.limits.max_head_bytes + 4)
        if end < 0:
            if len(conn.inbuf) > self.limits.max_head_bytes:
                self._answer_and_close(conn, _plain(431, "request head too large\n"))
            return
        head = bytes(conn.inbuf[: end + 2])
        del conn.inbuf[: end + 4]
        try:
            request = parse_head(head)
            length = request.content_length
        except BadRequest as exc:
            self._answer_and_close(conn, _plain(exc.status, f"{exc}\n"))
            return
        self._dispatch(conn, request, length)

    def _dispatch(self, conn: _Conn, request: RequestHead, length: int | None) -> None:
        conn.method = request.method
        chunked = "transfer-encoding" in request.headers or "expect" in request.headers
        too_big = length is not None and length > self.limits.max_dropped_body
        conn.close_after = not request.keep_alive or chunked or too_big
        conn.to_drop = length or 0
        self._interest(conn, 0)  # nothing more is read until this request is answered
        path, _, query = request.target.partition("?")
        route = self.routes.get(_normalised(path))
        if route is not None:  # an extra path: rendered on the pool, never shared between requests
            key_: _RenderKey = ("route", str(id(conn)), path, None, "", None)
            conn.state, conn.key = _RENDER, key_
            conn.deadline = time.monotonic() + self.limits.render_timeout
            self.inflight[key_] = [conn]
            self.pool.submit(self._route, key_, route, request.method, request.headers)
            return
        if _normalised(path) != self.metrics_path:
            self._respond(conn, _plain(404, "not found\n"))
            return
        h = request.headers
        timeout = h.get("x-prometheus-scrape-timeout-seconds")
        key = (
            request.method,
            h.get("authorization"),
            h.get("accept"),
            h.get("accept-encoding"),
            query,
            timeout,
        )
        conn.state, conn.key = _RENDER, key
        conn.deadline = time.monotonic() + self.limits.render_timeout
        waiting = self.inflight.get(key)
        if waiting is not None:
            waiting.append(conn)  # the render already running answers this one too
            return
        self.inflight[key] = [conn]
        self.pool.submit(self._render, key)

    # --- rendering (pool threads) ---------------------------------------------------------------------

    def _render(self, key: _RenderKey) -> None:
        method, authorization, accept, accept_encoding, query, scrape_timeout = key
        try:
            response = self.exposition.respond(
                method,
                authorization=authorization,
                accept=accept,
                accept_encoding=accept_encoding,
                query_string=query,
                scrape_timeout=scrape_timeout,
            )
        except Exception:  # a collector of the app raised: its traceback is the app's to see
            _log.exception("tocsin: rendering /metrics failed")
            response = _plain(500, "metrics collection failed\n")
        self.done.append((key, response))
        self._wake()

    def _route(self, key: _RenderKey, route: Route, method: str, headers: Mapping[str, str]) -> None:
        try:
            response = route(method, headers)
        except Exception:
            _log.exception("tocsin: the handler of %s failed", key[2])
            response = _plain(500, "handler failed\n")
        self.done.append((key, response))
        self._wake()

    def _finish_renders(self) -> None:
        while self.done:
            key, response = self.done.popleft()
            for conn in self.inflight.pop(key, []):
                if conn.sock in self.conns and conn.state == _RENDER:
                    self._respond(conn, response)

    # --- writing -------------------------------------------------------------------------------------

    def _respond(self, conn: _Conn, response: MetricsResponse) -> None:
        conn.out = memoryview(_encode(response, conn.method, conn.close_after))
        conn.state = _WRITE
        conn.deadline = time.monotonic() + self.limits.write_timeout
        self._write(conn)

    def _answer_and_close(self, conn: _Conn, response: MetricsResponse) -> None:
        conn.close_after = True
        conn.to_drop = 0
        self._respond(conn, response)

    def _write(self, conn: _Conn) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close(conn)
            return
        conn.out = conn.out[sent:]
        if conn.out:
            self._interest(conn, selectors.EVENT_WRITE)
            return
        if conn.close_after:
            self._close(conn)
            return
        conn.served = True
        conn.state = _DISCARD if conn.to_drop else _IDLE
        conn.deadline = time.monotonic() + (
            self.limits.head_timeout if conn.to_drop else self.limits.idle_timeout
        )
        self._interest(conn, selectors.EVENT_READ)
        self._advance(conn)  # a pipelined request, or the body being dropped, may be here already
