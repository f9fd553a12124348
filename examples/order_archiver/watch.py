"""Watch mode: follow the orders' change feed and archive each order as it is delivered.

The seed's ``Mode Watch (Change Streams)``: a MongoDB change stream on ``Commande`` filtered on
status updates to ``livrée``. Here the feed is ``commande_events`` (:mod:`.store`): events after the
saved resume token are read in id order, those that set ``status = 'livrée'`` are archived
(:mod:`.archiver`), and the token is saved (atomically, to ``<state>/resume_token.json``) as it
advances and at least once a minute, so a restart resumes where the last run stopped. NOTIFY wakes
the loop; an idle second still beats the heart.

Metrics (``serve()``: ``/metrics`` and ``/health`` on one port): the stream pack under the seed's
``change_stream_`` names (lag, processing time, events, connection errors, token age, uptime,
heartbeat) and the jobs pack's item counters with ``job_name="watch"`` (found, archived,
duplicates, incomplete, errors), plus the process' CPU and memory.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from tocsin.sdk import metrics
from tocsin.sdk.health import Health, checks
from tocsin.sdk.packs import JobRun, Jobs, Stream, serve
from tocsin.signals import on_signals

from .archiver import Outcome, archive_order
from .store import CHANNEL, connect, load_token, save_token

__all__ = ["Watcher", "main"]

#: seconds between two "✅ Archived N orders" summaries, and at most between two token saves
SUMMARY_EVERY = 10.0
TOKEN_EVERY = 60.0
BATCH = 200


def _brief(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


class Watcher:
    """The watch loop (``run()`` until ``stop()``), its metrics and its resume token."""

    def __init__(
        self, database: str, state_dir: Path, log: logging.Logger, *, application: str = "archiver-watch"
    ):
        self.database = database
        self.token_path = state_dir / "resume_token.json"
        self.log = log
        self.application = application
        self.stream = Stream(namespace="change_stream")
        self.jobs = Jobs(items="orders", done="archived")
        self.run_counts: JobRun = self.jobs.run("watch")
        self.stopping = threading.Event()
        self.connected = False
        self.last_event: int | None = None
        self._saved_at = 0.0
        self._saved_token: int | None = None
        self._summary_at = time.monotonic()
        self._since_summary: dict[str, int] = {o.value: 0 for o in Outcome}

    # --- resume token -----------------------------------------------------------------------------

    def load_token(self) -> None:
        try:
            self.last_event = load_token(self.token_path)
        except ValueError as exc:
            self.log.warning(
                "⚠️  Could not load resume token: %s; following from the current end of the feed", exc
            )
            self.last_event = None

    def save_token(self, *, force: bool = False) -> None:
        if self.last_event is None:
            return
        now = time.monotonic()
        if not force and self.last_event == self._saved_token and now - self._saved_at < TOKEN_EVERY:
            return
        try:
            save_token(self.token_path, self.last_event)
        except OSError as exc:
            self.log.warning("⚠️  Could not save resume token: %s", exc.strerror)
            return
        self._saved_token, self._saved_at = self.last_event, now
        self.stream.resume_token_saved()

    # --- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        self.load_token()
        backoff = 0.5
        with self.run_counts:
            while not self.stopping.is_set():
                try:
                    conn = connect(self.database, self.application)
                except psycopg.OperationalError as exc:
                    self.log.error("❌ Failed to connect to PostgreSQL: %s", _brief(exc))
                    self.stream.connection_error()
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.5
                try:
                    self._follow(conn)
                except psycopg.Error as exc:
                    self.connected = False
                    self.log.error("❌ Change Stream error: %s", _brief(exc))
                    self.stream.connection_error()
                    self.stopping.wait(backoff)
                finally:
                    self.connected = False
                    conn.close()
            self.save_token(force=True)
        self.log.info("🛑 Watch stopped after event %s", self.last_event)

    def _follow(self, conn: psycopg.Connection[Any]) -> None:
        self.log.info("✅ Connected to database")
        conn.execute(f"LISTEN {CHANNEL}")
        if self.last_event is None:
            row = conn.execute("SELECT coalesce(max(id), 0) FROM commande_events").fetchone()
            self.last_event = int(row[0]) if row else 0
            self.log.info("ℹ️  No resume token: following from event %s", self.last_event)
        self.log.info("✅ Change Stream opened successfully (resuming after event %s)", self.last_event)
        self.connected = True
        self.stream.connected()
        while not self.stopping.is_set():
            events = conn.execute(
                "SELECT id, commande_id, operation, status, at FROM commande_events "
                "WHERE id > %s ORDER BY id LIMIT %s",
                (self.last_event, BATCH),
            ).fetchall()
            for event_id, order_id, operation, status, at in events:
                if operation == "update" and status == "livrée":  # the change stream's $match
                    self._handle(conn, order_id, at)
                self.last_event = event_id
                if self.stopping.is_set():
                    break
            self.save_token()
            self._summary()
            if len(events) < BATCH:
                for _ in conn.notifies(timeout=1.0, stop_after=1):
                    pass
                self.stream.heartbeat()

    def _handle(self, conn: psycopg.Connection[Any], order_id: int, at: Any) -> None:
        with self.stream.processing(event_time=at):
            outcome = archive_order(conn, order_id, "watch", self.log)
        if outcome is Outcome.GONE:
            return
        counts = self.run_counts
        counts.found()
        {
            Outcome.ARCHIVED: counts.done,
            Outcome.DUPLICATE: counts.duplicates,
            Outcome.INCOMPLETE: counts.incomplete,
            Outcome.ERROR: counts.errors,
        }[outcome]()
        if outcome is Outcome.ARCHIVED:
            self.stream.archived()
        self._since_summary[outcome.value] += 1

    def _summary(self) -> None:
        now = time.monotonic()
        if now - self._summary_at < SUMMARY_EVERY:
            return
        done = self._since_summary
        handled = sum(done.values())
        if handled:
            self.log.info("✅ Archived %d orders", done[Outcome.ARCHIVED.value])
            self.log.info(
                "📊 Progress: %d/%d processed (%d duplicates, %d incomplete, %d errors)",
                handled, handled, done["duplicates"], done["incomplete"], done["errors"],
            )  # fmt: skip
        self._since_summary = {o.value: 0 for o in Outcome}
        self._summary_at = now

    def stop(self) -> None:
        self.stopping.set()


def main(database: str, port: int, log: logging.Logger, state_dir: Path) -> int:
    """Run the watcher with its /metrics and /health on ``port`` until SIGTERM or SIGINT."""
    metrics.configure(app="order-archiver", version="1.0.0", environment="demo")
    watcher = Watcher(database, state_dir, log)
    health = Health(
        ready=[
            checks.sql("database", database, timeout=2),
            checks.custom("change_stream", lambda: watcher.connected),
        ],
    )
    server = serve(port, health=health)
    on_signals(watcher.stop, (signal.SIGTERM, signal.SIGINT))
    log.info("🚀 Watch mode: metrics on %s, health on %s", server.url, server.health_url)
    try:
        watcher.run()
    finally:
        server.close()
    return 0
