"""The few HTTP calls the ops commands make to the stack's components (httpx, one timeout each).

:class:`CallFailed` says which URL and why (refused, timed out, an error status with the body's start),
so a command can turn it into a sentence with a fix.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["CallFailed", "call", "call_json"]


class CallFailed(Exception):
    """Could not reach the URL, or it answered with an error status (``status`` 0 when unreachable)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def call(
    method: str, url: str, *, json: Any = None, params: Any = None, timeout: float = 10.0
) -> httpx.Response:
    """One request; a non-2xx answer or a transport error is a :class:`CallFailed`."""
    try:
        response = httpx.request(method, url, json=json, params=params, timeout=timeout, trust_env=False)
    except httpx.HTTPError as exc:
        raise CallFailed(f"{method} {url}: {type(exc).__name__}: {exc or 'no answer'}") from None
    if not 200 <= response.status_code < 300:
        body = response.text.strip()[:200]
        raise CallFailed(f"{method} {url}: HTTP {response.status_code}: {body}", response.status_code)
    return response


def call_json(method: str, url: str, **kwargs: Any) -> Any:
    response = call(method, url, **kwargs)
    try:
        return response.json()
    except ValueError:
        raise CallFailed(f"{method} {url}: not JSON: {response.text[:80]!r}", response.status_code) from None
