"""A standalone ``/metrics`` server on its own port: one I/O thread, a bounded render pool, deadlines.

Why its own port: the metrics stay off the public listener (no route to exclude from the app's
middleware, no auth to get right on the app's port); Prometheus scrapes the private one.

Why this design: the server runs inside the user's application, so it must never take the app's
threads or descriptors. The stdlib's ``ThreadingHTTPServer`` it replaces listened with a backlog of 5
and started one thread per connection with no deadline: of 200 simultaneous scrapes 7–15 hung past
30 s, 1,000 slow connections made 929 threads, and a POST body was parsed as the next request. Here:

- one selector thread does all socket I/O (backlog 1024, non-blocking sockets);
- at most ``render_threads`` threads render (prometheus_client's encoders), and requests that are
  identical (method, credentials, Accept, Accept-Encoding, query, Prometheus' scrape timeout) and
  arrive while a render for them is running share its result: 200 scrapes at once cost a handful of
  renders, not 200;
- every connection has a deadline: ``head_timeout`` for a request head once its first byte came,
  ``idle_timeout`` between keep-alive requests, ``write_timeout`` for a reader that stops reading;
- at most ``max_connections`` are open; a new one beyond that closes the longest-idle one, else the
  one slowest to send its head, else it waits in the kernel's backlog (no descriptor of the app's)
  until a render finishes;
- a request body (this server takes none) is read and dropped when small, else the connection is
  answered and closed: it is never parsed as a request. Parsing is ``_http11`` (see why there).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from types import TracebackType

from prometheus_client import CollectorRegistry

from tocsin.errors import ConfigurationError, StackError

from ._auth import Auth
from ._core import Exposition
from ._serverloop import Route, ServerLimits, _normalised, _Server

__all__ = ["MetricsServer", "Route", "ServerLimits", "start_metrics_server"]


class MetricsServer:
    """A running metrics server: ``port`` (the real one when 0 was asked), ``url``, ``close()``.

    Also a context manager: ``with start_metrics_server(0) as server: ...``.
    """

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        address = server.listener.getsockname()
        self.addr: str = str(address[0])
        self.port: int = int(address[1])

    @property
    def url(self) -> str:
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"http://{host}:{self.port}{self._server.metrics_path}"

    def close(self) -> None:
        """Stop serving and free the port (idempotent)."""
        self._server.stop()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MetricsServer({self.url})"


def _listen(addr: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((addr, port))
        sock.listen(1024)
    except OSError as err:
        sock.close()
        reason = err.strerror or str(err)
        raise StackError(f"cannot listen on {addr}:{port}: {reason} (choose another port)") from None
    sock.setblocking(False)
    return sock


def start_metrics_server(
    port: int = 9464,
    addr: str = "127.0.0.1",
    *,
    registry: CollectorRegistry | None = None,
    auth: Auth | None = None,
    path: str = "/metrics",
    gzip: bool = True,
    multiprocess: bool | None = None,
    limits: ServerLimits | None = None,
    routes: Mapping[str, Route] | None = None,
) -> MetricsServer:
    """Serve ``path`` on ``addr:port`` from a background thread; returns the running server.

    Binds to 127.0.0.1 unless told otherwise: exposing metrics to the network
    (``addr="0.0.0.0"``) is a choice, best made with ``auth=``. ``port=0``
    picks a free port (read it from ``.port``). ``limits`` bounds connections and time
    (:class:`ServerLimits`); the defaults need no tuning for Prometheus. ``routes`` serves other
    paths on the same port and limits (``tocsin.sdk.packs.serve`` puts ``/health`` there).
    """
    if not path.startswith("/"):
        raise ConfigurationError(f"metrics path {path!r} must start with '/'")
    exposition = Exposition(registry, auth=auth, gzip=gzip, multiprocess=multiprocess)
    limits = limits or ServerLimits()
    server = _Server(_listen(addr, port), exposition, _normalised(path), limits, routes)
    thread = threading.Thread(target=server.run, name=f"tocsin-metrics-{port}", daemon=True)
    thread.start()
    return MetricsServer(server, thread)
