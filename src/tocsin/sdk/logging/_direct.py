"""The direct path: a structlog event rendered once and written to tocsin's own outputs, no ``LogRecord``.

Going through the standard library costs a ``LogRecord``, the handler chain and
a formatter per output: about half the time of a line. When nothing but
tocsin's handlers would see an event (the usual case), :class:`Router` does
their job itself: it counts the event in ``log_messages_total``, renders the
JSON line once and writes it, under each handler's lock and with its rotation
rules, to every output whose level lets it through. Outputs that need a record
(the alert handler, the console renderer for people) get one, built only when
such an output takes the event. As soon as another handler is attached on the
way to the root logger (``capture_logs()``, pytest's ``caplog``, Sentry...),
events go through the standard library again, so that handler sees them.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict

from tocsin.sdk.metrics import CappedCounter

__all__ = ["Router", "active", "json_line", "stdlib_record"]

_format_exc_info = structlog.processors.format_exc_info
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE

Writer = Callable[[str], None]

# The router of the current configure(), None when not configured; sinks read it on every event.
active: Router | None = None


def json_line(event_dict: EventDict) -> str:
    """One JSON line with its newline; the exception, if any, becomes an ``exception`` string first."""
    if "exc_info" in event_dict:
        event_dict = _format_exc_info(None, "", event_dict)
    return orjson.dumps(event_dict, default=repr, option=_OPTIONS).decode()


def _writer(handler: logging.StreamHandler[Any]) -> Writer:
    """What ``handler.emit`` does with a formatted line, rotation included, for a line at hand."""
    lock = handler.lock
    assert lock is not None  # created by Handler.__init__

    if isinstance(handler, logging.handlers.RotatingFileHandler):
        size_handler = handler

        def write_rotating(line: str) -> None:
            with lock:
                if size_handler.stream is None:
                    size_handler.stream = size_handler._open()
                stream = size_handler.stream
                if size_handler.maxBytes > 0:
                    stream.seek(0, 2)
                    if stream.tell() + len(line) >= size_handler.maxBytes and os.path.isfile(
                        size_handler.baseFilename
                    ):
                        size_handler.doRollover()
                        stream = size_handler.stream
                stream.write(line)
                stream.flush()

        return write_rotating

    if isinstance(handler, logging.handlers.TimedRotatingFileHandler):
        time_handler = handler

        def write_timed(line: str) -> None:
            with lock:
                if time_handler.shouldRollover(None):  # type: ignore[arg-type]  # the record is not used
                    time_handler.doRollover()
                if time_handler.stream is None:
                    time_handler.stream = time_handler._open()
                time_handler.stream.write(line)
                time_handler.stream.flush()

        return write_timed

    def write(line: str) -> None:
        lock.acquire()  # cheaper than ``with`` (as in sdk.http)
        try:
            stream = handler.stream
            if stream is None:  # a FileHandler closed by someone: reopen as its emit() would
                stream = handler.stream = handler._open()  # type: ignore[attr-defined]
            stream.write(line)
            stream.flush()
        finally:
            lock.release()

    return write


class Router:
    """Delivers structlog events to the outputs of one ``configure()``.

    ``json_outputs`` are stream or file handlers whose formatter renders
    tocsin's JSON: they get the line directly. ``record_outputs`` get a
    ``LogRecord`` as they would from the standard library.
    """

    def __init__(
        self,
        root_handlers: Sequence[logging.Handler],
        json_outputs: Sequence[logging.StreamHandler[Any]],
        record_outputs: Sequence[logging.Handler],
        counter: CappedCounter | None,
    ) -> None:
        self.root_handlers = list(root_handlers)
        self._writers = [(handler.level, _writer(handler), handler) for handler in json_outputs]
        self._record_outputs = list(record_outputs)
        self._record_level = min((h.level for h in record_outputs), default=logging.CRITICAL + 1)
        self._counter = counter
        self._counts: dict[tuple[str, str], Any] = {}
        self._root = logging.getLogger()

    def owns_path(self, logger: logging.Logger) -> bool:
        """Whether tocsin's handlers on the root are all the handlers that would see ``logger``'s events."""
        if logger.disabled or logger.filters:
            return False
        root = self._root
        current: logging.Logger = logger
        while current is not root:
            if current.handlers or not current.propagate:
                return False
            parent = current.parent
            if parent is None:
                return False
            current = parent
        return root.handlers == self.root_handlers

    def deliver(self, level: int, level_name: str, event_dict: EventDict, sink: Any) -> None:
        """Count ``event_dict`` once, render it once, write it to every output whose level admits it."""
        name: str = sink.name
        if self._counter is not None:
            key = (level_name, name)
            cell = self._counts.get(key)
            if cell is None:
                cell = self._counts[key] = _cell(self._counter.labels(level_name, name))
            cell.inc(1)
        line: str | None = None
        for threshold, write, handler in self._writers:
            if level >= threshold:
                if line is None:
                    line = json_line(event_dict)
                try:
                    write(line)
                except Exception:
                    handler.handleError(stdlib_record(sink, level, level_name, event_dict))
        if level >= self._record_level:
            record = stdlib_record(sink, level, level_name, event_dict)
            for output in self._record_outputs:
                if level >= output.level:
                    output.handle(record)


def _cell(child: Any) -> Any:
    """The value cell behind a counter child: its ``inc(1)`` skips the child's argument checks
    (prometheus_client's own cell, locked in multi-threaded mode; the child when there is none)."""
    cell = getattr(child, "_value", None)
    return cell if cell is not None and hasattr(cell, "inc") else child


def stdlib_record(sink: Any, level: int, level_name: str, event_dict: EventDict) -> logging.LogRecord:
    """The record ``ProcessorFormatter.wrap_for_formatter`` would have made (tocsin's formatters read it)."""
    logger: logging.Logger = sink._logger
    return logger.makeRecord(
        logger.name, level, "", 0, event_dict, (), None, extra={"_logger": sink, "_name": level_name}
    )
