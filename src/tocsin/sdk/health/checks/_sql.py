"""SQL check: ``SELECT 1`` through a SQLAlchemy engine or a DSN (psycopg or asyncpg for PostgreSQL).

The driver is imported when the check is made, not at its first run: importing
SQLAlchemy or psycopg takes 0.1–1 s on a cold start, which the first probe after a
boot would otherwise spend inside its timeout (a false 503). A misspelt DSN or a
missing driver is an error at start-up, not a failing probe. An engine's kind is
told from its class, so a sync engine never imports ``sqlalchemy.ext.asyncio``
(which needs greenlet, an optional dependency since SQLAlchemy 2.1).

A DSN gets a fresh connection per run with a connect timeout, closed right
after: a health probe must see the database as a new client would, and must
not keep a connection of its own open. An engine is the application's own:
its pool is used as the application uses it (set its driver's connect
timeout, e.g. ``connect_args={"connect_timeout": 2}``, or a hung database
holds a thread until the driver gives up; tocsin never starts a second one).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Literal

from .._check import BaseCheck, Observation
from .._redact import dsn_secrets
from .._threads import ThreadGate

__all__ = ["SqlCheck", "sql"]

Driver = Literal["auto", "psycopg", "asyncpg", "sqlalchemy"]
_PG_SCHEMES = ("postgresql", "postgres")


def _split_driver(dsn: str, driver: Driver) -> tuple[Driver, str]:
    """Which driver serves ``dsn``, and the DSN that driver wants (without ``+driver``)."""
    scheme, sep, rest = dsn.partition("://")
    base, _, dialect_driver = scheme.partition("+")
    if not sep or base not in _PG_SCHEMES:
        return "sqlalchemy", dsn
    plain = f"postgresql://{rest}"
    if driver != "auto":
        return driver, (dsn if driver == "sqlalchemy" else plain)
    if dialect_driver in ("psycopg", "asyncpg"):
        return dialect_driver, plain  # type: ignore[return-value]
    if dialect_driver:
        return "sqlalchemy", dsn
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "asyncpg", plain
    return "psycopg", plain


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # marks it retrieved; whoever awaits it still gets it


def _retrieve_orphaned_ssl_answers(asyncpg: Any) -> None:
    """Stop asyncpg leaving an exception nobody retrieves when a connect is cancelled mid-set-up.

    With ``sslmode=prefer`` (libpq's and asyncpg's default) asyncpg first opens the TCP connection
    with ``loop.create_connection(TLSUpgradeProto)`` and awaits that protocol's ``on_data`` future
    for the answer to its SSLRequest. A timeout (the runner's, or asyncpg's own ``timeout=``) that
    lands *inside* ``create_connection``, after the transport exists but before it is handed over,
    makes asyncio close the transport; ``TLSUpgradeProto.connection_lost`` then sets
    ``ConnectionError('unexpected connection_lost() call')`` on a future nobody will ever await.
    When it is collected, asyncio reports "Future exception was never retrieved" to the event
    loop's exception handler: an error line in the app's log for every such timeout against a hung
    database, and a failed test under anyio's runner, which raises what that handler gets (seen
    under heavy CI load in ``test_100_endpoint_calls_against_a_hung_dependency_leave_nothing_behind``;
    about 1 in 15 connects cancelled within 2 ms of starting, ``tests/sdk/health/test_health_checks.py``).
    The runner cannot catch it: it is raised in no task. A done-callback that retrieves the
    exception changes nothing for a connect that awaits the future (it still gets the error).
    Applied once, when an asyncpg check is made; a no-op if asyncpg's internals differ.
    """
    proto = getattr(getattr(asyncpg, "connect_utils", None), "TLSUpgradeProto", None)
    if proto is None or getattr(proto, "_tocsin_retrieves_on_data", False):
        return
    original = proto.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        on_data = getattr(self, "on_data", None)
        if isinstance(on_data, asyncio.Future):
            on_data.add_done_callback(_retrieve)

    proto.__init__ = __init__
    proto._tocsin_retrieves_on_data = True


def _is_async_engine(engine: object) -> bool:
    """An ``AsyncEngine`` (it wraps a ``sync_engine``), told without importing ``sqlalchemy.ext.asyncio``."""
    return hasattr(engine, "sync_engine") and type(engine).__module__.startswith("sqlalchemy.ext.asyncio")


class SqlCheck(BaseCheck):
    """Runs ``query`` (default ``SELECT 1``); the observed value is the round trip in milliseconds."""

    component_type = "datastore"
    measurement = "responseTime"

    def __init__(
        self,
        name: str,
        target: Any,
        *,
        query: str,
        driver: Driver,
        critical: bool,
        timeout: float | None,
        connect_timeout: float | None,
    ) -> None:
        if isinstance(target, str):
            secrets = dsn_secrets(target)
            self.driver, self._dsn = _split_driver(target, driver)
            self._engine: Any = None
        else:
            url = getattr(target, "url", None)
            if url is None:
                kind = type(target).__name__
                raise TypeError(f"sql() takes a DSN or a SQLAlchemy (Async)Engine, not {kind}")
            secrets = (url.password,) if url.password else ()
            self.driver, self._dsn, self._engine = "sqlalchemy", "", target
        super().__init__(
            name, critical=critical, timeout=timeout, connect_timeout=connect_timeout, secrets=secrets
        )
        self.query = query
        self._gate = ThreadGate(name)
        self._driver_module: Any = None
        self._statement: Any = None
        self._async_engine = False
        self._prepare()

    def _prepare(self) -> None:
        """Import what the runs need, and make the DSN's engine, now rather than in the first probe."""
        if self.driver == "psycopg":
            import psycopg

            self._driver_module = psycopg
        elif self.driver == "asyncpg":
            import asyncpg
            import asyncpg.connect_utils

            _retrieve_orphaned_ssl_answers(asyncpg)
            self._driver_module = asyncpg
        else:
            import sqlalchemy

            if self._engine is None:
                # One engine per check; NullPool: no connection stays open between probes.
                self._engine = sqlalchemy.create_engine(self._dsn, poolclass=sqlalchemy.pool.NullPool)
            self._statement = sqlalchemy.text(self.query)
            self._async_engine = _is_async_engine(self._engine)

    async def __call__(self) -> Observation:
        started = time.perf_counter()
        if self.driver == "psycopg":
            await self._psycopg()
        elif self.driver == "asyncpg":
            await self._asyncpg()
        else:
            await self._sqlalchemy()
        return Observation(round((time.perf_counter() - started) * 1000, 2), "ms")

    async def _psycopg(self) -> None:
        psycopg = self._driver_module
        # libpq counts whole seconds (psycopg raises anything under 2 to 2); the runner's timeout still cuts.
        seconds = max(1, math.ceil(self.connect_timeout()))
        conn = await psycopg.AsyncConnection.connect(self._dsn, connect_timeout=seconds, autocommit=True)
        async with conn:
            await conn.execute(self.query)

    async def _asyncpg(self) -> None:
        conn = await self._driver_module.connect(self._dsn, timeout=self.connect_timeout())
        try:
            await conn.fetchval(self.query)
        finally:
            await conn.close(timeout=self.connect_timeout())

    async def _sqlalchemy(self) -> None:
        statement = self._statement
        if self._async_engine:
            async with self._engine.connect() as aconn:
                await aconn.execute(statement)
            return
        engine = self._engine

        def run() -> None:
            with engine.connect() as conn:
                conn.execute(statement)

        await self._gate.run(run)


def sql(
    name: str,
    target: Any,
    *,
    query: str = "SELECT 1",
    driver: Driver = "auto",
    critical: bool = True,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> SqlCheck:
    """A database check from a DSN (``postgresql://...``, ``postgresql+asyncpg://...``, any SQLAlchemy URL)
    or a SQLAlchemy ``Engine``/``AsyncEngine``.

    For PostgreSQL DSNs ``driver="auto"`` uses psycopg (async) when installed, else asyncpg.
    """
    return SqlCheck(
        name,
        target,
        query=query,
        driver=driver,
        critical=critical,
        timeout=timeout,
        connect_timeout=connect_timeout,
    )
