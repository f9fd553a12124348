"""The fault injector: each fault is applied while this runs and undone on SIGTERM or Ctrl-C.

``python -m examples.order_archiver.faults NAME --db DB --state-dir DIR --log-dir DIR``:

=====================  ===================================================================================
watch-killed           ``kill -9`` of the watch process (one shot: the remediator must bring it back)
watch-hung             ``SIGSTOP`` of the watch process (it hangs: answers no scrape) until undone
connections-dropped    the database drops the watcher's connections every half second (a failing link)
slow-archive           every archive insert of the watcher takes a second (a slow disk, a lock storm)
slow-batch             every archive insert of the batch takes 0.2 s more (a run of 40 orders: 0.3 s -> 8 s)
addresses-missing      the address service is down: new orders come without an address (web and imports)
partner-replay         the partner re-sends orders already archived, 40 % of its imports
unknown-clients        the partner sends orders for clients that do not exist (enrichment fails)
logs-full              a debug session left 3 rotated log files of ``--megabytes`` MB each in logs/
=====================  ===================================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .._faults import run, suspended, until_stopped
from .store import connect, dsn
from .traffic import new_order

__all__ = ["FAULTS", "main"]


def _watch_pid(state_dir: Path) -> int:
    return int((state_dir / "watch.pid").read_text(encoding="utf-8").strip())


def watch_killed(args: argparse.Namespace) -> None:
    pid = _watch_pid(args.state_dir)
    os.kill(pid, signal.SIGKILL)
    print(f"killed the watch process {pid}", flush=True)


def watch_hung(args: argparse.Namespace) -> None:
    suspended(_watch_pid(args.state_dir), "the watch process")


def connections_dropped(args: argparse.Namespace) -> None:
    with connect(args.dsn, "fault-injector") as conn:

        def drop() -> None:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'archiver-watch'"
            )

        until_stopped(0.5, drop)


def _slow_inserts(args: argparse.Namespace, application: str, seconds: float) -> None:
    name = f"slow_{application.replace('-', '_')}"
    with connect(args.dsn, "fault-injector") as conn:
        conn.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF current_setting('application_name') = '{application}' "
            f"THEN PERFORM pg_sleep({seconds}); END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(f"DROP TRIGGER IF EXISTS {name} ON historique")
        conn.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT ON historique FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
        print(f"archive inserts of {application} now take {seconds} s more", flush=True)
        try:
            until_stopped()
        finally:
            conn.execute(f"DROP TRIGGER IF EXISTS {name} ON historique")
            conn.execute(f"DROP FUNCTION IF EXISTS {name}()")


def slow_archive(args: argparse.Namespace) -> None:
    _slow_inserts(args, "archiver-watch", 1.0)


def slow_batch(args: argparse.Namespace) -> None:
    # 0.2 s an order: a run of 40 takes 8 s, twice the fast profile's ArchiverJobSlow (4 s) and baseline
    # floor, where a run slowed by a loaded CPU or a lock took 2.3 s at most (0.2-0.6 s usually)
    _slow_inserts(args, "archiver-batch", 0.2)


def _bad_imports(args: argparse.Namespace, make: Callable[..., None], share: float = 0.4) -> None:
    """Extra partner imports, ``share`` of them bad, at 6 orders a second."""
    token = f"F{int(time.time()) % 10**6:06d}-"
    with connect(args.dsn, "fault-injector") as conn:
        count = iter(range(1, 10**9))

        def burst() -> None:
            for _ in range(3):
                n = next(count)
                if (n % 10) < share * 10:
                    make(conn, n, token)
                else:
                    new_order(conn, n, status="livrée", source="import", token=token)

        until_stopped(0.5, burst)


def addresses_missing(args: argparse.Namespace) -> None:
    """40 % of extra imports and 60 % of extra web orders (delivered at once) without an address."""
    token = f"A{int(time.time()) % 10**6:06d}-"
    with connect(args.dsn, "fault-injector") as conn:
        count = iter(range(1, 10**9))

        def burst() -> None:
            for _ in range(3):
                n = next(count)
                new_order(conn, n, status="livrée", source="import", token=token, complete=n % 10 >= 4)
            for _ in range(2):
                n = next(count)
                order_id = new_order(
                    conn, n, status="en_cours", source="web", token=token, complete=n % 10 >= 6
                )
                conn.execute("UPDATE commande SET status = 'livrée' WHERE id = %s", (order_id,))

        until_stopped(0.5, burst)


def partner_replay(args: argparse.Namespace) -> None:
    def replay(conn: object, n: int, token: str) -> None:
        row = conn.execute("SELECT numero FROM historique ORDER BY random() LIMIT 1").fetchone()  # type: ignore[attr-defined]
        new_order(conn, n, status="livrée", source="import", token=token, numero=row[0] if row else None)  # type: ignore[arg-type]

    _bad_imports(args, replay, share=0.8)


def unknown_clients(args: argparse.Namespace) -> None:
    _bad_imports(args, lambda conn, n, token: new_order(
        conn, n, status="livrée", source="import", token=token, client_id=900_000 + n),
        share=0.3)  # fmt: skip


def logs_full(args: argparse.Namespace) -> None:
    line = "2025-10-16 12:34:56 [DEBUG] [watch_archiver] 🔍 " + "x" * 200 + "\n"
    files = [args.log_dir / f"debug_archiver.log.{n}" for n in (1, 2, 3)]
    block = line * (1_000_000 // len(line) + 1)
    for path in files:
        with path.open("w", encoding="utf-8") as out:
            for _ in range(args.megabytes):
                out.write(block)
    print(f"wrote {len(files)} x {args.megabytes} MB into {args.log_dir}", flush=True)
    try:
        until_stopped()
    finally:
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


FAULTS: dict[str, Callable[[argparse.Namespace], None]] = {
    "watch-killed": watch_killed,
    "watch-hung": watch_hung,
    "connections-dropped": connections_dropped,
    "slow-archive": slow_archive,
    "slow-batch": slow_batch,
    "addresses-missing": addresses_missing,
    "partner-replay": partner_replay,
    "unknown-clients": unknown_clients,
    "logs-full": logs_full,
}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, help="the database name")
    parser.add_argument("--state-dir", type=Path, default=Path("state"))
    parser.add_argument("--log-dir", type=Path, default=Path("logs"))
    parser.add_argument("--megabytes", type=int, default=9, help="logs-full: size of each file")


def _prepare(args: argparse.Namespace) -> None:
    args.dsn = dsn(args.db)


def main(argv: list[str] | None = None) -> int:
    return run(
        FAULTS, "python -m examples.order_archiver.faults", __doc__, argv, options=_options, prepare=_prepare
    )


if __name__ == "__main__":
    sys.exit(main())
