"""The eBook Scene Packer web app (Flask), instrumented with tocsin: ``create_app()`` is gunicorn's entry.

What each piece of tocsin does here (the seed's plan, item by item, is in README.md):

- ``tocsin.sdk.logging``: structlog JSON lines to ``<log dir>/ebook.log`` and stderr, one per event,
  with a request id; the login events of the plan (``login_attempt``, ``login_success``,
  ``login_failed``) are what the log watcher counts.
- ``tocsin.sdk.http.instrument_flask``: ``http_requests_total{method,route,status}`` and
  ``http_request_duration_seconds`` by Flask's own matched rule (the plan's p95 and errors).
- packs: ``Database`` (SQLAlchemy engine events: queries by operation, their time, pool use),
  ``RedisCache`` (hits and misses: the plan's cache hit rate), ``Security`` (logins, lockouts:
  the plan's "rate limiting"), ``Frontend`` (the JS beacon: FCP, TTI, JS errors, API calls).
- ``tocsin.sdk.health``: ``/api/health`` (database, cache, disk, memory), run concurrently, each
  with a timeout, cached for a second; ``tocsin_health_check_up{check}`` feeds the DB alert.
- ``tocsin.sdk.exposition``: ``/metrics``, the workers' values merged (gunicorn multiprocess mode).

Configuration comes from the environment (``python -m examples.ebook_flask serve`` sets it):
``EBOOK_DATABASE_URL``, ``EBOOK_REDIS_HOST``/``_PORT``/``_USER``/``_PASSWORD_FILE``/``_PREFIX``,
``EBOOK_SECRET_KEY_FILE`` and ``EBOOK_LOG_DIR``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
from flask import Flask, jsonify, render_template, request, session
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.security import check_password_hash

from tocsin.sdk import logging as tlog
from tocsin.sdk import metrics
from tocsin.sdk.exposition import make_wsgi_app
from tocsin.sdk.health import Health, checks
from tocsin.sdk.health.flask import init_app as init_health
from tocsin.sdk.http import instrument_flask
from tocsin.sdk.logging.wsgi import RequestIdMiddleware
from tocsin.sdk.packs import Database, Frontend, RedisCache, Security

from .store import Book, Progress, User, engine_for, redis_client

__all__ = ["LATENCY_BUCKETS", "create_app"]

#: the default buckets plus 1.5 s, 2 s and 3 s: the plan's p95 thresholds (1 s, 2 s) sit on bucket
#: edges, so histogram_quantile tells 1.4 s from 2.4 s instead of interpolating across 1–2.5 s
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
CACHE_TTL_S = 120
ACTIVE_WINDOW_S = 300  # a reader is active when seen in the last 5 minutes
LOCKOUT_FAILURES = 5  # failed logins on one account within LOCKOUT_WINDOW_S lock it (429)
LOCKOUT_WINDOW_S = 300
WARM_BOOKS = 20  # books loaded into the cache at boot

log = tlog.get_logger("ebook.web")


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit(f"ebook: set {name} (python -m examples.ebook_flask serve sets it for you)")
    return value


def _secret(variable: str) -> str:
    """The secret in the file ``$variable`` names; a clear exit when it is missing (never its value)."""
    path = Path(_env(variable))
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SystemExit(
            f"ebook: {variable}={path}: {error.strerror} (python -m examples.ebook_flask setup writes it)"
        ) from None
    if not secret:
        raise SystemExit(f"ebook: {variable}={path} is empty")
    return secret


class _RedisDown(Exception):
    """Redis failed less than ``_Redis.PAUSE_S`` ago: not tried again yet."""


class _Redis:
    """The app's Redis: the counted cache, active readers, login lockouts. Every use fails open: a
    Redis that is down costs the cache (a miss, the database answers) and nothing else. After a
    failure it is left alone for ``PAUSE_S`` (a circuit breaker), so an outage does not add a
    connection attempt to every call of every request."""

    PAUSE_S = 2.0

    def __init__(self, client: Any, prefix: str) -> None:
        self.cache = RedisCache(client, "ebook")
        self.client = client
        self.prefix = prefix
        self._retry_at = 0.0
        self.active = metrics.gauge(
            "ebook_active_users",
            "Readers seen in the last 5 minutes (a sorted set in Redis, shared by the workers).",
            multiprocess_mode="mostrecent",
        )

    def _call(self, operation: str, call: Callable[[], Any]) -> Any:
        """``call()``, or :class:`_RedisDown` while the breaker is open or when it fails (counted, logged)."""
        import redis

        if time.monotonic() < self._retry_at:
            raise _RedisDown(operation)
        try:
            return call()
        except redis.RedisError as error:
            self._retry_at = time.monotonic() + self.PAUSE_S
            if operation != "get":  # RedisCache.get counted its own error
                self.cache.cache.error(operation)
            log.warning("cache_unavailable", operation=operation, error=type(error).__name__)
            raise _RedisDown(operation) from error

    def get_json(self, key: str) -> Any:
        try:
            raw = self._call("get", lambda: self.cache.get(f"{self.prefix}:{key}"))
        except _RedisDown:
            self.cache.cache.miss()  # the database answers instead: for the reader, a miss
            return None
        return None if raw is None else json.loads(raw)

    def put_json(self, key: str, value: Any) -> None:
        with contextlib.suppress(_RedisDown):
            self._call(
                "set", lambda: self.client.set(f"{self.prefix}:{key}", json.dumps(value), ex=CACHE_TTL_S)
            )

    def seen(self, user_id: int) -> None:
        now = time.time()
        key = f"{self.prefix}:active"

        def update() -> Any:
            pipe = self.client.pipeline(transaction=False)
            pipe.zadd(key, {str(user_id): now})
            pipe.zremrangebyscore(key, 0, now - ACTIVE_WINDOW_S)
            pipe.zcard(key)
            return pipe.execute()[-1]

        with contextlib.suppress(_RedisDown):
            self.active.set(self._call("active", update))

    def locked(self, username: str) -> bool:
        try:
            raw = self._call("lockout", lambda: self.client.get(f"{self.prefix}:lockout:{username}"))
        except _RedisDown:
            return False
        return raw is not None and int(raw) >= LOCKOUT_FAILURES

    def failed_login(self, username: str) -> None:
        key = f"{self.prefix}:lockout:{username}"

        def count() -> Any:
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, LOCKOUT_WINDOW_S, nx=True)
            return pipe.execute()

        with contextlib.suppress(_RedisDown):
            self._call("lockout", count)


def create_app() -> Flask:
    """The app, configured from the environment (see the module docstring)."""
    log_dir = Path(_env("EBOOK_LOG_DIR", "logs"))
    tlog.configure("production", level="INFO", service="ebook", file=tlog.LogFile(log_dir / "ebook.log"))
    metrics.configure(app="ebook-scene-packer", version="2.0.0", environment="production")

    app = Flask(__name__)
    app.secret_key = _secret("EBOOK_SECRET_KEY_FILE")
    engine = engine_for(_env("EBOOK_DATABASE_URL"))
    Database().instrument_sqlalchemy(engine, name="ebook")
    client = redis_client(
        _env("EBOOK_REDIS_HOST", "127.0.0.1"),
        int(_env("EBOOK_REDIS_PORT", "6379")),
        os.environ.get("EBOOK_REDIS_USER") or None,
        _secret("EBOOK_REDIS_PASSWORD_FILE") if os.environ.get("EBOOK_REDIS_PASSWORD_FILE") else None,
    )
    prefix = _env("EBOOK_REDIS_PREFIX", "ebook")
    store = _Redis(client, prefix)
    security = Security()
    frontend = Frontend(pages=["/", "/books/:id"])

    health = Health(
        ready=[
            checks.sql("database", engine),
            checks.redis("cache", client, critical=False, namespace=f"{prefix}:health"),
            checks.disk(path="/", min_free_percent=20),
            checks.memory(max_used_percent=90, warn_used_percent=85),
        ]
    )
    init_health(app, health, path="/api/health")

    def db() -> Session:
        return Session(engine)

    def current_user() -> int | None:
        user_id = session.get("user_id")
        if isinstance(user_id, int):
            store.seen(user_id)
            return user_id
        return None

    @app.get("/")
    def catalog_page() -> str:
        current_user()
        return render_template("catalog.html", beacon=frontend.script_tag("/_tocsin/rum"))

    @app.get("/books/<int:book_id>")
    def reader_page(book_id: int) -> str:
        current_user()
        return render_template("reader.html", book_id=book_id, beacon=frontend.script_tag("/_tocsin/rum"))

    @app.get("/api/books")
    def list_books() -> flask.Response:
        books = store.get_json("catalog")
        if books is None:
            with db() as s:
                rows = s.execute(select(Book.id, Book.title, Book.author).order_by(Book.id)).all()
            books = [{"id": r.id, "title": r.title, "author": r.author} for r in rows]
            store.put_json("catalog", books)
        return jsonify(books)

    def load_book(s: Session, book_id: int) -> dict[str, Any] | None:
        row = s.get(Book, book_id)
        if row is None:
            return None
        scenes = json.loads(row.manifest)["scenes"]  # a truncated manifest raises: a 500, logged
        book = {"id": row.id, "title": row.title, "author": row.author, "scenes": len(scenes),
                "words": sum(sc["words"] for sc in scenes)}  # fmt: skip
        store.put_json(f"book:{book_id}", book)
        return book

    @app.get("/api/books/<int:book_id>")
    def get_book(book_id: int) -> flask.Response | tuple[flask.Response, int]:
        book = store.get_json(f"book:{book_id}")
        if book is None:
            with db() as s:
                book = load_book(s, book_id)
            if book is None:
                return jsonify(error="no such book"), 404
        return jsonify(book)

    def warm_cache() -> None:
        """The books read most in the last day into the cache, before the first request: after a
        deploy, or a Redis restart, every reader would otherwise miss at once (and the hit rate
        alert would say so). Best effort: a database or Redis that is down does not stop the boot."""
        try:
            with db() as s:
                last_day = Progress.at > func.now() - text("interval '1 day'")
                read_most = select(Progress.book_id).where(last_day)
                ids = s.scalars(
                    read_most.group_by(Progress.book_id).order_by(func.count().desc()).limit(WARM_BOOKS)
                ).all()
                ids = list(ids) or list(s.scalars(select(Book.id).order_by(Book.id).limit(WARM_BOOKS)))
                for book_id in ids:
                    load_book(s, book_id)
        except Exception as error:  # whatever failed, the app serves without a warm cache
            log.warning("cache_warm_up_failed", error=type(error).__name__)

    @app.post("/api/books/<int:book_id>/progress")
    def save_progress(book_id: int) -> tuple[flask.Response, int]:
        user_id = current_user()
        if user_id is None:
            return jsonify(error="log in first"), 401
        scene = (request.get_json(silent=True) or {}).get("scene")
        if not isinstance(scene, int) or scene < 0:
            return jsonify(error="scene must be a number"), 400
        with db() as s, s.begin():
            s.add(Progress(user_id=user_id, book_id=book_id, scene=scene))
        return jsonify(saved=True), 201

    @app.post("/login")
    def login() -> tuple[flask.Response, int]:
        form = request.get_json(silent=True) or request.form
        username, password = str(form.get("username", ""))[:80], str(form.get("password", ""))
        source = request.remote_addr or "unknown"
        log.info("login_attempt", username=username, source=source)
        if store.locked(username):
            security.rate_limited("login")
            log.warning("login_locked", username=username, source=source)
            return jsonify(error="too many failed logins, try again later"), 429
        with db() as s:
            user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not check_password_hash(user.password_hash, password):
            reason = "unknown_user" if user is None else "invalid_credentials"
            security.auth_failed(reason, source=source)
            store.failed_login(username)
            log.warning("login_failed", username=username, reason=reason, source=source)
            return jsonify(error="wrong username or password"), 401
        security.auth_succeeded()
        session.clear()
        session["user_id"] = user.id
        store.seen(user.id)
        log.info("login_success", user_id=user.id)
        return jsonify(user_id=user.id), 200

    @app.post("/logout")
    def logout() -> tuple[flask.Response, int]:
        log.info("logout", user_id=session.pop("user_id", None))
        return jsonify(ok=True), 200

    warm_cache()

    # order matters: the HTTP metrics see the app's own routes (the dispatcher's /metrics and
    # beacon are outside them); the request id is outermost, so every line of a request has it
    instrument_flask(app, excluded_paths=["/api/health", "/api/health/live", "/api/health/ready"],
                     buckets=LATENCY_BUCKETS)  # fmt: skip
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {"/metrics": make_wsgi_app(), "/_tocsin/rum": frontend.wsgi_app()}
    )
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    log.info("app_ready", pid=os.getpid())
    return app
