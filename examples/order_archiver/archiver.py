"""Archiving one delivered order, the same way in both modes: the seed's four outcomes.

An order is *moved*: copied with its client into ``historique`` and deleted from ``commande`` in one
transaction, so it is archived exactly once however the two modes interleave. The other outcomes:

- **duplicate**: its order number is already in ``historique`` (a partner re-sent it): the copy is
  dropped — ``⚠️  Order <n> already archived``;
- **incomplete**: no articles or no address: left in place, flagged — ``⚠️  Order <n> is incomplete``;
- **error**: its client cannot be found to enrich it: left in place, flagged —
  ``❌ Error enriching order <n>``.

``FOR UPDATE SKIP LOCKED`` keeps the two modes from handling the same row at once; an order another
mode already took is ``gone`` (not counted).
"""

from __future__ import annotations

import enum
import json
import logging
from typing import Any

import psycopg
from psycopg.rows import dict_row

__all__ = ["Outcome", "archive_order"]


class Outcome(enum.Enum):
    ARCHIVED = "archived"
    DUPLICATE = "duplicates"
    INCOMPLETE = "incomplete"
    ERROR = "errors"
    GONE = "gone"


def archive_order(conn: psycopg.Connection[Any], order_id: int, by: str, log: logging.Logger) -> Outcome:
    """Archive the order ``order_id`` if it is still delivered and unhandled (see the module docstring)."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        order = cur.execute(
            "SELECT id, numero, client_id, status, source, articles, adresse, total, created_at "
            "FROM commande WHERE id = %s AND status = 'livrée' AND archive_state IS NULL "
            "FOR UPDATE SKIP LOCKED",
            (order_id,),
        ).fetchone()
        if order is None:
            return Outcome.GONE
        numero = order["numero"]
        if cur.execute("SELECT 1 FROM historique WHERE numero = %s", (numero,)).fetchone():
            log.warning("⚠️  Order %s already archived (copy %s dropped)", numero, order_id)
            cur.execute("DELETE FROM commande WHERE id = %s", (order_id,))
            return Outcome.DUPLICATE
        missing = [name for name in ("articles", "adresse") if not order[name]]
        if missing:
            log.warning("⚠️  Order %s is incomplete (no %s)", numero, " and no ".join(missing))
            cur.execute("UPDATE commande SET archive_state = 'incomplete' WHERE id = %s", (order_id,))
            return Outcome.INCOMPLETE
        client = cur.execute(
            "SELECT id, nom, email, ville FROM client WHERE id = %s", (order["client_id"],)
        ).fetchone()
        if client is None:
            log.error("❌ Error enriching order %s: client %s not found", numero, order["client_id"])
            cur.execute("UPDATE commande SET archive_state = 'error' WHERE id = %s", (order_id,))
            return Outcome.ERROR
        document = {k: v for k, v in order.items() if k != "created_at"}
        document["total"] = float(order["total"] or 0)
        document["created_at"] = order["created_at"].isoformat()
        cur.execute(
            "INSERT INTO historique (numero, commande_id, commande, client, archived_by) "
            "VALUES (%s, %s, %s, %s, %s)",
            (
                numero,
                order_id,
                json.dumps(document, ensure_ascii=False),
                json.dumps(client, ensure_ascii=False),
                by,
            ),
        )
        cur.execute("DELETE FROM commande WHERE id = %s", (order_id,))
        log.debug("order %s archived (client %s, %s articles)", numero, client["id"], len(order["articles"]))
        return Outcome.ARCHIVED
