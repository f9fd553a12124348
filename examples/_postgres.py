"""The machine's PostgreSQL for the examples' own code: a database of the run's own, created and dropped.

The server is the one every developer and CI has (127.0.0.1:5432, trusting loopback); each run of an
example gets its database (``tocsin_<example>_<id>``, the scenario's ``${db}``), so runs in parallel
never see each other's rows. An example's ``store.py`` adds its schema on top of these.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

__all__ = ["connect", "create_database", "drop_database", "dsn"]


def dsn(database: str, *, host: str = "127.0.0.1", port: int = 5432) -> str:
    """A connection URL for ``database`` on the machine's PostgreSQL (which trusts loopback)."""
    return f"postgresql://{host}:{port}/{database}?connect_timeout=3"


def connect(database_dsn: str, application: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A connection named ``application`` (what pg_stat_activity shows, and what the faults aim at)."""
    return psycopg.connect(database_dsn, autocommit=autocommit, application_name=application)


def _admin(database_dsn: str) -> psycopg.Connection[Any]:
    """A connection to the server's ``postgres`` database, for CREATE/DROP DATABASE."""
    params = psycopg.conninfo.conninfo_to_dict(database_dsn)
    params["dbname"] = "postgres"
    return psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True)


def create_database(database_dsn: str) -> bool:
    """Create the database named in the DSN if it is missing; True if it was created."""
    name = psycopg.conninfo.conninfo_to_dict(database_dsn)["dbname"]
    with _admin(database_dsn) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def drop_database(database_dsn: str) -> None:
    """Drop the database (its open connections are closed first)."""
    name = psycopg.conninfo.conninfo_to_dict(database_dsn)["dbname"]
    with _admin(database_dsn) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
