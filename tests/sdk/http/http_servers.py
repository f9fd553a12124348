"""Real servers in threads for the HTTP middleware tests: uvicorn (ASGI) and werkzeug (WSGI)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from tests.conftest import free_port, wait_for
from werkzeug.serving import make_server


@contextmanager
def uvicorn_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port in a thread; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=10, what="uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def werkzeug_server(app: Any) -> Iterator[str]:
    """Serve the WSGI ``app`` with werkzeug's threaded server in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def get_in_background(url: str, timeout: float = 15) -> tuple[threading.Thread, list[int]]:
    """Start ``GET url`` in a thread; the list receives the status code when it is done."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(httpx.get(url, timeout=timeout).status_code))
    thread.start()
    return thread, result
