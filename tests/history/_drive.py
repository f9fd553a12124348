"""A scrape target whose series follow a fault pattern in time: what a live Prometheus evaluates."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: seconds since the start → exposition lines (without the trailing newline)
Pattern = Callable[[float], list[str]]


@contextmanager
def serve_pattern(pattern: Pattern, port: int) -> Iterator[float]:
    """Serve ``pattern`` on ``/metrics`` at 127.0.0.1:``port``; yields the start time (Unix seconds)."""
    started = time.time()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = ("\n".join(pattern(time.time() - started)) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield started
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
