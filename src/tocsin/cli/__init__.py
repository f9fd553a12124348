"""The ``tocsin`` command.

Each capability owns one module here that adds its sub-commands with
``register(subparsers)``; every sub-command sets ``func(args) -> int``.
This module only dispatches and turns :class:`~tocsin.errors.TocsinError`
into ``tocsin: <message>`` on stderr with the error's exit code (2 for usage
and spec errors), with no traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tocsin import __version__
from tocsin.errors import SpecError, TocsinError

__all__ = ["build_parser", "main", "run_command"]

# One entry per capability; each module defines ``register(subparsers)``.
_COMMAND_MODULES: tuple[str, ...] = ("tocsin.cli._stack", "tocsin.cli._logwatch", "tocsin.cli._spec")


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
