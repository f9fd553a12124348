"""``python -m tocsin.views.console``: the console process ``tocsin up`` supervises.

Loads no pydantic, no spec, no httpx: the view model is plain JSON (see :mod:`tocsin.views._schema`),
which keeps the process near 33 MB of RSS.

With ``--receiver-port`` it also serves the stack's receiver (:mod:`tocsin.stack.receiver`: webhook,
Slack and SMTP sinks, SQLite history) on that port, in the same event loop: one Python process fewer
in the stack (~27 MB). The receiver keeps its own port, readiness URL and log file. If its server dies,
the process exits with code 1 so that the supervisor restarts both; it never lives on half-working.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tocsin import ports

__all__ = ["HostedReceiver", "main", "serve"]


@dataclass(frozen=True)
class HostedReceiver:
    """The receiver the console serves besides itself: its ports, its history and its own log file."""

    port: int
    smtp_port: int
    db: Path
    log: Path


class _ConsoleAuth:
    """:class:`tocsin.sdk.exposition.Auth` with the console's realm in its challenge."""

    def __init__(self, auth: Any) -> None:
        self._auth = auth
        self.challenge = auth.challenge.replace('realm="metrics"', 'realm="tocsin console"')

    def check(self, authorization: str | None) -> bool:
        return bool(self._auth.check(authorization))


def make_auth(username: str | None, password_file: str | None, token_file: str | None) -> _ConsoleAuth | None:
    """Basic (username + password file) or Bearer (token file), or None; ConfigurationError if half given."""
    if not (username or password_file or token_file):
        return None
    from tocsin.sdk.exposition import Auth

    if token_file:
        return _ConsoleAuth(Auth.bearer(token_file=token_file))
    return _ConsoleAuth(Auth.basic(username or "", password_file=password_file))


def serve(app: Any, host: str, port: int, receiver: HostedReceiver | None = None) -> int:
    """uvicorn with the lean choices: h11, asyncio, no websockets, no access log; the exit code."""
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, http="h11", loop="asyncio", ws="none", lifespan="on",
        log_level="warning", access_log=False, server_header=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    if receiver is None:
        server.run()
        return 0
    return asyncio.run(_with_receiver(server, host, receiver))


def _say(line: str) -> None:
    print(f"tocsin console: {line}", file=sys.stderr, flush=True)


async def _with_receiver(server: Any, host: str, hosted: HostedReceiver) -> int:
    """The console and the receiver in one loop until SIGTERM; 1 when the receiver dies first."""
    from tocsin.stack.logs import RotatingFile
    from tocsin.stack.receiver import run

    log_file = RotatingFile(hosted.log)

    def log(line: str) -> None:
        log_file.write(f"{line}\n".encode())

    # uvicorn takes SIGINT/SIGTERM while it serves and raises them again once it has shut down: by then
    # they must only let this function stop the receiver and return, not kill the process half-way
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    stop = asyncio.Event()
    receiver = asyncio.ensure_future(
        run(host, hosted.port, hosted.smtp_port or None, str(hosted.db), stop, log=log)
    )
    console = asyncio.ensure_future(server.serve())
    try:
        await asyncio.wait({receiver, console}, return_when=asyncio.FIRST_COMPLETED)
        if receiver.done():
            server.should_exit = True  # the console stops too: the supervisor restarts the process
            await asyncio.wait({console})
            error = receiver.exception() if not receiver.cancelled() else None
            why = f"{type(error).__name__}: {error}" if error else "it returned"
            line = f"the receiver it hosts on {host}:{hosted.port} stopped ({why}); exiting, to be restarted"
            _say(line)
            log(f"tocsin receiver: {line}")
            return 2 if isinstance(error, OSError) else 1
        stop.set()
        await asyncio.wait({receiver})
        if not receiver.cancelled() and receiver.exception() is not None:
            log(f"tocsin receiver: stopped with {receiver.exception()!r}")
        console.result()  # uvicorn's own start-up failure (SystemExit) propagates
        return 0
    finally:
        log_file.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tocsin.views.console", description="the tocsin console")
    parser.add_argument("--model", required=True, type=Path, help="console/model.json of the bundle")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=ports.CONSOLE)
    parser.add_argument("--logs-db", type=Path, help="the log watcher's store")
    parser.add_argument("--username", help="HTTP Basic user (with --password-file)")
    parser.add_argument("--password-file")
    parser.add_argument("--token-file", help="Bearer token file")
    hosting = parser.add_argument_group("the receiver this process serves too (tocsin up's default)")
    hosting.add_argument("--receiver-port", type=int, help="serve the receiver on this port")
    hosting.add_argument("--receiver-smtp-port", type=int, default=0, help="its SMTP sink (0: none)")
    hosting.add_argument("--receiver-db", type=Path, default=Path(".tocsin/alerts.sqlite"))
    hosting.add_argument("--receiver-log", type=Path, default=Path(".tocsin/logs/receiver.log"))
    args = parser.parse_args(argv)

    from tocsin.errors import TocsinError
    from tocsin.views._schema import read_model
    from tocsin.views.console import ConsoleConfig, create_app, missing_vendor_files

    missing = missing_vendor_files()
    if missing:
        print(
            f"tocsin console: {', '.join(missing)} missing from the package "
            "(run `make venv`, which runs npm ci and copies them)",
            file=sys.stderr,
        )
        return 2
    try:
        read_model(args.model)
        auth = make_auth(args.username, args.password_file, args.token_file)
    except (ValueError, TocsinError) as exc:
        print(f"tocsin console: {exc}", file=sys.stderr)
        return 2
    app = create_app(ConsoleConfig(model_path=args.model, logs_db=args.logs_db), auth=auth, hosts={args.host})
    receiver = None
    if args.receiver_port:
        receiver = HostedReceiver(
            args.receiver_port, args.receiver_smtp_port, args.receiver_db, args.receiver_log
        )
    try:
        return serve(app, args.host, args.port, receiver)
    except OSError as exc:
        print(f"tocsin console: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
