"""``python -m examples.ebook_flask COMMAND``: setup, drop, serve, traffic.

``setup`` creates the database (tables, 200 ebooks, 50 readers), the app's Redis user and its
secrets; ``serve`` runs the app under gunicorn with the configuration in its environment;
``drop`` removes the database, the Redis user and its keys.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default="tocsin_ebook_flask", help="database name (default %(default)s)")
    parser.add_argument("--redis", default="127.0.0.1:6379", help="Redis host:port (default %(default)s)")
    parser.add_argument("--redis-user", default="tocsin_ebook", help="the app's Redis ACL user")
    parser.add_argument("--prefix", default="ebook", help="the app's Redis key prefix (default %(default)s)")
    parser.add_argument("--secrets-dir", type=Path, default=HERE / "secrets",
                        help="where setup writes the Redis password and the session key")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.ebook_flask", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help in (
        ("setup", "create the database, its tables and readers, the Redis user and the secrets"),
        ("drop", "drop the database, the Redis user and its keys"),
        ("serve", "the app under gunicorn (two workers, multiprocess metrics) on 127.0.0.1:--port"),
        ("traffic", "readers: log in, browse the catalog, read books, report page timings"),
    ):
        command = sub.add_parser(name, help=help, description=help)
        _common(command)
        if name in ("serve", "traffic"):
            command.add_argument("--port", type=int, default=5000)
        if name == "serve":
            command.add_argument("--log-dir", type=Path, default=Path("logs"))
            command.add_argument("--state-dir", type=Path, default=Path("state"))
            command.add_argument("--workers", type=int, default=2)
        if name == "traffic":
            command.add_argument("--readers", type=int, default=6, help="concurrent readers")
    args = parser.parse_args(argv)
    host, _, port = args.redis.rpartition(":")
    password_file = args.secrets_dir / "redis-password"

    from .store import create_database, drop_database, dsn, redis_acl_create, redis_acl_drop

    url = dsn(args.db)
    if args.command in ("setup", "drop"):
        import psycopg
        import redis
        import sqlalchemy.exc

        try:
            if args.command == "setup":
                created = create_database(url)
                redis_acl_create(host, int(port), args.redis_user, args.prefix, password_file)
                key_file = args.secrets_dir / "session-key"
                if not key_file.exists():
                    key_file.touch(mode=0o600)
                    key_file.write_text(secrets.token_urlsafe(32), encoding="utf-8")
                print(f"database {args.db}: {'created' if created else 'already there'}; Redis user "
                      f"{args.redis_user} on {args.prefix}:*; secrets in {args.secrets_dir}")  # fmt: skip
            else:
                drop_database(url)
                redis_acl_drop(host, int(port), args.redis_user, args.prefix)
                print(f"database {args.db}, Redis user {args.redis_user} and keys {args.prefix}:* dropped")
        except (psycopg.Error, sqlalchemy.exc.SQLAlchemyError, redis.RedisError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            print(f"ebook {args.command}: {first}", file=sys.stderr)
            return 1
        return 0
    if args.command == "traffic":
        from .traffic import main as traffic

        return traffic(f"http://127.0.0.1:{args.port}", args.readers)
    for secret in (password_file, args.secrets_dir / "session-key"):
        if not secret.is_file():
            print(f"ebook: {secret} is missing (run: python -m examples.ebook_flask setup "
                  f"--secrets-dir {args.secrets_dir} ...)", file=sys.stderr)  # fmt: skip
            return 2
    args.state_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "EBOOK_DATABASE_URL": url,
        "EBOOK_REDIS_HOST": host,
        "EBOOK_REDIS_PORT": port,
        "EBOOK_REDIS_USER": args.redis_user,
        "EBOOK_REDIS_PASSWORD_FILE": str(password_file.resolve()),
        "EBOOK_REDIS_PREFIX": args.prefix,
        "EBOOK_SECRET_KEY_FILE": str((args.secrets_dir / "session-key").resolve()),
        "EBOOK_LOG_DIR": str(args.log_dir.resolve()),
        "EBOOK_METRICS_DIR": str((args.state_dir / "metrics").resolve()),
        "EBOOK_PIDFILE": str((args.state_dir / "gunicorn.pid").resolve()),
        "EBOOK_PORT": str(args.port),
        "EBOOK_WORKERS": str(args.workers),
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(HERE / "gunicorn_conf.py"),
                "examples.ebook_flask.app:create_app()"]  # fmt: skip
    os.execve(sys.executable, gunicorn, env)  # gunicorn's master becomes this process: signals reach it


if __name__ == "__main__":
    sys.exit(main())
