"""SQLAlchemy engine and pool events → :class:`~tocsin.sdk.packs.Database` (imports sqlalchemy)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event

from .db import Database

__all__ = ["instrument"]

_perf_counter = time.perf_counter
_MARK = "_tocsin_db_instrumented"
_STARTED = "_tocsin_started"


def instrument(db: Database, engine: Any, name: str) -> None:
    engine = getattr(engine, "sync_engine", engine)  # AsyncEngine → its Engine
    if getattr(engine, _MARK, False):
        return
    setattr(engine, _MARK, True)
    active = db.active.labels(name)
    created = db.created.labels(name)
    pool = engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if callable(size) and overflow >= 0:
        db.pool_size.labels(name).set(size() + overflow)

    @event.listens_for(engine, "before_cursor_execute")
    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if context is not None:
            setattr(context, _STARTED, _perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        started = getattr(context, _STARTED, None)
        if started is not None:
            db.record(name, statement, _perf_counter() - started)

    @event.listens_for(engine, "handle_error")
    def failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        started = getattr(context, _STARTED, None) if context is not None else None
        statement = exception_context.statement or ""
        elapsed = _perf_counter() - started if started is not None else 0.0
        db.failed(name, statement, elapsed, exception_context.original_exception)

    @event.listens_for(pool, "connect")
    def connected(dbapi_connection: Any, record: Any) -> None:
        created.inc()

    @event.listens_for(pool, "checkout")
    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        active.inc()

    @event.listens_for(pool, "checkin")
    def checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None or record is not None:
            active.dec()
