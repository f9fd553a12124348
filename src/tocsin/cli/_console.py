"""``tocsin console`` and ``tocsin top``: dashboards, alerts and silences in a browser or a terminal.

``tocsin up`` already runs the console (port ``stack.console``); ``tocsin console`` runs one in the
foreground, e.g. when the stack's own is switched off, on another port, or against another stack.
``tocsin top`` is the terminal view of the same dashboards (Textual; works over SSH).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tocsin import ports
from tocsin.cli._target import DEFAULT_SPEC, find_spec, require, resolve_target
from tocsin.errors import UsageError

__all__ = ["register"]


def _model(args: argparse.Namespace) -> Any:
    """The view model: the running stack's when ``--state-dir`` has one, else built from the spec."""
    from tocsin.views import MODEL_FILE, read_model

    if args.state_dir:
        path = resolve_target(args).layout.current / MODEL_FILE
        if not path.is_file():
            raise UsageError(f"{path}: no console model there (is a stack running from {args.state_dir}?)")
        try:
            return read_model(path)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    from tocsin.spec import load_spec
    from tocsin.views.model import stack_model

    return stack_model(load_spec(require(find_spec(args)), profile=args.profile), ha=args.ha)


def _with_urls(model: Any, args: argparse.Namespace) -> Any:
    if args.prometheus:
        model["prometheus"] = args.prometheus
    if args.alertmanager:
        model["alertmanager"] = args.alertmanager
    return model


def _console(args: argparse.Namespace) -> int:
    from tocsin.views.console import ConsoleConfig, create_app, missing_vendor_files
    from tocsin.views.console.__main__ import make_auth, serve

    missing = missing_vendor_files()
    if missing:
        raise UsageError(
            f"{', '.join(missing)} missing from the package (run `make venv`, which runs npm ci)"
        )
    model = _with_urls(_model(args), args)
    auth = make_auth(args.username, args.password_file, args.token_file)
    logs_db = Path(args.logs_db) if args.logs_db else None
    app = create_app(ConsoleConfig(model=model, logs_db=logs_db), auth=auth, hosts={args.host})
    print(f"tocsin console on http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    try:
        serve(app, args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
    return 0


def _top(args: argparse.Namespace) -> int:
    from tocsin.views.top import run_top

    model = _with_urls(_model(args), args)
    boards = model["dashboards"]
    wanted = (args.dashboard or "").lower()
    if wanted and not any(wanted in (d["slug"], d["title"].lower()) for d in boards):
        names = ", ".join(d["slug"] for d in boards) or "none in the spec"
        raise UsageError(f"no dashboard {args.dashboard!r} (dashboards: {names})")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("tocsin top needs a terminal (for a pipe or a script: tocsin export, tocsin status)")
    return run_top(model, dashboard=args.dashboard, range_=args.range)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", metavar="SPEC", help=f"the spec file (default: ./{DEFAULT_SPEC})")
    parser.add_argument("--state-dir", help="read the model of the stack running from this state dir instead")
    parser.add_argument("--profile", help="spec profile, e.g. fast")
    parser.add_argument("--ha", action="store_true", help="the stack runs as an HA pair (tocsin up --ha)")
    parser.add_argument(
        "--prometheus", action="append", metavar="URL", help="Prometheus to read (repeat for HA)"
    )
    parser.add_argument("--alertmanager", action="append", metavar="URL", help="Alertmanager (repeat for HA)")


def register(subparsers: Any) -> None:
    console = subparsers.add_parser(
        "console", help="the web console: dashboards, alerts, silences, targets, rules, health, logs, explore"
    )
    _common(console)
    console.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    console.add_argument("--port", type=int, default=ports.CONSOLE, help=f"port (default {ports.CONSOLE})")
    console.add_argument("--logs-db", help="the log watcher's store (logs page)")
    console.add_argument("--username", help="require HTTP Basic auth with this user (and --password-file)")
    console.add_argument("--password-file", help="file holding the Basic auth password")
    console.add_argument("--token-file", help="require a Bearer token read from this file")
    console.set_defaults(func=_console)
    top = subparsers.add_parser(
        "top", help="the dashboards and firing alerts in the terminal (works over SSH)"
    )
    _common(top)
    top.add_argument("--dashboard", help="slug or title of the dashboard to open first")
    top.add_argument(
        "--range", default="", help="time range to open with, e.g. 1h (default: the dashboard's)"
    )
    top.set_defaults(func=_top)
