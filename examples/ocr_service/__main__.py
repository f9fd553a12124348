"""``python -m examples.ocr_service COMMAND``: serve, traffic, loadtest, clear.

Every command takes ``--redis-url`` (default ``redis://127.0.0.1:6379/0``) and ``--prefix``, the
Redis key prefix of this instance (``ocr:`` by default; each run of the demo or the end-to-end test
has its own, ``ocr:<run id>:``, so runs sharing one Redis never see each other's queue or cache).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.ocr_service", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help in (
        ("serve", "the API and its worker pool (/metrics and /health on --port)"),
        ("traffic", "the mail room: --rate documents a second, 70 % re-submissions"),
        ("loadtest", "the plan's load test: --count documents, --concurrency at a time, timed end to end"),
        ("clear", "delete every key under --prefix (queue, jobs, cache, settings)"),
    ):
        command = sub.add_parser(name, help=help, description=help)
        command.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
        command.add_argument("--prefix", default="ocr:", help="Redis key prefix (default %(default)s)")
        if name in ("serve", "traffic", "loadtest"):
            command.add_argument("--port", type=int, default=3001, help="the service's port")
        if name == "serve":
            command.add_argument("--workers", type=int, default=4)
            command.add_argument("--log-dir", type=Path, default=Path("logs"))
        if name == "traffic":
            command.add_argument("--rate", type=float, default=1.0)
        if name == "loadtest":
            command.add_argument("--count", type=int, default=200)
            command.add_argument("--concurrency", type=int, default=8)
            command.add_argument("--repeat", type=float, default=0.5, help="share of re-submitted pages")
    args = parser.parse_args(argv)
    if not args.prefix or any(c in args.prefix for c in "*?[]"):
        parser.error("--prefix must be a non-empty key prefix without glob characters")

    import redis

    client = redis.Redis.from_url(args.redis_url, socket_timeout=5, socket_connect_timeout=2)
    if args.command == "clear":
        deleted = sum(client.delete(k) for k in client.scan_iter(f"{args.prefix}*", count=500))
        print(f"deleted {deleted} keys under {args.prefix}")
        return 0
    try:
        client.ping()
    except redis.RedisError as exc:
        where = args.redis_url.rpartition("@")[2]  # never print a password
        hint = "start it (Debian: redis-server, `redis-server --daemonize yes`) or give --redis-url"
        print(
            f"ocr_service: Redis at {where} does not answer ({type(exc).__name__}): {hint}", file=sys.stderr
        )
        return 1
    base_url = f"http://127.0.0.1:{args.port}"
    if args.command == "traffic":
        from .traffic import main as traffic

        return traffic(base_url, client, args.prefix, args.rate)
    if args.command == "loadtest":
        from .loadtest import main as loadtest

        return loadtest(base_url, args.count, args.concurrency, args.repeat)
    return serve(client, args)


def serve(client: object, args: argparse.Namespace) -> int:
    import uvicorn

    from tocsin.sdk import logging as tlog
    from tocsin.sdk import metrics

    metrics.configure(app="ocr-service", version="1.0.0", environment="demo", prefix="ocr")
    tlog.configure(
        "production", level="INFO", service="ocr",
        file=tlog.LogFile(args.log_dir / "ocr-service.log", level="INFO", max_bytes=20_000_000, backups=3),
        console_level="WARNING", logger_levels={"uvicorn.access": "WARNING"},
    )  # fmt: skip
    from .service import OcrService, create_app, log

    service = OcrService(client, args.prefix, workers=args.workers)  # type: ignore[arg-type]
    app = create_app(service, args.redis_url)
    service.start()
    log.info("🚀 OCR service started", port=args.port, workers=args.workers, prefix=args.prefix)
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)
    finally:
        service.stop()
        log.info("🛑 OCR service stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
