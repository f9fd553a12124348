"""A ``requests`` HTTPAdapter measuring calls into :class:`~tocsin.sdk.packs.HttpClient` (imports it)."""

from __future__ import annotations

import time
from typing import Any

from requests.adapters import HTTPAdapter

from .client import HttpClient

__all__ = ["instrumented_adapter"]

_perf_counter = time.perf_counter


class _Adapter(HTTPAdapter):
    calls: HttpClient
    target: str

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        started = _perf_counter()
        method = request.method or "GET"
        try:
            response = super().send(request, *args, **kwargs)
        except Exception as err:
            self.calls.failed(self.target, method, err, _perf_counter() - started)
            raise
        self.calls.record(self.target, method, response.status_code, _perf_counter() - started)
        return response


def instrumented_adapter(calls: HttpClient, target: str, **options: Any) -> HTTPAdapter:
    adapter = _Adapter(**options)
    adapter.calls = calls
    adapter.target = target
    return adapter
