"""Django's ``execute_wrappers`` → :class:`~tocsin.sdk.packs.Database` (imports django).

A wrapper is appended to each connection's ``execute_wrappers`` when Django
creates it (the ``connection_created`` signal) and to this thread's existing
connections at once; the database engine is left alone. Open connections are
counted from creation until the connection's ``close()`` (which Django's
``CONN_MAX_AGE`` recycling, ``close_old_connections`` and ``close_all`` call);
the driver object's lifetime would be wrong, as a cursor still referenced
keeps it alive. Errors are counted by the driver's class (``UniqueViolation``),
not Django's wrapper (``IntegrityError``). With Django 5.1's connection pool
(``OPTIONS["pool"]`` with ``max_size``) ``pool_size`` is set too.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

from .db import Database

__all__ = ["instrument"]

_perf_counter = time.perf_counter
_installed: weakref.WeakSet[Database] = weakref.WeakSet()


class _Wrapper:
    """The execute wrapper of one alias: ``(execute, sql, params, many, context)`` as Django calls it."""

    __slots__ = ("alias", "db")

    def __init__(self, db: Database, alias: str) -> None:
        self.db = db
        self.alias = alias

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = _perf_counter()
        try:
            result = execute(sql, params, many, context)
        except Exception as err:
            driver = err.__cause__ if isinstance(err.__cause__, Exception) else err
            self.db.failed(self.alias, sql, _perf_counter() - started, driver)
            raise
        self.db.record(self.alias, sql, _perf_counter() - started)
        return result


def _install(db: Database, connection: Any) -> None:
    if any(isinstance(w, _Wrapper) and w.db is db for w in connection.execute_wrappers):
        return
    connection.execute_wrappers.append(_Wrapper(db, connection.alias))


def _opened(db: Database, connection: Any) -> None:
    alias = connection.alias
    db.created.labels(alias).inc()
    pool = (connection.settings_dict.get("OPTIONS") or {}).get("pool")
    if isinstance(pool, dict) and "max_size" in pool:
        db.pool_size.labels(alias).set(pool["max_size"])
    if not getattr(connection, _OPEN, False):
        setattr(connection, _OPEN, True)
        db.active.labels(alias).inc()
    if not hasattr(connection, _ORIGINAL_CLOSE):
        original: Callable[[], None] = connection.close
        setattr(connection, _ORIGINAL_CLOSE, original)

        def close() -> None:
            try:
                original()
            finally:
                if getattr(connection, _OPEN, False) and connection.connection is None:
                    setattr(connection, _OPEN, False)
                    db.active.labels(alias).dec()

        connection.close = close


_OPEN = "_tocsin_db_open"
_ORIGINAL_CLOSE = "_tocsin_db_close"


def instrument(db: Database, aliases: frozenset[str] | None) -> None:
    if db in _installed:
        return
    _installed.add(db)

    def created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if aliases is None or connection.alias in aliases:
            _install(db, connection)
            _opened(db, connection)

    connection_created.connect(created, weak=False, dispatch_uid=f"tocsin-db-{id(db)}")
    for connection in connections.all(initialized_only=True):
        if aliases is not None and connection.alias not in aliases:
            continue
        _install(db, connection)
        if connection.connection is not None:
            _opened(db, connection)
