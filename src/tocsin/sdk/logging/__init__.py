"""Structured logging: structlog and the standard library through one pipeline.

::

    from tocsin.sdk import logging as tlog

    tlog.configure(environment="production", level="INFO", service="ebook")
    log = tlog.get_logger(__name__)
    log.info("login_success", user_id=42)
    # {"timestamp":"2026-11-23T12:00:00.000000Z","level":"info","logger":"app.auth",
    #  "event":"login_success","user_id":42,"environment":"production","service":"ebook"}

Request ids: ``tocsin.sdk.logging.asgi.RequestIdMiddleware``, ``.wsgi.RequestIdMiddleware``,
``.django.RequestIdMiddleware``. Tests: ``tocsin.testing.capture_logs()`` and :func:`reset`.
"""

from __future__ import annotations

from ._configure import configure, get_logger, is_configured, reset
from ._outputs import CountingHandler, LogFile
from ._processors import add_static, shared_processors
from ._request_id import REQUEST_ID_HEADER, bind_request_id, get_request_id, new_request_id, unbind_request_id

__all__ = [
    "REQUEST_ID_HEADER",
    "CountingHandler",
    "LogFile",
    "add_static",
    "bind_request_id",
    "configure",
    "get_logger",
    "get_request_id",
    "is_configured",
    "new_request_id",
    "reset",
    "shared_processors",
    "unbind_request_id",
]
