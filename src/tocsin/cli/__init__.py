"""The ``tocsin`` command.

Each capability owns one module here that adds its sub-commands with
``register(subparsers)``; every sub-command sets ``func(args) -> int``.
This module only dispatches and turns :class:`~tocsin.errors.TocsinError`
into ``tocsin: <message>`` on stderr with the error's exit code (2 for usage
and spec errors), with no traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from collections.abc import Sequence

from tocsin import __version__
from tocsin.errors import SpecError, TocsinError

__all__ = ["EXTRA_OF_MODULE", "build_parser", "describe_os_error", "main", "run_command"]

#: top-level module -> the extra that installs it, for a command run without its extra
EXTRA_OF_MODULE: dict[str, str] = {
    "textual": "tui",
    "uvicorn": "console",
    "starlette": "console",
    "jinja2": "console",
    "aiosmtpd": "receiver",
    "cairosvg": "report",
    "flask": "flask",
    "django": "django",
    "sqlalchemy": "sql",
    "psycopg": "sql",
    "asyncpg": "sql",
    "redis": "redis",
    "pymongo": "mongo",
    "opentelemetry": "otel",
    "re2": "logwatch",
    "hyperscan": "logwatch",
    "openai": "llm",
    "nats": "stream",
    "requests": "client",
    "streamlit": "streamlit",
    "jwt": "jwt",
    "websockets": "websocket",
    "pytesseract": "examples",
    "PIL": "examples",
}

#: what to do about the OSErrors a command meets on the user's own files (output dirs, specs)
_OS_HINTS = {
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.EACCES: "permission denied: fix the permissions, or write somewhere else",
    errno.EPERM: "permission denied: fix the permissions, or write somewhere else",
    errno.ENOSPC: "the disk is full: free some space",
    errno.EDQUOT: "the disk quota is used up: free some space",
    errno.ENOTDIR: "a file stands where a directory should be",
    errno.EISDIR: "a directory stands where a file should be",
    errno.ENOENT: "check the path",
}

# One entry per capability; each module defines ``register(subparsers)``.
_COMMAND_MODULES: tuple[str, ...] = (
    "tocsin.cli._stack",
    "tocsin.cli._alerts",
    "tocsin.cli._logwatch",
    "tocsin.cli._logs",
    "tocsin.cli._spec",
    "tocsin.cli._history",
    "tocsin.cli._console",
    "tocsin.cli._ops",
    "tocsin.cli._backup",
    "tocsin.cli._demo",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message in our ``tocsin:`` form."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"tocsin: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tocsin", description="Make a monitoring plan real.")
    parser.add_argument("--version", action="version", version=f"tocsin {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run ``args.func``; a :class:`TocsinError` becomes ``tocsin: ...`` lines and its exit code.

    Shared by ``tocsin`` and the ``python -m`` entry points of components the
    stack starts on their own (``python -m tocsin.logwatch``).
    """
    try:
        return int(args.func(args) or 0)
    except SpecError as err:
        if args.debug:
            raise
        for line in err.lines():
            print(line, file=sys.stderr)
        return err.exit_code
    except TocsinError as err:
        if args.debug:
            raise
        print(f"tocsin: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as err:
        # a command whose optional dependency is not installed: name the extra, not a traceback
        module = (err.name or "").partition(".")[0]
        extra = EXTRA_OF_MODULE.get(module)
        if args.debug or extra is None:
            raise
        print(f"tocsin: this command needs {module} (pip install 'tocsin[{extra}]')", file=sys.stderr)
        return 2
    except OSError as err:
        # a file the command reads or writes for the user (an output dir on a read-only mount, a
        # directory given as a file): the path and what to do, never a traceback
        if args.debug:
            raise
        print(f"tocsin: {describe_os_error(err)}", file=sys.stderr)
        return 2


def describe_os_error(err: OSError) -> str:
    """``<path>: <strerror> (<what to do>)``, the path being the file the error is about."""
    parts = []
    if err.filename is not None:
        parts.append(str(err.filename) + (f" -> {err.filename2}" if err.filename2 is not None else ""))
    parts.append(err.strerror or str(err))
    hint = _OS_HINTS.get(err.errno or 0)
    return ": ".join(parts) + (f" ({hint})" if hint else "")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
