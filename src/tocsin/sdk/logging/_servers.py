"""Web servers' and frameworks' own log handlers, taken over so every line comes out once, as JSON.

uvicorn, gunicorn, Flask and Django install handlers of their own: uvicorn's
``dictConfig`` gives ``uvicorn`` and ``uvicorn.access`` a plain-text handler and
stops them propagating; gunicorn does the same for ``gunicorn.error`` and
``gunicorn.access``; Flask adds its ``default_handler`` to ``app.logger`` when the
logger is first used before logging is configured; Django's default logging
gives ``django`` a console handler (when ``DEBUG``) and ``django.server`` a
handler that does not propagate. Each then prints plain text beside tocsin's
JSON, or prints a line twice. :func:`adopt` (run by ``configure()``) removes
exactly those framework defaults, never a handler the application added, and
lets the loggers propagate to tocsin's outputs; :func:`restore` undoes it.

A server configures its logging again on reload (gunicorn's ``HUP``), after the
application ran ``configure()``: :func:`uvicorn_log_config` and
:func:`gunicorn_logconfig_dict` are the servers' own logging configuration with
no handlers of theirs, for ``--log-config`` / ``logconfig_dict``.

Access lines keep their fields: uvicorn's and gunicorn's access records become
``method``, ``path``, ``status``, ``client`` (and gunicorn's ``duration_ms``,
``bytes``, ``user_agent``) besides the message (:func:`access_fields`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "access_fields",
    "adopt",
    "gunicorn_logconfig_dict",
    "restore",
    "server_handler",
    "uvicorn_log_config",
]

_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access")
_DJANGO_LOGGERS = ("django", "django.server")

# (logger, the handlers removed from it, its propagate flag before)
Adopted = list[tuple[logging.Logger, list[logging.Handler], bool]]


def _is_std_stream(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    return type(handler) is logging.StreamHandler and stream in (sys.stdout, sys.stderr, sys.__stderr__)


def _framework_default(name: str, handler: logging.Handler) -> bool:
    """Whether ``handler`` on logger ``name`` is one a server or framework installed by default."""
    formatter_module = type(handler.formatter).__module__ if handler.formatter else ""
    if name.startswith("uvicorn"):
        return formatter_module.startswith("uvicorn") or _is_std_stream(handler)
    if name.startswith("gunicorn"):
        return bool(getattr(handler, "_gunicorn", False)) or _is_std_stream(handler)
    if name in _DJANGO_LOGGERS:
        django_filter = any(type(f).__module__ == "django.utils.log" for f in handler.filters)
        return formatter_module == "django.utils.log" or (django_filter and _is_std_stream(handler))
    flask_logging = sys.modules.get("flask.logging")
    return flask_logging is not None and handler is getattr(flask_logging, "default_handler", None)


def adopt(own: list[logging.Handler]) -> Adopted:
    """Take the framework default handlers off their loggers (``own`` are tocsin's, left alone)."""
    names = [*_SERVER_LOGGERS, *_DJANGO_LOGGERS]
    if "flask.logging" in sys.modules:  # Flask's handler sits on each app's logger, named after the app
        names += [n for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)]
    adopted: Adopted = []
    root = logging.getLogger()
    mine = [h for h in root.handlers if getattr(h, _SERVER_HANDLER, False)]
    if mine:  # the servers' log config (see server_handler) handed over to configure()'s outputs
        for handler in mine:
            root.removeHandler(handler)
        adopted.append((root, mine, root.propagate))
    for name in dict.fromkeys(names):
        if name not in logging.root.manager.loggerDict:
            continue  # never create a logger
        logger = logging.getLogger(name)
        removed = [h for h in logger.handlers if h not in own and _framework_default(name, h)]
        framework = name in _SERVER_LOGGERS or name in _DJANGO_LOGGERS
        if not removed and (logger.propagate or not framework):
            continue
        for handler in removed:
            logger.removeHandler(handler)
        adopted.append((logger, removed, logger.propagate))
        if framework and (removed or not logger.handlers):  # it stopped propagating for those
            logger.propagate = True
    return adopted


def restore(adopted: Adopted) -> None:
    """Put back what :func:`adopt` took (for ``reset()`` in tests)."""
    for logger, removed, propagate in reversed(adopted):
        for handler in removed:
            if handler not in logger.handlers:
                logger.addHandler(handler)
        logger.propagate = propagate


_SERVER_HANDLER = "_tocsin_server_handler"


def server_handler(environment: str = "production") -> logging.Handler:
    """JSON lines on stdout for what a server logs before (or without) the app's ``configure()``,
    e.g. gunicorn's master process; ``configure()`` replaces it with its own outputs."""
    from ._processors import json_renderer, record_processor
    from ._stdlib import PipelineFormatter

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(PipelineFormatter(record_processor(None, environment), (), json_renderer()))
    setattr(handler, _SERVER_HANDLER, True)
    return handler


def _server_config(loggers: tuple[str, ...], level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"tocsin": {"()": f"{__name__}.server_handler"}},
        "root": {"level": level, "handlers": ["tocsin"]},
        "loggers": {name: {"level": level, "handlers": [], "propagate": True} for name in loggers},
    }


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's logging, all through tocsin: ``uvicorn.run(app, log_config=uvicorn_log_config())``.

    On the command line: ``uvicorn app:app --log-config <file>`` with this dict saved as JSON
    (``python -m tocsin.sdk.logging.servers uvicorn > uvicorn-logging.json``).
    """
    return _server_config(("uvicorn", "uvicorn.error", "uvicorn.access"), level)


def gunicorn_logconfig_dict(level: str = "INFO") -> dict[str, Any]:
    """gunicorn's logging, all through tocsin: in ``gunicorn.conf.py``,
    ``logconfig_dict = gunicorn_logconfig_dict()`` (also turns the access log on)."""
    return _server_config(("gunicorn.error", "gunicorn.access"), level)


def _uvicorn_access(args: Any) -> dict[str, Any]:
    if not isinstance(args, tuple) or len(args) != 5:
        return {}
    client, method, path, http_version, status = args
    return {"client": client, "method": method, "path": path, "http_version": http_version, "status": status}


def _gunicorn_access(args: Any) -> dict[str, Any]:
    if not isinstance(args, Mapping):
        return {}
    fields = {"client": "h", "method": "m", "path": "U", "query": "q", "status": "s", "bytes": "B",
              "user_agent": "a", "duration_ms": "M"}  # fmt: skip
    out = {key: args.get(atom) for key, atom in fields.items()}
    for key in ("status", "bytes", "duration_ms"):
        value = out.get(key)
        if isinstance(value, str) and value.isdigit():
            out[key] = int(value)
    return {key: value for key, value in out.items() if value not in (None, "-", "")}


_ACCESS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "uvicorn.access": _uvicorn_access,
    "gunicorn.access": _gunicorn_access,
}


def access_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    """The fields of a server's access record (``None`` for any other record)."""
    fields = _ACCESS.get(record.name)
    return fields(record.args) if fields is not None else None
