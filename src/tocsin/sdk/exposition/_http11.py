"""A strict HTTP/1.1 request-head parser for the standalone ``/metrics`` server.

Why hand-written: the server runs inside the user's application, and the SDK imports nothing but the
stdlib and prometheus_client (h11 is not an SDK dependency). The stdlib's own parser
(``http.server.BaseHTTPRequestHandler``) reads from a blocking file per thread, which is the design
this server replaces. So this module parses a complete request head (bytes up to the blank line) and
nothing else: no bodies (the server discards a small ``Content-Length`` body and closes on anything
else), no chunked decoding, no obs-fold. The grammar is RFC 9112's, taken from h11's ``_abnf.py``,
and it is stricter than h11 where they differ (a bare LF is refused): the test suite fuzzes it against
h11 and checks that whatever this module accepts, h11 accepts with the same method, target and headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BadRequest", "RequestHead", "parse_head"]

_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_REQUEST_LINE = re.compile(rb"(" + _TOKEN.pattern + rb") ([\x21-\x7e]+) HTTP/(\d)\.(\d)")
# a field value is visible characters, obs-text, spaces and tabs: any other control character is refused
_CTL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class BadRequest(Exception):
    """The head is not a request this server takes; ``status`` is the answer to give (400, 431, 505)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class RequestHead:
    """One parsed request head. Header names are lower-cased; repeated headers are joined with ``,``."""

    method: str
    target: str
    version: tuple[int, int]
    headers: dict[str, str]

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version >= (1, 1):
            return "close" not in tokens
        return "keep-alive" in tokens

    @property
    def content_length(self) -> int | None:
        """The body's declared length; None without one. BadRequest if it is not one number."""
        raw = self.headers.get("content-length")
        if raw is None:
            return None
        values = {v.strip() for v in raw.split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit() or not next(iter(values)).isascii():
            raise BadRequest(400, "bad Content-Length")
        return int(next(iter(values)))


def parse_head(head: bytes) -> RequestHead:
    """Parse ``head``: the request line and header lines, each ending in CRLF, without the blank line."""
    lines = head.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise BadRequest(400, "empty request")
    line = _REQUEST_LINE.fullmatch(lines[0])
    if line is None:
        raise BadRequest(400, "bad request line")
    method, target, major, minor = line.groups()
    if (major, minor) not in ((b"1", b"0"), (b"1", b"1")):
        raise BadRequest(505, "only HTTP/1.0 and HTTP/1.1 are served")
    if not (target.startswith(b"/") or target == b"*"):
        raise BadRequest(400, "request target must be a path")
    headers: dict[str, str] = {}
    for raw in lines[1:]:
        if raw[:1] in (b" ", b"\t"):
            raise BadRequest(400, "obsolete line folding")
        if _CTL.search(raw):
            raise BadRequest(400, "control character in a header")
        raw_name, colon, raw_value = raw.partition(b":")
        if not colon or _TOKEN.fullmatch(raw_name) is None:
            raise BadRequest(400, "bad header line")
        name = raw_name.decode("ascii").lower()
        value = raw_value.strip(b" \t").decode("latin-1")
        if name in headers and name == "host":
            raise BadRequest(400, "more than one Host header")  # RFC 9112 3.2: must be refused
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    version = (int(major), int(minor))
    if version == (1, 1) and "host" not in headers:
        raise BadRequest(400, "HTTP/1.1 request without Host")
    if "transfer-encoding" in headers and "content-length" in headers:
        raise BadRequest(400, "both Transfer-Encoding and Content-Length")
    request = RequestHead(method.decode("ascii"), target.decode("ascii"), version, headers)
    request.content_length  # noqa: B018 - a bad Content-Length is refused with the head, as h11 does
    return request
