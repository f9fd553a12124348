"""The db pack on a real PostgreSQL: SQLAlchemy events (sync and asyncio) and Django's execute_wrapper."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Database
from tocsin.sdk.packs.db import is_deadlock, operation_of
from tocsin.testing import sample_value

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DSN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def table() -> Iterator[str]:
    """A table of this test's own in the shared ``test`` database, dropped afterwards."""
    name = f"tocsin_packs_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(DSN)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} (id int PRIMARY KEY, v text)"))
        conn.execute(text(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'b')"))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("SELECT 1", "select"),
        ("  /* app */ -- hint\n insert into t values (1)", "insert"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "with"),
        ("(SELECT 1)", "other"),
        ("frobnicate", "other"),
        ("", "other"),
    ],
)
def test_operation_is_the_first_keyword(statement: str, operation: str) -> None:
    assert operation_of(statement) == operation


def test_queries_errors_and_pool_use_with_sqlalchemy(metrics: Metrics, table: str) -> None:
    db = Database()
    engine = sqlalchemy.create_engine(DSN, pool_size=3, max_overflow=2)
    db.instrument_sqlalchemy(engine, name="main")
    db.instrument_sqlalchemy(engine, name="main")  # twice: events are not doubled
    value = lambda name, **labels: sample_value(metrics, name, {"database": "main", **labels})  # noqa: E731
    assert value("db_pool_size") == 5
    with engine.connect() as conn:
        assert value("db_connections_active") == 1
        conn.execute(text(f"SELECT v FROM {table} WHERE id = :id"), {"id": 1}).all()
        conn.execute(text(f"UPDATE {table} SET v = 'c' WHERE id = 2"))
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            conn.execute(text(f"INSERT INTO {table} VALUES (1, 'dup')"))
        conn.rollback()
    assert value("db_connections_active") == 0
    assert value("db_queries_total", operation="select") >= 1
    assert value("db_queries_total", operation="update") == 1
    assert value("db_queries_total", operation="insert") == 1
    assert value("db_query_duration_seconds_count", operation="select") >= 1
    assert value("db_errors_total", type="UniqueViolation") == 1
    assert value("db_deadlocks_total") is None
    assert value("db_connections_created_total") == 1
    engine.dispose()


def test_a_real_deadlock_is_counted(metrics: Metrics, table: str) -> None:
    db = Database()
    engine = sqlalchemy.create_engine(DSN)
    db.instrument_sqlalchemy(engine, name="main")
    barrier = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def transfer(first: int, second: int) -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text(f"UPDATE {table} SET v = 'x' WHERE id = {first}"))
                barrier.wait()
                conn.execute(text(f"UPDATE {table} SET v = 'y' WHERE id = {second}"))
        except sqlalchemy.exc.DBAPIError as err:
            errors.append(err)

    threads = [threading.Thread(target=transfer, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(errors) == 1 and is_deadlock(errors[0])
    assert sample_value(metrics, "db_deadlocks_total", {"database": "main"}) == 1
    assert sample_value(metrics, "db_errors_total", {"database": "main", "type": "DeadlockDetected"}) == 1
    engine.dispose()


def test_an_asyncio_engine_is_instrumented_through_its_sync_engine(metrics: Metrics) -> None:
    db = Database()

    async def scenario() -> None:
        engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test")
        db.instrument_sqlalchemy(engine, name="async")
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        await engine.dispose()

    asyncio.run(scenario())
    assert sample_value(metrics, "db_queries_total", {"database": "async", "operation": "select"}) >= 1


SITE = """
import sys
from django.conf import settings
settings.configure(DATABASES={"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": "test", "USER": "postgres",
    "HOST": "127.0.0.1", "PORT": "5432"}})
import django
django.setup()
from django.db import connection, connections
from prometheus_client import generate_latest
from tocsin.sdk.metrics import configure
from tocsin.sdk.packs import Database

configure(app="coach", prefix="django")
db = Database()
with connection.cursor() as cursor:          # opened before instrumenting: wrapped at once
    cursor.execute("SELECT 1")
db.instrument_django()
db.instrument_django()
with connection.cursor() as cursor:
    cursor.execute("SELECT %s", [2])
    cursor.execute("CREATE TEMP TABLE t (id int PRIMARY KEY)")
    cursor.executemany("INSERT INTO t VALUES (%s)", [(1,), (2,)])
    try:
        cursor.execute("INSERT INTO t VALUES (1)")
    except django.db.IntegrityError:
        pass
open_now = generate_latest().decode()
connection.close()
connection.ensure_connection()               # a new connection: the signal wraps it
with connection.cursor() as cursor:
    cursor.execute("SELECT 3")
connections.close_all()
sys.stdout.write(open_now + "=====\\n" + generate_latest().decode())
"""


def test_django_execute_wrapper_without_an_engine_swap(tmp_path: Path) -> None:
    script = tmp_path / "site.py"
    script.write_text(SITE)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    during, after = out.stdout.split("=====\n")
    assert 'django_db_queries_total{database="default",operation="select"} 1.0' in during
    assert 'django_db_queries_total{database="default",operation="insert"} 2.0' in during
    assert 'django_db_errors_total{database="default",type="UniqueViolation"} 1.0' in during
    assert 'django_db_connections_active{database="default"} 1.0' in during
    assert 'django_db_queries_total{database="default",operation="select"} 2.0' in after
    assert 'django_db_connections_created_total{database="default"} 2.0' in after
    assert 'django_db_connections_active{database="default"} 0.0' in after
