"""Request ids for Django: a middleware for sync and async views.

::

    MIDDLEWARE = ["tocsin.sdk.logging.django.RequestIdMiddleware", ...]   # first

Put it first, so the id is bound for every other middleware's log lines.
``request.request_id`` carries it for views.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._request_id import REQUEST_ID_HEADER, bind_request_id, new_request_id, unbind_request_id

__all__ = ["RequestIdMiddleware"]


class RequestIdMiddleware:
    """Binds ``request_id`` around the view and sets the ``X-Request-ID`` response header."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self._async = inspect.iscoroutinefunction(get_response)
        if self._async:
            from asgiref.sync import markcoroutinefunction

            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self._acall(request)
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        tokens = bind_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            unbind_request_id(tokens)
        response[REQUEST_ID_HEADER] = request_id
        return response

    async def _acall(self, request: Any) -> Any:
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        tokens = bind_request_id(request_id)
        try:
            response = await self.get_response(request)
        finally:
            unbind_request_id(tokens)
        response[REQUEST_ID_HEADER] = request_id
        return response
