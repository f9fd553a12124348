"""``python -m tocsin.views.console``: the console process ``tocsin up`` supervises.

Loads no pydantic, no spec, no httpx: the view model is plain JSON (see :mod:`tocsin.views._schema`),
which keeps the process near 33 MB of RSS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tocsin import ports

__all__ = ["main", "serve"]


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


def serve(app: Any, host: str, port: int) -> None:
    """uvicorn with the lean choices: h11, asyncio, no websockets, no access log."""
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, http="h11", loop="asyncio", ws="none", lifespan="on",
        log_level="warning", access_log=False, server_header=False,
    )  # fmt: skip
    uvicorn.Server(config).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tocsin.views.console", description="the tocsin console")
    parser.add_argument("--model", required=True, type=Path, help="console/model.json of the bundle")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=ports.CONSOLE)
    parser.add_argument("--logs-db", type=Path, help="the log watcher's store")
    parser.add_argument("--username", help="HTTP Basic user (with --password-file)")
    parser.add_argument("--password-file")
    parser.add_argument("--token-file", help="Bearer token file")
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
    try:
        serve(app, args.host, args.port)
    except OSError as exc:
        print(f"tocsin console: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
