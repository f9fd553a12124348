"""Database clients (seeds 002, 004): queries and duration by operation, errors, deadlocks, pool use.

::

    from tocsin.sdk.packs import Database

    db = Database()
    db.instrument_sqlalchemy(engine, name="main")      # engine events: no driver or engine swap
    db.instrument_django()                             # execute_wrapper on every Django connection

Metrics (namespace ``db``; ``database`` is the SQLAlchemy name or the Django alias):
``queries_total{database, operation}``, ``query_duration_seconds{database,
operation}`` (histogram, 0.5 ms to 10 s), ``errors_total{database, type}`` (the
driver's exception class), ``deadlocks_total{database}`` (PostgreSQL 40P01,
MySQL 1213), ``connections_active{database}`` (checked out of the pool, or open
for Django), ``pool_size{database}`` (the most the pool hands out: size plus
overflow) and ``connections_created_total{database}``. ``operation`` is the
statement's first keyword (``select``, ``insert``, ... or ``other``), never
the SQL text. Under ``prefix="django"`` seed 004's ``django_db_connections_active``
query runs unchanged; the spec's db pack alerts when
``connections_active / pool_size`` passes 80 % / 95 %.

Unlike django-prometheus, Django's database engine is not replaced (its
``ENGINE`` setting stays as it is): a wrapper is added to each connection's
``execute_wrappers`` as it is created. The integrations live in
:mod:`._sqlalchemy` and :mod:`._django_db`, which import their framework.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics
from ._buckets import QUERY_BUCKETS

__all__ = ["OPERATIONS", "Database", "is_deadlock", "operation_of"]

#: Statement keywords counted under their own name; any other statement is ``other``.
OPERATIONS = frozenset(
    {
        "select", "insert", "update", "delete", "merge", "upsert", "with", "begin", "commit", "rollback",
        "savepoint", "release", "create", "alter", "drop", "truncate", "copy", "call", "set", "show",
        "explain", "pragma", "vacuum", "analyze", "lock", "grant", "revoke", "values",
    }
)  # fmt: skip
_LEADING = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/)+", re.S)
_operations: dict[str, str] = {}
_DEADLOCK_SQLSTATE = "40P01"
_MYSQL_DEADLOCK = 1213


def operation_of(statement: str) -> str:
    """The statement's first keyword, lower case, if known (``select``...), else ``other``."""
    found = _operations.get(statement)
    if found is not None:
        return found
    text = _LEADING.sub("", statement[:512])
    word = text.split(None, 1)[0].lower().rstrip("(;") if text else ""
    found = word if word in OPERATIONS else "other"
    if len(_operations) < 5000:
        _operations[statement] = found
    return found


def is_deadlock(error: BaseException) -> bool:
    """Whether ``error`` (or the driver error it wraps) is a deadlock (PostgreSQL 40P01, MySQL 1213)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if code == _DEADLOCK_SQLSTATE:
            return True
        args = getattr(current, "args", ())
        if args and args[0] == _MYSQL_DEADLOCK:
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def _driver_error(error: BaseException) -> BaseException:
    orig = getattr(error, "orig", None)
    return orig if isinstance(orig, BaseException) else error


class Database:
    """The metrics of an application's database connections (see the module docstring)."""

    def __init__(
        self,
        *,
        namespace: str = "db",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        labels = ["database", "operation"]
        self.queries = pack.counter("queries_total", "SQL statements executed, by operation.", labels)
        self.duration = pack.histogram(
            "query_duration_seconds", "SQL statement duration, by operation.", labels, buckets=QUERY_BUCKETS
        )
        self.errors = pack.counter(
            "errors_total", "SQL statements that failed, by error type.", ["database", "type"]
        )
        self.deadlocks = pack.counter(
            "deadlocks_total", "SQL statements that failed on a deadlock.", ["database"]
        )
        self.active = pack.gauge(
            "connections_active", "Connections in use (checked out of the pool).", ["database"],
            multiprocess_mode="livesum",
        )  # fmt: skip
        self.pool_size = pack.gauge(
            "pool_size", "Connections the pool hands out at most (size plus overflow).", ["database"],
            multiprocess_mode="livesum",
        )  # fmt: skip
        self.created = pack.counter("connections_created_total", "Database connections opened.", ["database"])
        self._series: dict[tuple[str, str], tuple[Any, Any]] = {}

    def record(self, database: str, statement: str, seconds: float) -> None:
        """One statement on ``database`` took ``seconds`` (the operation is read from its text)."""
        key = (database, operation_of(statement))
        found = self._series.get(key)
        if found is None:
            found = (self.queries.labels(*key), self.duration.labels(*key))
            if len(self._series) < 1000:
                self._series[key] = found
        found[0].inc()
        found[1].observe(seconds)

    def failed(self, database: str, statement: str, seconds: float, error: BaseException) -> None:
        """A statement raised ``error``: counted, timed, and by type (deadlocks apart too)."""
        self.record(database, statement, seconds)
        self.errors.labels(database, type(_driver_error(error)).__name__).inc()
        if is_deadlock(error):
            self.deadlocks.labels(database).inc()

    def instrument_sqlalchemy(self, engine: Any, *, name: str = "default") -> None:
        """Listen to ``engine``'s (or an ``AsyncEngine``'s) statement and pool events."""
        from ._sqlalchemy import instrument

        instrument(self, engine, name)

    def instrument_django(self, aliases: Iterable[str] | None = None) -> None:
        """Time every statement of Django's connections (this thread's and those created later);
        ``aliases`` limits it to those databases (``["default"]``: not the read replica)."""
        from ._django_db import instrument

        instrument(self, None if aliases is None else frozenset(aliases))
