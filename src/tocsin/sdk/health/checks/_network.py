"""Network checks: a TCP connect and an HTTP request with an expected status.

httpx and the verifying TLS context (the CA bundle, ~20 ms to load) are ready when the
check is made, not inside the first probe's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import ssl
import time
from collections.abc import Collection, Mapping
from typing import Any

from .._check import BaseCheck, CheckFailed, Observation
from .._redact import dsn_secrets

__all__ = ["HttpCheck", "TcpCheck", "http", "tcp"]


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


class TcpCheck(BaseCheck):
    """Opens (and closes) a TCP connection: the dependency is reachable, nothing more."""

    measurement = "responseTime"

    def __init__(self, name: str, host: str, port: int, **kw: object) -> None:
        super().__init__(name, **kw)  # type: ignore[arg-type]
        self.host = host
        self.port = port

    async def __call__(self) -> Observation:
        started = time.perf_counter()
        async with asyncio.timeout(self.connect_timeout()):
            _reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        return Observation(_elapsed_ms(started), "ms")


class HttpCheck(BaseCheck):
    """GET (or ``method``) ``url``; up when the status is one of ``expect`` (default 200-399)."""

    measurement = "responseTime"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        method: str,
        expect: Collection[int],
        headers: Mapping[str, str],
        verify: bool,
        **kw: object,
    ) -> None:
        super().__init__(name, secrets=dsn_secrets(url) + tuple(headers.values()), **kw)  # type: ignore[arg-type]
        self.url = url
        self.method = method
        self.expect = frozenset(expect)
        self.headers = dict(headers)
        self.verify = verify
        self._httpx: Any = _import_httpx()
        self._tls: ssl.SSLContext | bool = _default_tls() if verify else False

    async def __call__(self) -> Observation:
        httpx = self._httpx
        timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout())
        verify = self._tls
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=timeout, verify=verify, follow_redirects=False) as client:
            response = await client.request(self.method, self.url, headers=self.headers)
        elapsed = _elapsed_ms(started)
        if response.status_code not in self.expect:
            expected = _ranges(self.expect)
            raise CheckFailed(f"HTTP {response.status_code} (expected {expected})", value=elapsed, unit="ms")
        return Observation(elapsed, "ms")


_HTTPX_LAZY = (
    "httpcore",
    "httpcore._backends.anyio",
    "httpcore._async.http11",
    "h11",
    "sniffio",
    "anyio",
    "anyio.abc",
    "anyio.lowlevel",
    "anyio.to_thread",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
    "anyio._backends._asyncio",
)


def _import_httpx() -> Any:
    """httpx and what its first async request would import (httpcore's HTTP/1.1 over anyio: ~80
    modules, 0.3–0.7 s on a cold start)."""
    import httpx

    for module in _HTTPX_LAZY:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    return httpx


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """One verifying TLS context for every HTTP check: building one loads the CA bundle (~20 ms)."""
    return ssl.create_default_context()


def _ranges(codes: Collection[int]) -> str:
    ordered = sorted(codes)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(map(str, ordered))


def tcp(
    name: str,
    host: str,
    port: int,
    *,
    critical: bool = True,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> TcpCheck:
    """Up when a TCP connection to ``host:port`` opens within the connect timeout."""
    return TcpCheck(name, host, port, critical=critical, timeout=timeout, connect_timeout=connect_timeout)


def http(
    name: str,
    url: str,
    *,
    method: str = "GET",
    expect: Collection[int] = range(200, 400),
    headers: Mapping[str, str] | None = None,
    verify: bool = True,
    critical: bool = True,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> HttpCheck:
    """Up when ``url`` answers with a status in ``expect``; redirects are not followed."""
    return HttpCheck(
        name,
        url,
        method=method,
        expect=expect,
        headers=headers or {},
        verify=verify,
        critical=critical,
        timeout=timeout,
        connect_timeout=connect_timeout,
    )
