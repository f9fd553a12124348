"""The supervisor's HTTP calls to its own components (readiness, liveness, silence copies): h11 on a socket.

The supervisor runs for as long as the stack does, and it only ever speaks plain HTTP to processes it
started on loopback. httpx (tocsin's client everywhere else: the CLI, :mod:`tocsin.promapi`) costs it
~10 MB of RSS for life — httpx, httpcore, anyio, idna, certifi, email and ssl (libcrypto alone is
~5 MB) — five percent of the whole stack's memory budget for a few ``GET /-/healthy`` a second.
``http.client`` would still pull ``email`` and ``ssl``. h11, the maintained parser under httpx, costs
~2 MB and no TLS: it frames the answer (Content-Length, chunked, close) and refuses malformed ones;
this module only moves bytes between it and a blocking socket (measured in ``docs/performance.md``,
kept so by ``tests/stack/test_footprint.py``).

What it does: one HTTP/1.1 request with ``Connection: close`` (a restarted component never inherits a
dead keep-alive socket), ``timeout`` on connecting, writing and each read (a component that accepts and
never answers — SIGSTOPped, deadlocked — fails within it), answers larger than :data:`MAX_BODY` refused,
and one :class:`HTTPFailure` for "could not talk to it", "did not speak HTTP" and (from
:func:`json_request`) "answered with an error".
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import h11

__all__ = ["MAX_BODY", "HTTPFailure", "json_request", "request"]

#: larger answers are refused: nothing the supervisor reads (health, silences) comes near it
MAX_BODY = 32 * 2**20
_MAX_HEAD = 64 * 1024


class HTTPFailure(OSError):
    """Could not talk to the component at all, or it answered with an error status."""


def _exchange(
    sock: socket.socket, method: str, target: str, host: str, body: bytes | None
) -> tuple[int, bytes]:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
    headers = [("Host", host), ("Connection", "close"), ("Accept", "*/*")]
    if body is not None:
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    out = conn.send(h11.Request(method=method, target=target, headers=headers))
    if body is not None:
        out += conn.send(h11.Data(data=body))
    sock.sendall(out + conn.send(h11.EndOfMessage()))
    status, received, heard = 0, bytearray(), False
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = sock.recv(65536)  # b"" at the peer's close: h11 knows whether that ends the answer
            if not data and not heard:
                raise ValueError("it closed the connection without answering")
            heard = heard or bool(data)
            conn.receive_data(data)
        elif isinstance(event, h11.Response):
            status = event.status_code
            length = dict(event.headers).get(b"content-length", b"0")
            if int(length) > MAX_BODY:  # h11 checked it is digits; refused before reading it
                raise ValueError(f"the answer is larger than {MAX_BODY} bytes")
        elif isinstance(event, h11.Data):
            received += event.data
            if len(received) > MAX_BODY:
                raise ValueError(f"the answer is larger than {MAX_BODY} bytes")
        elif isinstance(event, h11.EndOfMessage):
            return status, bytes(received)
        elif isinstance(event, h11.ConnectionClosed):
            raise ValueError("the connection closed before an answer")
        # InformationalResponse (1xx): the final answer follows


def request(method: str, url: str, payload: Any = None, timeout: float = 0.5) -> tuple[int, bytes]:
    """One request, JSON body if ``payload`` is given: ``(status, body)``, or HTTPFailure if unreachable.

    ``timeout`` bounds connecting, writing and each read.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise HTTPFailure(f"{method} {url}: only http:// URLs with a host (the stack's own components)")
    host, port = parts.hostname, parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(payload).encode() if payload is not None else None
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            return _exchange(sock, method, target, parts.netloc, body)
    except TimeoutError as exc:
        raise HTTPFailure(f"{method} {url}: no answer within {timeout:g} s") from exc
    except OSError as exc:
        raise HTTPFailure(f"{method} {url}: {exc.strerror or exc}") from exc
    except h11.RemoteProtocolError as exc:
        raise HTTPFailure(f"{method} {url}: not an HTTP answer: {exc}") from exc
    except ValueError as exc:
        raise HTTPFailure(f"{method} {url}: {exc}") from exc


def json_request(method: str, url: str, payload: Any = None, timeout: float = 1.0) -> Any:
    """Like :func:`request` but a non-2xx status is an HTTPFailure and the answer is decoded JSON."""
    status, body = request(method, url, payload, timeout)
    if not 200 <= status < 300:
        raise HTTPFailure(f"{method} {url}: HTTP {status}: {body[:200].decode(errors='replace')}")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise HTTPFailure(f"{method} {url}: not JSON: {body[:80]!r}") from exc
