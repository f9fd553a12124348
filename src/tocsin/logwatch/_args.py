"""The watcher's command-line options, shared by ``tocsin logwatch`` and ``python -m tocsin.logwatch``.

Only :mod:`argparse` is imported here, so that building the CLI's parser stays cheap.
"""

from __future__ import annotations

import argparse
from typing import Any

from tocsin.ports import LOGWATCH_STANDALONE

__all__ = ["DEFAULT_PORT", "ENGINE_NAMES", "STATE_DIR", "add_watch_arguments", "watch_options"]

#: Where ``/metrics`` listens unless told otherwise (``--port 0`` picks a free port and prints it);
#: under ``tocsin up`` the stack gives it ``tocsin.ports.LOGWATCH``.
DEFAULT_PORT = LOGWATCH_STANDALONE
#: Multi-pattern engines in order of preference (``auto`` takes the first that compiles every pattern).
ENGINE_NAMES: tuple[str, ...] = ("hyperscan", "re2", "re")
STATE_DIR = ".tocsin/logwatch"


def add_watch_arguments(parser: argparse.ArgumentParser, config_help: str) -> None:
    """Every option of the watcher but the config's own."""
    parser.add_argument("--config", "-c", required=True, help=config_help)
    parser.add_argument(
        "--state-dir", default=STATE_DIR, help=f"positions, counts, log store (default {STATE_DIR})"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"/metrics port (default {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="/metrics address (default 127.0.0.1)")
    parser.add_argument("--no-http", action="store_true", help="do not serve /metrics")
    parser.add_argument("--once", action="store_true", help="read what is there, save, exit")
    parser.add_argument(
        "--engine", default="auto", choices=("auto", *ENGINE_NAMES), help="multi-pattern engine"
    )
    parser.add_argument(
        "--rotate-wait",
        type=float,
        default=2.0,
        help="seconds before a rotated file's unfinished last line counts",
    )
    parser.add_argument(
        "--park-after", type=float, default=60.0, help="seconds before an idle, fully read file is closed"
    )


def watch_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`tocsin.logwatch.run` given by the options above."""
    return {
        "port": None if args.no_http else args.port,
        "host": args.host,
        "once": args.once,
        "engine": args.engine,
        "rotate_wait": args.rotate_wait,
        "park_after": args.park_after,
    }
