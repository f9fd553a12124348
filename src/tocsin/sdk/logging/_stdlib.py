"""The bridge to the standard library: a logger for structlog and a formatter for handlers.

structlog's own ``ProcessorFormatter`` and ``LoggerFactory`` work, but each line
then pays for two ``LogRecord`` objects (the formatter copies the record) and a
walk up the stack to find the caller, which tocsin never prints. The two small
classes here keep the same behaviour without those costs (about a third of the
time per line, see ``benchmarks/log_lines.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

from . import _direct

__all__ = ["LastLine", "PipelineFormatter", "StdlibSink", "sink_factory", "to_sink"]


class StdlibSink:
    """What structlog calls at the end of its chain with the processed event dict.

    When only tocsin's handlers would see the event, the active
    :class:`~tocsin.sdk.logging._direct.Router` writes it without a record;
    otherwise the event goes to the stdlib logger as one record, as
    ``ProcessorFormatter.wrap_for_formatter`` would send it. Either way the
    stdlib logger's level (``logger_levels``) applies; only the caller lookup is skipped.
    """

    __slots__ = ("_logger", "name")

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self.name = logger.name

    def _emit(self, level: int, level_name: str, event_dict: Any) -> None:
        logger = self._logger
        if logger.isEnabledFor(level):
            router = _direct.active
            if router is not None and router.owns_path(logger):
                router.deliver(level, level_name, event_dict, self)
            else:
                logger.handle(_direct.stdlib_record(self, level, level_name, event_dict))

    def debug(self, event_dict: Any) -> None:
        self._emit(logging.DEBUG, "debug", event_dict)

    def info(self, event_dict: Any) -> None:
        self._emit(logging.INFO, "info", event_dict)

    def warning(self, event_dict: Any) -> None:
        self._emit(logging.WARNING, "warning", event_dict)

    def error(self, event_dict: Any) -> None:
        self._emit(logging.ERROR, "error", event_dict)

    def critical(self, event_dict: Any) -> None:
        self._emit(logging.CRITICAL, "critical", event_dict)

    warn = warning
    exception = error
    fatal = critical
    msg = info


def to_sink(_logger: Any, _method: str, event_dict: EventDict) -> tuple[tuple[EventDict], dict[str, Any]]:
    """The last processor: the event dict, whole, as the one argument of the sink's method."""
    return (event_dict,), {}


def sink_factory() -> Any:
    """A structlog logger factory: the stdlib logger structlog's factory would pick, wrapped in a sink."""
    stdlib_factory = structlog.stdlib.LoggerFactory()

    def factory(*args: Any) -> StdlibSink:
        return StdlibSink(stdlib_factory(*args))

    return factory


class LastLine:
    """The last record a JSON formatter of one configuration rendered, and its line.

    The console and the file render a stdlib record to the same JSON: the
    first output renders it (one timestamp, the exception formatted once), the
    next ones reuse the line.
    """

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: tuple[logging.LogRecord | None, str] = (None, "")


class PipelineFormatter(logging.Formatter):
    """Renders a record with structlog processors, without copying it.

    Records from structlog carry their processed event dict in ``msg``; records
    from other loggers first go through ``from_record`` (the shared processors in
    one function) and ``processors`` (the user's). The record is not modified,
    so other handlers can format it too. Formatters given the same ``shared``
    render a record once between them.
    """

    def __init__(
        self,
        from_record: Callable[[logging.LogRecord], EventDict],
        processors: Sequence[Processor],
        renderer: Sequence[Processor],
        shared: LastLine | None = None,
    ) -> None:
        super().__init__()
        self.from_record = from_record
        self.processors = tuple(processors)
        self.renderer = tuple(renderer)
        self.shared = shared

    def format(self, record: logging.LogRecord) -> str:
        shared = self.shared
        if shared is not None:
            last = shared.last
            if last[0] is record:
                return last[1]
        method: str | None = getattr(record, "_name", None)
        ed: Any
        if method is not None and isinstance(record.msg, dict):
            ed = dict(record.msg)
        else:
            method = record.levelname.lower()
            ed = self.from_record(record)
            for processor in self.processors:
                ed = processor(None, method, ed)
        for processor in self.renderer:
            ed = processor(None, method, ed)
        line = str(ed)
        if shared is not None:
            shared.last = (record, line)
        return line
