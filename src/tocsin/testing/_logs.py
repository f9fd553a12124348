"""``capture_logs()``: the events a block logged, as dicts, through tocsin's real pipeline.

Like ``structlog.testing.capture_logs`` but the events have been through the
shared processors (level, logger, timestamp, request_id, ...) and include what
standard-library loggers emitted, which is what a test wants to assert on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from tocsin.sdk import logging as tlog
from tocsin.sdk.logging._configure import current_processors

__all__ = ["capture_logs"]


class _Capture(logging.Handler):
    def __init__(self, events: list[dict[str, Any]]) -> None:
        super().__init__(logging.NOTSET)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


@contextmanager
def capture_logs(level: str | int = "DEBUG") -> Iterator[list[dict[str, Any]]]:
    """Collect every event logged in the block (``level`` and above) into the yielded list.

    When tocsin logging is not configured, it is configured for the block
    (``environment="test"``, no console) and reset afterwards.
    """
    events: list[dict[str, Any]] = []
    configured_here = not tlog.is_configured()
    if configured_here:
        tlog.configure("test", level, console=False, count_messages=False)

    def collect(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> str:
        events.append(dict(event_dict))
        return ""

    handler = _Capture(events)
    handler.setLevel(level if isinstance(level, int) else level.upper())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=current_processors(),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, collect],
        )
    )
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield events
    finally:
        root.removeHandler(handler)
        if configured_here:
            tlog.reset()
