"""The supervisor's HTTP client (tocsin.stack._http, h11 over a socket) against real servers on
loopback: the answers Go's net/http, h11 and a broken peer send — every body framing, silence,
garbage, oversize, and mangled answers as a class — and the real Alertmanager/Prometheus through
the stack tests (tests/stack/test_supervisor.py, test_silences.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from tests._fuzz import FUZZ, mutated

from tocsin.stack import _http
from tocsin.stack._http import HTTPFailure, json_request, request


@contextmanager
def _answering(answer: bytes, *, close: bool = True) -> Iterator[tuple[str, list[bytes]]]:
    """A one-connection server: reads the request head (and a body up to 1 KiB), sends ``answer``."""
    server = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            if b"Content-Length" in data:
                conn.settimeout(0.2)
                try:
                    data += conn.recv(1024)
                except TimeoutError:
                    pass
            got.append(data)
            conn.sendall(answer)
            if not close:
                done.wait(5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", got
    finally:
        done.set()
        thread.join(5)
        server.close()


def test_content_length_body_and_the_request_it_sent() -> None:
    with _answering(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", close=False) as (url, got):
        assert request("POST", f"{url}/api/v2/silences?x=1", {"a": 1}) == (200, b"hello")
    head = got[0].decode()
    assert head.startswith("POST /api/v2/silences?x=1 HTTP/1.1\r\n")
    assert "Connection: close\r\n" in head and "Content-Type: application/json\r\n" in head
    assert head.endswith('{"a": 1}')


def test_chunked_body_with_trailers() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n"
    )
    with _answering(answer, close=False) as (url, _):
        assert request("GET", url) == (200, b"abcde")


def test_body_up_to_the_close() -> None:
    with _answering(b"HTTP/1.0 503 Service Unavailable\r\n\r\nnot ready") as (url, _):
        assert request("GET", f"{url}/-/ready") == (503, b"not ready")


def test_json_request_says_status_and_body() -> None:
    bad = b"HTTP/1.1 400 Bad\r\nContent-Length: 7\r\n\r\nbad one"
    with _answering(bad) as (url, _), pytest.raises(HTTPFailure, match=r"GET .*: HTTP 400: bad one"):
        json_request("GET", url)
    cut = b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n[{"a":1}'
    with _answering(cut) as (url, _), pytest.raises(HTTPFailure, match="not JSON"):
        json_request("GET", url)
    with _answering(b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n[{"a":1}]') as (url, _):
        assert json_request("GET", url) == [{"a": 1}]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", r"received 5 bytes, expected 10"),
        (b"HTTP/1.1 200 OK\r\nContent-Len", "not an HTTP answer: peer unexpectedly closed"),
        (b"", "closed the connection without answering"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "illegal chunk header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n", "larger than"),
    ],
)
def test_what_is_not_a_whole_http_answer_is_a_failure(answer: bytes, error: str) -> None:
    with _answering(answer) as (url, _), pytest.raises(HTTPFailure, match=error):
        request("GET", url)


def test_a_close_delimited_answer_past_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "MAX_BODY", 1000)
    big = b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 300_000
    with _answering(big) as (url, _), pytest.raises(HTTPFailure, match="larger than 1000 bytes"):
        request("GET", url)


def test_a_peer_that_accepts_and_never_answers_fails_within_the_timeout() -> None:
    silent = _answering(b"", close=False)
    with silent as (url, _), pytest.raises(HTTPFailure, match=r"no answer within 0.2 s"):
        request("GET", url, timeout=0.2)


def test_nothing_listening_and_bad_urls() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HTTPFailure, match=f"GET http://127.0.0.1:{port}/: Connection refused"):
        request("GET", f"http://127.0.0.1:{port}/")
    with pytest.raises(HTTPFailure, match="only http://"):
        request("GET", "https://127.0.0.1:9093/")


VALID_ANSWERS = (
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.0 503 Service Unavailable\r\n\r\nnot ready",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
)


@FUZZ
@given(answer=mutated(VALID_ANSWERS))
def test_any_mangled_answer_is_an_answer_or_an_http_failure(answer: bytes) -> None:
    """The class, not examples: whatever bytes a component sends, the supervisor gets (status, body)
    or HTTPFailure — never another exception, never a hang past the timeout."""
    with _answering(answer) as (url, _):
        try:
            status, body = request("GET", url, timeout=2)
        except HTTPFailure:
            return
    assert 100 <= status <= 999 and len(body) <= len(answer)
