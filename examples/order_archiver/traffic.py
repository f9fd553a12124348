"""Orders as a shop and a partner make them: live web orders delivered a moment later, and imports.

- web orders: inserted ``en_cours``, set ``expédiée`` then ``livrée`` about a second later (the watch
  mode archives them from the change feed), ``--rate`` per second;
- imports: a partner's orders inserted already ``livrée`` (the batch mode archives them),
  ``--import-rate`` per second, as a steady trickle so every batch run finds about the same number;
- the plan's normal background: one order in 200 has no address (incomplete), one in 200 re-sends
  an order number already archived (a duplicate); every client exists, so no archiving errors.

The defects are fixed, not random, so a clean period is clean for sure. They are spaced, not only
rare: a batch run holds about 40 imports, and two bad ones in a run of 39 leave 94.9 % archived, under
the 95 % of ``ArchiverJobIncompleteRun``. Each kind on its own cycle (1 in 150 and 1 in 200) put a
duplicate and an incomplete order 25 imports apart three times every 600 imports, and that alert
fired during whichever fault was then playing (CI: ``slow-archive``). One defect every 100th order of
each kind, the two in turn (:func:`background_defect`), leaves any run of 100 imports or fewer with at
most one.
"""

from __future__ import annotations

import itertools
import json
import signal
import threading
import time
from collections import deque
from typing import Any

import psycopg

from tocsin.signals import on_signals

from .store import connect

__all__ = ["CLIENTS", "DEFECT_EVERY", "Traffic", "background_defect", "new_order", "seed_clients"]

CLIENTS = 200
#: imports between two bad ones of the background (duplicates and incomplete orders in turn)
DEFECT_EVERY = 100
CITIES = ["Paris", "Lyon", "Marseille", "Lille", "Nantes", "Bordeaux", "Toulouse", "Genève"]


def seed_clients(conn: psycopg.Connection[Any], count: int = CLIENTS) -> None:
    """``count`` clients with ids 1..count (idempotent)."""
    conn.execute(
        "INSERT INTO client (id, nom, email, ville) "
        "SELECT i, 'Client ' || i, 'client' || i || '@example.org', (%s::text[])[1 + i %% %s] "
        "FROM generate_series(1, %s) AS i ON CONFLICT (id) DO NOTHING",
        (CITIES, len(CITIES), count),
    )
    conn.execute("SELECT setval('client_id_seq', greatest((SELECT max(id) FROM client), 1))")


def background_defect(n: int) -> str | None:
    """What is wrong with the ``n``-th order of its kind (web or import): ``"duplicate"``, ``"incomplete"``
    or None (most)."""
    if n % DEFECT_EVERY != DEFECT_EVERY // 2:
        return None
    return "duplicate" if (n // DEFECT_EVERY) % 2 == 0 else "incomplete"


def new_order(
    conn: psycopg.Connection[Any],
    n: int,
    *,
    status: str,
    source: str,
    token: str = "",
    numero: str | None = None,
    client_id: int | None = None,
    complete: bool = True,
) -> int:
    """Insert order ``n`` (its number ``CMD-<source>-<token><n>`` unless given); its id."""
    articles = [{"sku": f"SKU-{n % 97}", "qty": 1 + n % 3, "prix": 9.9 + n % 50}]
    row = conn.execute(
        "INSERT INTO commande (numero, client_id, status, source, articles, adresse, total) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            numero or f"CMD-{source}-{token}{n}",
            client_id if client_id is not None else 1 + n % CLIENTS,
            status,
            source,
            json.dumps(articles),
            f"{n} rue de la Paix" if complete else None,
            round(sum(a["qty"] * a["prix"] for a in articles), 2),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


class Traffic:
    """The generator's state: counters, the web orders waiting to be delivered, archived numbers seen."""

    def __init__(self, database: str, *, rate: float, import_rate: float) -> None:
        self.conn = connect(database, "traffic")
        self.rate = rate
        self.import_rate = import_rate
        self.web = itertools.count(1)
        self.imports = itertools.count(1)
        self.pending: deque[tuple[float, int, str]] = deque()  # (when, order id, next status)
        self.stop = threading.Event()
        self.token = f"{int(time.time()) % 10**8:08d}"  # order numbers stay unique across restarts

    def _archived_numero(self) -> str | None:
        row = self.conn.execute("SELECT numero FROM historique ORDER BY archived_at DESC LIMIT 1").fetchone()
        return str(row[0]) if row else None

    def web_order(self) -> None:
        n = next(self.web)
        defect = background_defect(n)
        order_id = new_order(
            self.conn,
            n,
            status="en_cours",
            source="web",
            token=self.token,
            numero=self._archived_numero() if defect == "duplicate" else None,
            complete=defect != "incomplete",
        )
        self.pending.append((time.monotonic() + 0.5, order_id, "expédiée"))

    def import_order(self) -> None:
        n = next(self.imports)
        defect = background_defect(n)
        new_order(
            self.conn,
            n,
            status="livrée",
            source="import",
            token=self.token,
            numero=self._archived_numero() if defect == "duplicate" else None,
            complete=defect != "incomplete",
        )

    def deliver_due(self) -> None:
        now = time.monotonic()
        while self.pending and self.pending[0][0] <= now:
            _, order_id, status = self.pending.popleft()
            self.conn.execute(
                "UPDATE commande SET status = %s, updated_at = clock_timestamp() WHERE id = %s",
                (status, order_id),
            )
            if status == "expédiée":
                self.pending.append((now + 0.5, order_id, "livrée"))

    def run(self) -> None:
        """Until ``stop``: each kind of order at its own steady rate."""
        started = time.monotonic()
        made_web = made_import = 0
        while not self.stop.is_set():
            elapsed = time.monotonic() - started
            while made_web < elapsed * self.rate:
                self.web_order()
                made_web += 1
            while made_import < elapsed * self.import_rate:
                self.import_order()
                made_import += 1
            self.deliver_due()
            self.stop.wait(0.05)


def main(database: str, rate: float, import_rate: float) -> int:
    traffic = Traffic(database, rate=rate, import_rate=import_rate)
    on_signals(traffic.stop.set, (signal.SIGTERM, signal.SIGINT))
    while not traffic.stop.is_set():
        try:
            traffic.run()
        except psycopg.OperationalError as exc:  # a fault dropped our connection too: carry on
            print(f"traffic: {exc}; reconnecting", flush=True)
            traffic.stop.wait(0.5)
            traffic.conn = connect(database, "traffic")
    return 0
