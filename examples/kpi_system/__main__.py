"""``python -m examples.kpi_system COMMAND``: setup, drop, api, analytics, traffic."""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import sys
from pathlib import Path

#: the clients setup writes a key for: traffic's ingestion and dashboards, and the fault injector's
CLIENTS = ("traffic", "dashboard", "partner", "scraper", "intruder")


def _identity(component: str, port: int | None, log_dir: Path) -> None:
    """The seed's default labels on every series (app, version, environment, instance) under the
    ``kpi_`` prefix, and structlog JSON lines to ``<log_dir>/<component>.log`` (the log watcher's)."""
    from tocsin.sdk import logging as tlog
    from tocsin.sdk import metrics

    instance = f"127.0.0.1:{port}" if port else None
    metrics.configure(
        app="kpi-system",
        version="1.0.0",
        environment="demo",
        instance=instance,
        prefix="kpi",
        constant_labels=True,
    )
    tlog.configure(
        environment="production",
        level="INFO",
        service=component,
        file=tlog.LogFile(log_dir / f"{component}.log", level="INFO", max_bytes=20_000_000, backups=3),
        logger_levels={"uvicorn.access": "WARNING", "uvicorn.error": "WARNING"},
    )


def write_keys(path: Path) -> None:
    """A fresh random key per client, ``client:key`` lines, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# API keys of the KPI system (client:key), written by `setup`\n")
        for client in CLIENTS:
            out.write(f"{client}:{secrets.token_urlsafe(24)}\n")


def read_key(path: Path, client: str) -> str:
    """``client``'s key from the keys file (ValueError naming the file when it is not there)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, key = line.partition(":")
        if name == client and key:
            return key
    raise ValueError(f"{path}: no key for client {client!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.kpi_system", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help in (
        ("setup", "create the run's schema and tables, write the API keys file"),
        ("drop", "drop the run's schema"),
        ("api", "the API: ingestion, KPIs, WebSocket broadcaster (/metrics, /health on --port)"),
        ("analytics", "the ETL and analytics worker (/metrics, /health on --port)"),
        ("traffic", "steady ingestion and WebSocket dashboards"),
    ):
        command = sub.add_parser(name, help=help, description=help)
        command.add_argument(
            "--schema", default="tocsin_kpi_system", help="PostgreSQL schema in database test"
        )
        command.add_argument("--keys", type=Path, default=Path("secrets/api-keys"), help="the API keys file")
        command.add_argument("--log-dir", type=Path, default=Path("logs"))
        command.add_argument("--state-dir", type=Path, default=Path("state"))
        if name in ("api", "analytics"):
            command.add_argument("--port", type=int, default=8041 if name == "api" else 8042)
        if name == "api":
            command.add_argument("--rate", type=float, default=10.0, help="requests a second per API key")
        if name == "analytics":
            command.add_argument("--every", type=float, default=1.0, help="seconds between ETL cycles")
        if name == "traffic":
            command.add_argument("--api", default="127.0.0.1:8041", help="the API's host:port")
            command.add_argument("--rate", type=float, default=3.0, help="ingestion requests a second")
            command.add_argument("--dashboards", type=int, default=5, help="WebSocket clients subscribed")
    args = parser.parse_args(argv)

    from .store import create_schema, drop_schema

    if args.command == "setup":
        create_schema(args.schema)
        write_keys(args.keys)
        print(f"schema {args.schema} ready in database test; API keys in {args.keys}")
        return 0
    if args.command == "drop":
        drop_schema(args.schema)
        print(f"schema {args.schema} dropped")
        return 0
    if args.command == "traffic":
        from .traffic import main as traffic

        return traffic(args.api, read_key(args.keys, "traffic"), read_key(args.keys, "dashboard"),
                       args.rate, args.dashboards)  # fmt: skip
    _identity(args.command, args.port, args.log_dir)
    if args.command == "analytics":
        from .analytics import main as analytics

        return analytics(args.schema, args.port, args.every, args.state_dir)

    import uvicorn

    from tocsin.sdk import metrics

    from .api import build_app
    from .guard import load_keys

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of WebSocket clients
    app = build_app(args.schema, keys=load_keys(args.keys), rate=args.rate, m=metrics.get_metrics())
    args.state_dir.mkdir(parents=True, exist_ok=True)
    (args.state_dir / "api.pid").write_text(f"{os.getpid()}\n", encoding="utf-8")
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_config=None, ws="websockets",
                            backlog=4096, timeout_graceful_shutdown=5)  # fmt: skip
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
