"""The orders database: PostgreSQL standing in for the seed's MongoDB, with a change feed that resumes.

Collections become tables with the seed's names: ``commande`` (orders, the live collection),
``client`` (the customers an order is enriched with), ``historique`` (the archive, one row per order
number). There is no MongoDB server here, and this PostgreSQL runs with ``wal_level=replica``
(logical decoding needs ``logical`` and a server restart, which a shared server does not get), so the
change stream is built the way an outbox is: a trigger appends every insert and status change of
``commande`` to ``commande_events`` (a ``bigserial`` id: the resume token) and wakes listeners with
``NOTIFY commande_events``. A consumer reads events after the id it last saved, so whatever happened
while it was down is replayed when it comes back, as a MongoDB change stream resumed with
``resumeAfter`` would; NOTIFY only saves it from polling.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from .._postgres import connect, drop_database, dsn
from .._postgres import create_database as _create

__all__ = [
    "CHANNEL",
    "SCHEMA",
    "connect",
    "create_database",
    "drop_database",
    "dsn",
    "load_token",
    "save_token",
]

CHANNEL = "commande_events"

SCHEMA = """
CREATE TABLE IF NOT EXISTS client (
    id serial PRIMARY KEY,
    nom text NOT NULL,
    email text,
    ville text
);
CREATE TABLE IF NOT EXISTS commande (
    id bigserial PRIMARY KEY,
    numero text NOT NULL,                       -- the business order number (re-sent orders share it)
    client_id integer,                          -- may name a client that does not exist: enrichment fails
    status text NOT NULL DEFAULT 'en_cours',    -- en_cours, expédiée, livrée
    source text NOT NULL DEFAULT 'web',         -- web (live) or import (a partner's nightly file)
    articles jsonb,                             -- empty or null: the order is incomplete
    adresse text,                               -- null: incomplete
    total numeric(10, 2),
    archive_state text,                         -- null until the archiver looked: incomplete, error
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS commande_to_archive ON commande (id)
    WHERE status = 'livrée' AND archive_state IS NULL;
CREATE TABLE IF NOT EXISTS historique (
    numero text PRIMARY KEY,
    commande_id bigint NOT NULL,
    commande jsonb NOT NULL,
    client jsonb NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    archived_by text NOT NULL
);
CREATE TABLE IF NOT EXISTS commande_events (
    id bigserial PRIMARY KEY,
    commande_id bigint NOT NULL,
    operation text NOT NULL,                    -- insert or update
    status text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION commande_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event_id bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NEW;
    END IF;
    INSERT INTO commande_events (commande_id, operation, status)
        VALUES (NEW.id, lower(TG_OP), NEW.status) RETURNING id INTO event_id;
    PERFORM pg_notify('commande_events', event_id::text);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS commande_feed ON commande;
CREATE TRIGGER commande_feed AFTER INSERT OR UPDATE OF status ON commande
    FOR EACH ROW EXECUTE FUNCTION commande_changed();
"""


def create_database(database_dsn: str) -> bool:
    """Create the database named in the DSN if missing, then the schema; True if it was created."""
    created = _create(database_dsn)
    with connect(database_dsn, "archiver-setup") as conn:
        conn.execute(SCHEMA)
    return created


def load_token(path: Path) -> int | None:
    """The saved resume token (the last event id handled); None when there is none yet.

    ValueError when the file exists but cannot be read as one (the watcher logs
    ``⚠️  Could not load resume token`` and starts from the current end of the feed).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    try:
        token = json.loads(text)["event_id"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path}: not a resume token ({text[:40]!r})") from None
    if not isinstance(token, int) or token < 0:
        raise ValueError(f"{path}: not a resume token ({token!r})")
    return token


def save_token(path: Path, event_id: int) -> None:
    """Persist the resume token atomically (temp file, fsync, rename): a crash leaves the old or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"event_id": event_id}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def transaction(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    with conn.transaction():
        yield conn
