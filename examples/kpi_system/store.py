"""The KPI database: one PostgreSQL schema per run in the shared ``test`` database.

The seed's system keeps KPI records per *model* (a business unit: marketing, sales, support) and
metric. Here the tables are:

- ``kpi_raw``: what clients posted to ``POST /api/records``, as they sent it (JSON), until the ETL
  has looked at it (``processed_at``). Validation happens in the ETL, not at the door, so bad data
  reaches the quality score the way the seed measures it;
- ``kpi_record``: the records the ETL kept (validated, transformed: one real number each);
- ``insight``: what the analytics engine found (anomalies by method and severity, benchmarks).

The analytics worker announces events (a batch's KPI update, an anomaly, an insight) with
``NOTIFY kpi_events``; the API's broadcaster LISTENs and pushes them to WebSocket subscribers.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["CHANNEL", "DATABASE", "connect", "connect_async", "create_schema", "drop_schema", "notify"]

DATABASE = "postgresql://127.0.0.1:5432/test?connect_timeout=3"
CHANNEL = "kpi_events"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

TABLES = """
CREATE TABLE IF NOT EXISTS kpi_raw (
    id bigserial PRIMARY KEY,
    client text NOT NULL,                    -- the API key's client name
    model_name text NOT NULL,
    payload jsonb NOT NULL,                  -- one record as posted: {metric, value, period}
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz
);
CREATE INDEX IF NOT EXISTS kpi_raw_pending ON kpi_raw (model_name, id) WHERE processed_at IS NULL;
CREATE TABLE IF NOT EXISTS kpi_record (
    id bigserial PRIMARY KEY,
    model_name text NOT NULL,
    metric text NOT NULL,
    value double precision NOT NULL,
    period timestamptz NOT NULL,
    raw_id bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS kpi_record_series ON kpi_record (model_name, metric, id DESC);
CREATE TABLE IF NOT EXISTS insight (
    id bigserial PRIMARY KEY,
    model_name text NOT NULL,
    metric text NOT NULL,
    kind text NOT NULL,                      -- anomaly, benchmark
    method text,                             -- zscore, iqr, modified_zscore
    severity text NOT NULL,
    value double precision,
    score double precision,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


def _checked(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema {schema!r}: use lower-case letters, digits and '_' (at most 63)")
    return schema


def connect(schema: str, application: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A connection to ``test`` in ``schema``, named ``<application>@<schema>`` in pg_stat_activity."""
    return psycopg.connect(
        DATABASE,
        autocommit=autocommit,
        application_name=f"{application}@{schema}",
        options=f"-c search_path={_checked(schema)}",
    )


async def connect_async(schema: str, application: str = "kpi-api") -> psycopg.AsyncConnection[Any]:
    """:func:`connect`'s asyncio twin (the API's requests and its LISTEN)."""
    return await psycopg.AsyncConnection.connect(
        DATABASE,
        autocommit=True,
        application_name=f"{application}@{schema}",
        options=f"-c search_path={_checked(schema)}",
    )


def create_schema(schema: str) -> None:
    """The run's schema and its tables (idempotent)."""
    with psycopg.connect(DATABASE, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(_checked(schema))))
    with connect(schema, "kpi-setup") as conn:
        conn.execute(TABLES)


def drop_schema(schema: str) -> None:
    """Drop the run's schema and everything in it (its sessions are closed first)."""
    with psycopg.connect(DATABASE, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND datname = current_database() AND application_name LIKE %s",
            (f"kpi-%@{schema}",),
        )
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(_checked(schema))))


def notify(conn: psycopg.Connection[Any], payload: str) -> None:
    """Announce one event (JSON text, under PostgreSQL's 8000-byte NOTIFY limit) to the broadcaster."""
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
