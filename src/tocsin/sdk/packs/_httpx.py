"""httpx transports that measure calls into :class:`~tocsin.sdk.packs.HttpClient` (imports httpx)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from .client import HttpClient

__all__ = ["AsyncInstrumentedTransport", "InstrumentedTransport"]

_perf_counter = time.perf_counter


class InstrumentedTransport(httpx.BaseTransport):
    """Wraps a sync transport: status and latency to the response headers, or the error."""

    def __init__(self, calls: HttpClient, target: str, transport: httpx.BaseTransport | None = None) -> None:
        self.calls = calls
        self.target = target
        self.transport = transport if transport is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = _perf_counter()
        try:
            response = self.transport.handle_request(request)
        except Exception as err:
            self.calls.failed(self.target, request.method, err, _perf_counter() - started)
            raise
        self.calls.record(self.target, request.method, response.status_code, _perf_counter() - started)
        return response

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> InstrumentedTransport:
        self.transport.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.transport.__exit__(*exc)


class AsyncInstrumentedTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`InstrumentedTransport`."""

    def __init__(
        self, calls: HttpClient, target: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.calls = calls
        self.target = target
        self.transport = transport if transport is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = _perf_counter()
        try:
            response = await self.transport.handle_async_request(request)
        except Exception as err:
            self.calls.failed(self.target, request.method, err, _perf_counter() - started)
            raise
        self.calls.record(self.target, request.method, response.status_code, _perf_counter() - started)
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncInstrumentedTransport:
        await self.transport.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.transport.__aexit__(*exc)
