"""``configure()``: structlog and the standard library through one pipeline, one set of outputs.

Every event, from ``structlog.get_logger()`` or from a library's
``logging.getLogger()``, goes through the same :func:`shared_processors`
and comes out of the same handlers: JSON lines (orjson) in production,
structlog's console renderer in development. structlog events go through
:func:`native_processor` (the shared processors in one function) and are then
written by the :class:`~tocsin.sdk.logging._direct.Router`, JSON rendered once
for all outputs, without a ``LogRecord`` unless a handler other than tocsin's
would see them; stdlib records are rendered by each handler's formatter.
Each output writes a whole line under its handler's lock, so nothing interleaves.

Call :func:`configure` first, at start-up, before any logger is used: structlog
caches a logger on first use (``cache_logger_on_first_use``, the fast path), and
a logger cached before ``configure()`` keeps the old level filter (structlog
#400). Tests call :func:`reset` between configurations.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any

import structlog
from structlog.typing import Processor

from tocsin.sdk.metrics import Metrics

from . import _direct, _servers
from ._outputs import CountingHandler, LogFile, file_handler, level_number
from ._processors import (
    console_renderer,
    json_renderer,
    native_processor,
    record_processor,
    shared_processors,
)
from ._stdlib import LastLine, PipelineFormatter, sink_factory, to_sink

__all__ = ["configure", "get_logger", "is_configured", "reset"]

_lock = threading.Lock()
# One list object for the life of the process, changed in place: loggers structlog cached
# before a reconfiguration hold this very list, so they see the new processors.
_PROCESSORS: list[Processor] = []
_installed: list[logging.Handler] = []
_adopted: _servers.Adopted = []
_saved_root_level: int | None = None
_saved_levels: dict[str, int] = {}
_configured = False
_shared: list[Processor] = []


def configure(
    environment: str = "development",
    level: str | int = "INFO",
    service: str | None = None,
    *,
    json: bool | None = None,
    console: bool = True,
    console_level: str | int | None = None,
    stream: IO[str] | None = None,
    file: str | os.PathLike[str] | LogFile | None = None,
    alert_handler: logging.Handler | None = None,
    alert_level: str | int = "WARNING",
    count_messages: bool = True,
    metrics: Metrics | None = None,
    logger_levels: Mapping[str, str | int] | None = None,
    processors: Sequence[Processor] = (),
    adopt_framework_handlers: bool = True,
) -> None:
    """Set up logging for the whole process.

    - ``environment``: ``"production"`` renders JSON lines; anything else renders for people
      (``json=True``/``False`` overrides).
    - ``level``: the minimum level logged anywhere; ``console_level`` (default ``level``)
      raises the console's threshold, e.g. DEBUG to the file only (seed 003).
    - ``file``: a path or a :class:`LogFile` (JSON lines, size or time rotation, own level).
    - ``alert_handler``: any ``logging.Handler`` (SMTP, webhook, ...) for ``alert_level`` and above.
    - ``count_messages``: ``log_messages_total{level,logger}`` on ``metrics``' registry, so
      WARNING/ERROR rates can alert.
    - ``logger_levels``: per-library thresholds, e.g. ``{"uvicorn.access": "WARNING"}``.
    - ``processors``: yours, run after the shared ones and before rendering.
    - ``adopt_framework_handlers``: take the handlers uvicorn, gunicorn, Flask and Django install
      by default off their loggers, so their lines come out once, through these outputs
      (see :mod:`tocsin.sdk.logging._servers`); handlers the application added stay.
    """
    global _configured, _saved_root_level
    minimum = level_number(level)
    render_json = environment == "production" if json is None else json
    shared = [*shared_processors(service, environment), *processors]  # for capture_logs()
    from_record = record_processor(service, environment)
    json_line_cache = LastLine()  # the JSON outputs render a stdlib record once between them

    def formatter(renderer: list[Processor], json_output: bool = True) -> logging.Formatter:
        cache = json_line_cache if json_output else None
        return PipelineFormatter(from_record, processors, renderer, cache)

    handlers: list[logging.Handler] = []
    json_outputs: list[logging.StreamHandler[Any]] = []  # written directly by the router (see _direct)
    record_outputs: list[logging.Handler] = []
    if console:
        console_handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
        console_handler.setLevel(level_number(console_level) if console_level is not None else minimum)
        colors = not render_json and _is_tty(stream if stream is not None else sys.stdout)
        console_handler.setFormatter(
            formatter(json_renderer(), True) if render_json else formatter(console_renderer(colors), False)
        )
        handlers.append(console_handler)
        (json_outputs if render_json else record_outputs).append(console_handler)
    if file is not None:
        file_output = file_handler(file if isinstance(file, LogFile) else LogFile(file))
        file_output.setFormatter(formatter(json_renderer()))
        handlers.append(file_output)
        json_outputs.append(file_output)
    if alert_handler is not None:
        alert_handler.setLevel(level_number(alert_level))
        alert_handler.setFormatter(formatter(json_renderer()))
        handlers.append(alert_handler)
        record_outputs.append(alert_handler)
    counter = None
    if count_messages:
        from tocsin.sdk.health._metrics import own_metrics

        counter = own_metrics(metrics).counter(
            "log_messages_total", "Log events emitted, by level and logger.", ["level", "logger"]
        )
        handlers.append(CountingHandler(counter))

    with _lock:
        _uninstall()
        root = logging.getLogger()
        _saved_root_level = root.level
        root.setLevel(minimum)
        for handler in handlers:
            root.addHandler(handler)
        _installed.extend(handlers)
        if adopt_framework_handlers:
            _adopted.extend(_servers.adopt(handlers))
        for name, threshold in (logger_levels or {}).items():
            library = logging.getLogger(name)
            _saved_levels.setdefault(name, library.level)
            library.setLevel(level_number(threshold))
        _direct.active = _direct.Router(handlers, json_outputs, record_outputs, counter)
        _PROCESSORS[:] = [native_processor(service, environment), *processors, to_sink]
        _shared[:] = shared
        structlog.configure(
            processors=_PROCESSORS,
            logger_factory=sink_factory(),
            wrapper_class=structlog.make_filtering_bound_logger(minimum),
            context_class=dict,
            cache_logger_on_first_use=True,
        )
        _configured = True


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _uninstall() -> None:
    global _saved_root_level
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    _servers.restore(_adopted)
    _adopted.clear()
    if _saved_root_level is not None:
        root.setLevel(_saved_root_level)
        _saved_root_level = None
    for name, previous in _saved_levels.items():
        logging.getLogger(name).setLevel(previous)
    _saved_levels.clear()


def reset() -> None:
    """Undo :func:`configure`: remove tocsin's handlers, restore levels, structlog defaults, empty context.

    For tests; a service configures once.
    """
    global _configured
    with _lock:
        _uninstall()
        _direct.active = None
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        _configured = False


def is_configured() -> bool:
    """Whether :func:`configure` ran (and :func:`reset` did not undo it)."""
    return _configured


def current_processors() -> list[Processor]:
    """The shared processors of the current configuration (empty when not configured)."""
    return list(_shared) if _configured else []


def get_logger(name: str | None = None, **initial_values: Any) -> Any:
    """``structlog.get_logger``: a logger named ``name`` (default: the calling module)."""
    if name is None:
        return structlog.get_logger(**initial_values)
    return structlog.get_logger(name, **initial_values)
