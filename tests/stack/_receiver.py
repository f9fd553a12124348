"""A receiver served in-process on a thread of its own (real sockets, real SQLite), for the hostile tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

from tocsin.stack._httpd import HTTPServer, Limits
from tocsin.stack.history import AlertHistory
from tocsin.stack.receiver import MailSink, ReceiverApp, create_app


@dataclass
class Served:
    http: HTTPServer
    app: ReceiverApp
    loop: asyncio.AbstractEventLoop
    log: list[str] = field(default_factory=list)
    smtp_port: int = 0

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` on the server's loop (to read its state without a race)."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def raw(self, data: bytes, timeout: float = 10.0) -> bytes:
        """Send ``data`` on a fresh connection, return everything the server sent until it closed."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
            except OSError:  # the server may close before reading it all
                pass
            chunks = []
            while True:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)


@contextmanager
def served(db: Path, limits: Limits | None = None) -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    history = AlertHistory(db)
    app = create_app(history)
    log: list[str] = []
    http = HTTPServer(app.handle, limits, log=log.append)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(http.start("127.0.0.1", 0), loop).result(10)
        sink = MailSink(app.store, app.received)
        smtp = asyncio.run_coroutine_threadsafe(
            loop.create_server(lambda: SMTP(sink, hostname="test", decode_data=False), "127.0.0.1", 0), loop
        ).result(10)
        yield Served(http, app, loop, log, smtp.sockets[0].getsockname()[1])
    finally:
        asyncio.run_coroutine_threadsafe(http.stop(), loop).result(10)
        loop.call_soon_threadsafe(smtp.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        app.close()
        history.close()
