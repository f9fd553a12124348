"""The processors every log event goes through, structlog's and the standard library's alike.

Each one does one job; :func:`shared_processors` lists them in order, so the
pipeline reads top to bottom.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from ._servers import access_fields

_ACCESS_LOGGERS = frozenset({"uvicorn.access", "gunicorn.access"})

__all__ = [
    "add_static",
    "console_renderer",
    "json_renderer",
    "native_processor",
    "record_processor",
    "shared_processors",
]


def add_static(**fields: str) -> Processor:
    """Adds fixed fields (``service``, ``environment``) unless the event already has them."""

    def processor(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        for key, value in fields.items():
            event_dict.setdefault(key, value)
        return event_dict

    return processor


@functools.cache
def _trace_ids_processor() -> Callable[[WrappedLogger, str, EventDict], EventDict] | None:
    """``trace_id``/``span_id`` of the active OpenTelemetry span, or ``None`` when OpenTelemetry is absent."""
    if importlib.util.find_spec("opentelemetry") is None:
        return None
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import propagation

    get_current_span = trace.get_current_span
    get_current = otel_context.get_current
    # OpenTelemetry's key of the current span in its context: with it, a line outside any span costs
    # one dict lookup instead of get_current_span()'s four calls (without it, the public call)
    span_key = getattr(propagation, "_SPAN_KEY", None)

    def add_trace_ids(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        if span_key is not None and get_current().get(span_key) is None:
            return event_dict
        context = get_current_span().get_span_context()
        if context.is_valid:
            event_dict["trace_id"] = format(context.trace_id, "032x")
            event_dict["span_id"] = format(context.span_id, "016x")
        return event_dict

    return add_trace_ids


def shared_processors(service: str | None, environment: str) -> list[Processor]:
    """Context, level, logger name, ISO timestamp, identity and trace ids, for every event."""
    add_trace_ids = _trace_ids_processor()  # OpenTelemetry is imported only when installed
    static = {"environment": environment} | ({"service": service} if service else {})
    chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_static(**static),
    ]
    if add_trace_ids is not None:
        chain.append(add_trace_ids)
    chain.append(structlog.processors.StackInfoRenderer())
    return chain


_LEVELS = {"warn": "warning", "exception": "error"}
_merge_contextvars = structlog.contextvars.merge_contextvars
_render_stack = structlog.processors.StackInfoRenderer()


class _Clock:
    """ISO 8601 UTC timestamps as ``TimeStamper(fmt="iso", utc=True)`` writes them.

    The date and time of day are formatted once per second; each line appends its microseconds.
    """

    __slots__ = ("prefix", "second")

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def now(self) -> str:
        second, micro = divmod(time.time_ns() // 1000, 1_000_000)
        if second != self.second:
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self.second = second
        return f"{self.prefix}.{micro:06d}Z"


def native_processor(service: str | None, environment: str) -> Processor:
    """:func:`shared_processors` in one function, for structlog's own events (the hot path).

    The event comes out as a new dict in display order (``timestamp``, ``level``,
    ``logger``, ``event``, then the rest), so rendering needs no reordering copy.
    """
    finish = _finisher(service, environment)
    clock = _Clock()

    def process(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        event_dict = _merge_contextvars(logger, method, event_dict)
        timestamp, level, name = clock.now(), _LEVELS.get(method, method), logger.name
        out: EventDict = {
            "timestamp": timestamp,
            "level": level,
            "logger": name,
            "event": event_dict.pop("event", None),
        }
        out.update(event_dict)
        if len(out) < 4 + len(event_dict):  # the event carried its own timestamp/level/logger: ours win
            out["timestamp"], out["level"], out["logger"] = timestamp, level, name
        return finish(logger, method, out)

    return process


#: terminal colour and cursor sequences (``ESC [ ... letter``): noise in a JSON line and in the log store
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def record_processor(service: str | None, environment: str) -> Callable[[logging.LogRecord], EventDict]:
    """:func:`shared_processors` in one function, for standard-library records: the event dict of ``record``.

    The same fields as structlog's ``foreign_pre_chain`` with those processors,
    extras included (``ExtraAdder``), without the ten calls.
    """
    finish = _finisher(service, environment)
    clock = _Clock()

    def process(record: logging.LogRecord) -> EventDict:
        method = record.levelname.lower()
        message = record.getMessage()
        if "\x1b" in message:  # werkzeug's dev server colours its lines whatever the output
            message = _ANSI_ESCAPE.sub("", message)
        out: EventDict = {
            "timestamp": "",
            "level": method,
            "logger": record.name,
            "event": message,
        }
        out = _merge_contextvars(None, method, out)
        for key, value in record.__dict__.items():
            if key not in _RECORD_KEYS:
                out[key] = value
        if record.name in _ACCESS_LOGGERS:
            out.update(access_fields(record) or ())
        out["timestamp"] = clock.now()
        if record.exc_info:
            out["exc_info"] = record.exc_info
        if record.stack_info:
            out["stack_info"] = record.stack_info
        return finish(None, method, out)

    return process


_RECORD_KEYS = frozenset(logging.LogRecord("name", 0, "pathname", 0, "msg", (), None).__dict__) | {
    "message",
    "asctime",
}


def _finisher(service: str | None, environment: str) -> Callable[[WrappedLogger, str, EventDict], EventDict]:
    """The end of both paths: ``service``/``environment`` unless set, trace ids, the stack if asked for."""
    add_trace_ids = _trace_ids_processor()
    static = tuple(({"environment": environment} | ({"service": service} if service else {})).items())

    def finish(logger: WrappedLogger, method: str, out: EventDict) -> EventDict:
        for key, value in static:
            if key not in out:
                out[key] = value
        if add_trace_ids is not None:
            out = add_trace_ids(logger, method, out)
        if "stack_info" in out:
            out = _render_stack(logger, method, out)
        return out

    return finish


def _dumps(obj: Any, **_kw: Any) -> str:
    return orjson.dumps(obj, default=repr, option=orjson.OPT_NON_STR_KEYS).decode()


_FIRST = ("timestamp", "level", "logger", "event")


def leading_fields(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """``timestamp``, ``level``, ``logger``, ``event`` first, so a person can scan the lines."""
    first = {key: event_dict.pop(key) for key in _FIRST if key in event_dict}
    first.update(event_dict)
    return first


def json_renderer() -> list[Processor]:
    """Exception to a string field, then one orjson line (newlines inside values are escaped)."""
    return [
        structlog.processors.format_exc_info,
        leading_fields,
        structlog.processors.JSONRenderer(serializer=_dumps),
    ]


def console_renderer(colors: bool) -> list[Processor]:
    """structlog's console renderer; tracebacks without local variables (they may hold secrets)."""
    formatter: Any = structlog.dev.plain_traceback
    if importlib.util.find_spec("rich") is not None:
        formatter = structlog.dev.RichTracebackFormatter(show_locals=False)
    return [structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=formatter)]
