"""Batch mode: one run over the delivered orders nobody archived yet, its counts pushed to the Pushgateway.

The seed's ``Mode Batch``. A run finds the delivered orders still in ``commande`` — the partner imports
(inserted already delivered, which the watch mode's change stream does not follow, as a stream
filtered on status *updates*) and any order the watcher missed while it was down, older than a
minute so a run never races the live watcher — and archives them (:mod:`.archiver`), logging the
seed's lines (``📦 Found``, ``📊 Progress``, ``✅ Archived``). It is meant to be started by cron
(``*/15 * * * *``; ``cron`` below does it every few seconds for the demo).

The jobs pack counts the run: ``orders_<outcome>_total`` while it runs, ``orders_<outcome>_last_run``
and ``job_last_duration_seconds`` at its end, all with ``job_name="archiver"``, pushed to the
Pushgateway (group ``job="archiver"``) as the run's last act, retried if the gateway is restarting.
A run that cannot reach the database ends in ``error`` (``job_runs_total{outcome="error"}``) and
exits 1.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Sequence

import psycopg
from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Jobs, Pushgateway
from tocsin.signals import on_signals

from .archiver import Outcome, archive_order
from .store import connect

__all__ = ["cron", "run_batch"]

SELECT = """
SELECT id FROM commande
WHERE status = 'livrée' AND archive_state IS NULL
  AND (source = 'import' OR updated_at < clock_timestamp() - interval '1 minute')
ORDER BY id
LIMIT %s
"""


def run_batch(database: str, pushgateway: str | None, log: logging.Logger, *, limit: int = 50_000) -> int:
    """One batch run; 0 when it ran to the end (whatever it found), 1 when it could not."""
    registry = CollectorRegistry()  # only the job's metrics are pushed, not this process' own
    jobs = Jobs(items="orders", done="archived", metrics=Metrics(registry=registry))
    push = Pushgateway(pushgateway, job="archiver") if pushgateway else None
    handled: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
    with jobs.run("archiver", push=push) as run:
        try:
            conn = connect(database, "archiver-batch")
        except psycopg.OperationalError as exc:
            log.error("❌ Failed to connect to PostgreSQL: %s", " ".join(str(exc).split())[:200])
            run.fail()
            return 1
        with conn:
            log.info("✅ Connected to database")
            ids = [row[0] for row in conn.execute(SELECT, (limit,)).fetchall()]
            log.info("📦 Found %d delivered orders", len(ids))
            count = {
                Outcome.ARCHIVED: run.done,
                Outcome.DUPLICATE: run.duplicates,
                Outcome.INCOMPLETE: run.incomplete,
                Outcome.ERROR: run.errors,
            }
            for n, order_id in enumerate(ids, 1):
                outcome = archive_order(conn, order_id, "batch", log)
                handled[outcome] += 1
                if outcome in count:  # one the watcher took meanwhile is its to count, as it does
                    run.found()
                    count[outcome]()
                if n % 100 == 0:
                    log.info("📊 Progress: %d/%d processed", n, len(ids))
        log.info("✅ Archived %d orders", handled[Outcome.ARCHIVED])
        log.info(
            "📊 Progress: %d/%d processed (%d duplicates, %d incomplete, %d errors, %d taken by the watcher)",
            len(ids), len(ids), handled[Outcome.DUPLICATE], handled[Outcome.INCOMPLETE],
            handled[Outcome.ERROR],
            handled[Outcome.GONE],
        )  # fmt: skip
    return 0


def cron(argv: Sequence[str], every: float, log: logging.Logger) -> int:
    """Start ``argv`` (a batch run) on every tick of ``every`` seconds, as cron does, until killed.

    Ticks are fixed on the clock; a run still going at a tick makes it skip that tick (cron with a
    lock, as one should run a batch that must not overlap), so a run never covers less than one
    period and two runs never overlap.
    """
    import signal
    import threading

    stop = threading.Event()
    on_signals(stop.set, (signal.SIGTERM, signal.SIGINT))
    log.info("⏰ Batch runs every %.0f s: %s", every, " ".join(argv))
    started = time.monotonic()
    while not stop.is_set():
        proc = subprocess.Popen([sys.executable, *argv])
        while proc.poll() is None:
            if stop.wait(0.2):
                proc.terminate()
                proc.wait(30)
                return 0
        ticks = (time.monotonic() - started) // every + 1  # the next tick not yet passed
        stop.wait(max(0.0, started + ticks * every - time.monotonic()))
    return 0
