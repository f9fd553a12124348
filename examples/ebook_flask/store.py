"""The app's data: PostgreSQL through SQLAlchemy (a database of the run's own) and Redis (a key prefix
and an ACL user of the run's own).

Tables: ``books`` (an ebook and the manifest of its packed scenes, JSON text as the packer writes
it), ``users`` (readers, with password hashes) and ``reading_progress`` (where a reader is in a
book, written by the reader page every few seconds). Redis holds the cache (``<prefix>:book:<id>``,
``<prefix>:catalog``), the active readers (a sorted set) and the login lockouts; the app reaches it
as its own ACL user, restricted to its prefix, with a password read from a file — how a shared
Redis is given to one application, and what the ``redis-down`` fault revokes.
"""

from __future__ import annotations

import json
import random
import secrets
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Engine, ForeignKey, Integer, String, Text, create_engine, func
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import DateTime

__all__ = [
    "Book",
    "Progress",
    "User",
    "create_database",
    "drop_database",
    "dsn",
    "engine_for",
    "redis_acl_create",
    "redis_acl_drop",
    "redis_client",
]

#: the password every seeded reader has (the traffic logs in with it; a typo is a failed login)
READER_PASSWORD = "correct horse battery staple"
#: pbkdf2 with fewer rounds than werkzeug's default (600,000): a login must not cost a core-second
#: on the demo's two cores; a real deployment keeps the default
HASH_METHOD = "pbkdf2:sha256:20000"


class Base(DeclarativeBase):
    pass


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(200))
    manifest: Mapped[str] = mapped_column(Text)  # {"scenes": [{"title", "words", "images"}...]}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))


class Progress(Base):
    __tablename__ = "reading_progress"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
    scene: Mapped[int] = mapped_column(Integer)
    at: Mapped[Any] = mapped_column(DateTime(timezone=True), server_default=func.now())


def dsn(database: str, *, host: str = "127.0.0.1", port: int = 5432) -> str:
    """The SQLAlchemy URL of ``database`` on the machine's PostgreSQL (which trusts loopback)."""
    return f"postgresql+psycopg://{host}:{port}/{database}"


def engine_for(url: str, *, pool_size: int = 5, max_overflow: int = 5) -> Engine:
    """The app's engine: a driver connect timeout (a probe must not hang on a dead server), and
    connections tested at checkout, so that the first request after an outage does not fail."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=5,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 2, "application_name": "ebook-web"},
    )


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _database_name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(_libpq(url))["dbname"])


def _admin(url: str) -> psycopg.Connection[Any]:
    """A connection to the server's ``postgres`` database, for CREATE/DROP/ALTER DATABASE."""
    params = psycopg.conninfo.conninfo_to_dict(_libpq(url))
    params["dbname"] = "postgres"
    return psycopg.connect(psycopg.conninfo.make_conninfo("", **params), autocommit=True, connect_timeout=5)


def _manifest(rng: random.Random, scenes: int) -> str:
    return json.dumps(
        {
            "scenes": [
                {"title": f"Scene {n + 1}", "words": rng.randint(400, 3000), "images": rng.randint(0, 4)}
                for n in range(scenes)
            ]
        }
    )


def create_database(url: str, *, books: int = 200, readers: int = 50) -> bool:
    """The database, its tables, ``books`` ebooks and ``readers`` readers; True if it was created."""
    from werkzeug.security import generate_password_hash

    name = _database_name(url)
    with _admin(url) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    engine = engine_for(url)
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session, session.begin():
            if session.query(Book).count() == 0:
                rng = random.Random(2)
                session.add_all(
                    Book(
                        id=n,
                        title=f"Book {n}",
                        author=f"Author {n % 37}",
                        manifest=_manifest(rng, rng.randint(5, 40)),
                    )
                    for n in range(1, books + 1)
                )
                password = generate_password_hash(READER_PASSWORD, method=HASH_METHOD)
                session.add_all(
                    User(id=n, username=f"reader{n}", password_hash=password) for n in range(1, readers + 1)
                )
    finally:
        engine.dispose()
    return not exists


def drop_database(url: str) -> None:
    """Drop the database, whatever connects to it (and even while a fault refuses connections)."""
    name = _database_name(url)
    with _admin(url) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(name)))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def set_connections_allowed(url: str, allowed: bool) -> None:
    """Refuse (or allow again) every new connection to the database, and close the open ones."""
    name = _database_name(url)
    with _admin(url) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )


def libpq_connect(url: str) -> psycopg.Connection[Any]:
    """A plain autocommit connection to the app's database (the faults' and the setup's)."""
    return psycopg.connect(_libpq(url), autocommit=True, connect_timeout=5, application_name="ebook-admin")


# --- Redis -----------------------------------------------------------------------------------------


def redis_client(host: str, port: int, username: str | None, password: str | None) -> Any:
    """A redis-py client with short timeouts and no retries: a cache that hangs or refuses must cost a
    request 0.5 s at most (redis-py 6+ retries a failed command three times with a backoff from 1 s,
    which turns a Redis outage into seconds per request)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        host=host,
        port=port,
        username=username,
        password=password,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )


def _admin_redis(host: str, port: int) -> Any:
    import redis

    return redis.Redis(host=host, port=port, socket_timeout=5)


def redis_acl_create(host: str, port: int, username: str, prefix: str, password_file: Path) -> None:
    """The app's Redis user: its own password (written to ``password_file``, mode 0600), keys under
    ``<prefix>:`` only, no administrative commands."""
    password = secrets.token_urlsafe(24)
    password_file.parent.mkdir(parents=True, exist_ok=True)
    password_file.touch(mode=0o600)
    password_file.write_text(password, encoding="utf-8")
    _admin_redis(host, port).execute_command(
        "ACL",
        "SETUSER",
        username,
        "reset",
        "on",
        f">{password}",
        f"~{prefix}:*",
        "+@all",
        "-@admin",
        "-@dangerous",
    )


def redis_acl_set_enabled(host: str, port: int, username: str, enabled: bool) -> None:
    """Switch the app's Redis user on or off; off also closes its open connections."""
    admin = _admin_redis(host, port)
    admin.execute_command("ACL", "SETUSER", username, "on" if enabled else "off")
    if not enabled:
        admin.execute_command("CLIENT", "KILL", "USER", username)


def redis_acl_drop(host: str, port: int, username: str, prefix: str) -> None:
    """The user and every key of the prefix."""
    admin = _admin_redis(host, port)
    admin.execute_command("ACL", "DELUSER", username)
    keys = list(admin.scan_iter(match=f"{prefix}:*", count=500))
    for start in range(0, len(keys), 500):
        admin.delete(*keys[start : start + 500])
