"""``python -m examples.order_archiver COMMAND``: setup, drop, watch, batch, cron, remediator, traffic."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default="tocsin_order_archiver", help="database name (default %(default)s)")
    parser.add_argument("--log-dir", type=Path, default=Path("logs"), help="where the log files go")
    parser.add_argument("--state-dir", type=Path, default=Path("state"), help="resume token, watch pid")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.order_archiver", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help in (
        ("setup", "create the database, its tables and change feed, and the clients"),
        ("drop", "drop the database"),
        ("watch", "watch mode: follow the change feed (/metrics and /health on --port)"),
        ("batch", "batch mode: one run, pushed to the Pushgateway"),
        ("cron", "start a batch run every --every seconds, as cron would"),
        ("remediator", "the Alertmanager webhook that restarts the watcher and cleans the logs"),
        ("traffic", "orders: live web orders and partner imports"),
    ):
        command = sub.add_parser(name, help=help, description=help)
        _common(command)
        if name in ("watch", "remediator"):
            command.add_argument("--port", type=int, default=8031 if name == "watch" else 8032)
        if name == "remediator":
            command.add_argument("--watch-port", type=int, default=8031)
        if name in ("batch", "cron"):
            command.add_argument(
                "--pushgateway", default="127.0.0.1:9091", help="host:port ('' to push nowhere)"
            )
        if name == "cron":
            command.add_argument("--every", type=float, default=900.0, help="seconds between runs")
        if name == "traffic":
            command.add_argument("--rate", type=float, default=3.0, help="web orders per second")
            command.add_argument("--import-rate", type=float, default=8.0, help="imported orders per second")
    args = parser.parse_args(argv)

    from .logs import setup_logging
    from .store import create_database, drop_database, dsn

    database = dsn(args.db)
    if args.command == "setup":
        from .store import connect
        from .traffic import seed_clients

        created = create_database(database)
        with connect(database, "archiver-setup") as conn:
            seed_clients(conn)
        print(f"database {args.db}: {'created' if created else 'already there'}, schema and clients in place")
        return 0
    if args.command == "drop":
        drop_database(database)
        print(f"database {args.db} dropped")
        return 0
    if args.command == "traffic":
        from .traffic import main as traffic

        return traffic(database, args.rate, args.import_rate)
    common = ["--db", args.db, "--log-dir", str(args.log_dir), "--state-dir", str(args.state_dir)]
    if args.command == "watch":
        from .watch import main as watch

        return watch(database, args.port, setup_logging("watch_archiver", args.log_dir), args.state_dir)
    if args.command == "batch":
        from .batch import run_batch

        return run_batch(database, args.pushgateway or None, setup_logging("batch_archiver", args.log_dir))
    if args.command == "cron":
        from .batch import cron

        batch = ["-m", "examples.order_archiver", "batch", *common, "--pushgateway", args.pushgateway]
        return cron(batch, args.every, setup_logging("cron", args.log_dir))
    from .remediator import main as remediator

    watch = ["-m", "examples.order_archiver", "watch", *common, "--port", str(args.watch_port)]
    return remediator(
        args.port, watch, args.state_dir, args.log_dir, setup_logging("remediator", args.log_dir)
    )


if __name__ == "__main__":
    sys.exit(main())
