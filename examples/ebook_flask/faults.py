"""The fault injector: each fault is applied while this runs and undone on SIGTERM or Ctrl-C.

``python -m examples.ebook_flask.faults NAME --db DB [--port PORT] [--redis-user U --prefix P]``:

==================  ===================================================================================
corrupt-manifests   a scene re-pack job wrote truncated manifests for four popular books (and dropped
                    their cache entries): every read of one raises, a 500
db-slow             every write of a reading position waits 1.2 s in the database (a lock storm, a
                    saturated disk)
db-very-slow        the same, 2.2 s
db-down             the database refuses every connection (``ALLOW_CONNECTIONS false``, the open ones
                    closed): as after a failover to a replica that is not promoted yet
redis-down          the app's Redis user is switched off (its connections closed, new ones refused):
                    the cache is gone, the app falls back to the database
credential-stuffing a bot tries leaked username/password pairs on /login, three a second
frontend-errors     a broken release of reader.js: every reader page the browsers open throws, and
                    their beacons report it (two reports a second)
volume-full         a data volume of the host (a 32 MB ext4 the fault loop-mounts at ``--volume``) fills
                    to 95 %: an export job that never cleans up (needs root, for the mount)
workers-hung        every gunicorn worker hangs (``SIGSTOP``: a deadlock); undone as an operator
                    would, by killing them (``SIGKILL``): the master starts fresh ones
==================  ===================================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from .._faults import run, until_stopped
from .store import dsn, libpq_connect, redis_acl_set_enabled, set_connections_allowed

__all__ = ["FAULTS", "main"]

#: four of the 20 books the traffic reads most (traffic.POPULAR, 85 % of the reads): some 14 % of
#: the book reads fail, well over 10 a minute, while the cache still answers most of the others
BROKEN = range(1, 5)


def corrupt_manifests(args: argparse.Namespace) -> None:
    import redis

    host, _, port = args.redis.rpartition(":")
    admin = redis.Redis(host=host, port=int(port), socket_timeout=5)
    with libpq_connect(args.url) as conn:
        saved = conn.execute("SELECT id, manifest FROM books WHERE id = ANY(%s)", (list(BROKEN),)).fetchall()
        conn.execute("UPDATE books SET manifest = left(manifest, 40) WHERE id = ANY(%s)", (list(BROKEN),))
        admin.delete(*(f"{args.prefix}:book:{n}" for n in BROKEN))
        print(f"truncated the manifests of books {BROKEN.start}-{BROKEN.stop - 1}", flush=True)
        try:
            until_stopped()
        finally:
            with conn.transaction():
                for book_id, manifest in saved:
                    conn.execute("UPDATE books SET manifest = %s WHERE id = %s", (manifest, book_id))


def _slow_progress(args: argparse.Namespace, seconds: float) -> None:
    with libpq_connect(args.url) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION fault_slow_progress() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_sleep({seconds}); RETURN NEW; END $$"
        )
        conn.execute("DROP TRIGGER IF EXISTS fault_slow_progress ON reading_progress")
        conn.execute(
            "CREATE TRIGGER fault_slow_progress BEFORE INSERT ON reading_progress "
            "FOR EACH ROW EXECUTE FUNCTION fault_slow_progress()"
        )
        print(f"every reading-position write now waits {seconds} s", flush=True)
        try:
            until_stopped()
        finally:
            conn.execute("DROP TRIGGER IF EXISTS fault_slow_progress ON reading_progress")
            conn.execute("DROP FUNCTION IF EXISTS fault_slow_progress()")


def db_slow(args: argparse.Namespace) -> None:
    _slow_progress(args, 1.2)


def db_very_slow(args: argparse.Namespace) -> None:
    _slow_progress(args, 2.2)


def db_down(args: argparse.Namespace) -> None:
    set_connections_allowed(args.url, False)
    print(f"database {args.db} refuses connections", flush=True)
    try:
        until_stopped()
    finally:
        set_connections_allowed(args.url, True)


def redis_down(args: argparse.Namespace) -> None:
    host, _, port = args.redis.rpartition(":")
    redis_acl_set_enabled(host, int(port), args.redis_user, False)
    print(f"Redis user {args.redis_user} switched off", flush=True)
    try:
        until_stopped()
    finally:
        redis_acl_set_enabled(host, int(port), args.redis_user, True)


def credential_stuffing(args: argparse.Namespace) -> None:
    rng = random.Random()
    with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=10) as client:

        def attempt() -> None:
            for _ in range(3):
                # a leaked list from another site: mostly names this app never had
                name = f"reader{rng.randint(1, 50)}" if rng.random() < 0.1 else f"user{rng.randint(1, 10**6)}"
                try:
                    client.post("/login", json={"username": name, "password": f"hunter{rng.randint(1, 99)}"})
                except httpx.HTTPError:
                    pass

        until_stopped(1.0, attempt)


def frontend_errors(args: argparse.Namespace) -> None:
    rng = random.Random()
    with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=10) as client:

        def report() -> None:
            body = {"page": f"/books/{rng.randint(1, 200)}", "fcp": rng.uniform(0.2, 0.6), "errors": 1,
                    "api": []}  # fmt: skip
            try:
                client.post("/_tocsin/rum", content=json.dumps(body), headers={"Content-Type": "text/plain"})
            except httpx.HTTPError:
                pass

        until_stopped(0.5, report)


def volume_full(args: argparse.Namespace) -> None:
    volume: Path = args.volume.resolve()
    image = volume.with_name(volume.name + ".img")
    volume.mkdir(parents=True, exist_ok=True)
    subprocess.run(["truncate", "-s", "32M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True)
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(volume)], capture_output=True, text=True)
    if mounted.returncode != 0:
        image.unlink()
        raise SystemExit(f"volume-full: cannot mount {image}: {mounted.stderr.strip()} (needs root)")
    try:
        free = shutil.disk_usage(volume).free
        with (volume / "export.bin").open("wb") as out:  # leave 5 % of the volume free
            out.write(b"\0" * (free - shutil.disk_usage(volume).total // 20))
            out.flush()
            os.fsync(out.fileno())
        usage = shutil.disk_usage(volume)
        print(f"{volume}: {usage.free / usage.total:.0%} free", flush=True)
        until_stopped()
    finally:
        subprocess.run(["umount", str(volume)], check=False)
        image.unlink(missing_ok=True)


def workers_hung(args: argparse.Namespace) -> None:
    import psutil

    master = psutil.Process(int((args.state_dir / "gunicorn.pid").read_text(encoding="utf-8").strip()))
    workers = master.children()
    for worker in workers:
        worker.suspend()
    print(f"gunicorn workers {', '.join(str(w.pid) for w in workers)} hung (SIGSTOP)", flush=True)
    try:
        until_stopped()
    finally:
        # not SIGCONT: the requests they hold would finish with the hang's seconds in their duration;
        # killed, they are never recorded, and the master's child_exit folds their metrics files
        for worker in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()


FAULTS: dict[str, Callable[[argparse.Namespace], None]] = {
    "corrupt-manifests": corrupt_manifests,
    "db-slow": db_slow,
    "db-very-slow": db_very_slow,
    "db-down": db_down,
    "redis-down": redis_down,
    "credential-stuffing": credential_stuffing,
    "frontend-errors": frontend_errors,
    "volume-full": volume_full,
    "workers-hung": workers_hung,
}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default="tocsin_ebook_flask", help="the database name")
    parser.add_argument("--port", type=int, default=5000, help="the app's port")
    parser.add_argument("--redis", default="127.0.0.1:6379")
    parser.add_argument("--redis-user", default="tocsin_ebook")
    parser.add_argument("--prefix", default="ebook")
    parser.add_argument("--state-dir", type=Path, default=Path("state"), help="serve's (gunicorn.pid)")
    parser.add_argument("--volume", type=Path, default=Path("state/volume"), help="volume-full's mount point")


def _prepare(args: argparse.Namespace) -> None:
    args.url = dsn(args.db)


def main(argv: list[str] | None = None) -> int:
    return run(
        FAULTS, "python -m examples.ebook_flask.faults", __doc__, argv, options=_options, prepare=_prepare
    )


if __name__ == "__main__":
    sys.exit(main())
