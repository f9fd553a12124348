"""The fault injector: each fault is applied while this runs and undone on SIGTERM or Ctrl-C.

``python -m examples.coaching_ai.faults NAME --db DB [--llm URL] [--django URL] [--ai-port N]``:

==================  =======================================================================================
openai-slow         the OpenAI API answers 4 s later than usual (an upstream incident)
openai-quota        every OpenAI call is refused with 429 (the account's quota is exhausted)
token-spike         answers 400 times longer (a prompt change made the model verbose): tokens and cost soar
auth-burst          a brute-force run: forged, expired and missing JWTs, wrong passwords and SQL injection
                    in the username, 6 tries/s from 20 addresses of 203.0.113.0/24
botched-migration   a migration renamed ``coach_workout`` (the code still uses the old name): Django 500s
db-lock             a reporting job locks ``coach_workout`` for 3 s out of every 3.3 s
rag-slow            a re-indexing job locks ``rag_passage`` for 2 s out of every 2.2 s (slow retrievals)
fastapi-frozen      the AI service's process is stopped (SIGSTOP): it answers nothing, scrapes included
==================  =======================================================================================
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import psutil

from .._faults import run, stop, suspended, until_stopped
from .store import connect, dsn

__all__ = ["FAULTS", "main"]


@contextlib.contextmanager
def _llm_behaviour(args: argparse.Namespace, **changes: Any) -> Iterator[None]:
    control = f"{args.llm.rstrip('/').removesuffix('/v1')}/_control"
    httpx.put(control, json=changes, timeout=5).raise_for_status()
    print(f"OpenAI test server: {changes}", flush=True)
    try:
        yield
    finally:
        httpx.delete(control, timeout=5).raise_for_status()


def openai_slow(args: argparse.Namespace) -> None:
    with _llm_behaviour(args, latency=4.0):
        until_stopped()


def openai_quota(args: argparse.Namespace) -> None:
    with _llm_behaviour(args, error_rate=1.0, error_status=429):
        until_stopped()


def token_spike(args: argparse.Namespace) -> None:
    with _llm_behaviour(args, completion_factor=400):
        until_stopped()


def _forged() -> Iterator[tuple[str, dict[str, str] | None]]:
    """(what, headers): the kinds of bad credentials a brute-force run tries, in turn."""
    now = datetime.now(UTC)
    claims = {"sub": "athlete01", "uid": 1, "iss": "coaching-django", "exp": now + timedelta(hours=1)}
    wrong_key = jwt.encode(claims, "a-guessed-signing-key-of-32-bytes!", algorithm="HS256")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256"}).encode()).decode().rstrip("=")
    expired = f"{header}.eyJzdWIiOiJhdGhsZXRlMDEiLCJleHAiOjE2MDAwMDAwMDB9.c2lnbmF0dXJl"
    yield from itertools.cycle([
        ("forged", {"Authorization": f"Bearer {wrong_key}"}),
        ("garbage", {"Authorization": "Bearer not.a.jwt"}),
        ("expired-looking", {"Authorization": f"Bearer {expired}"}),
        ("none", None),
        ("password", None),
        ("password", None),
    ])  # fmt: skip


def auth_burst(args: argparse.Namespace) -> None:
    client = httpx.Client(base_url=args.django, timeout=5)
    tries = _forged()
    counter = itertools.count()

    def one() -> None:
        n = next(counter)
        what, headers = next(tries)
        source = {"X-Forwarded-For": f"203.0.113.{10 + n % 20}"}
        with contextlib.suppress(httpx.HTTPError):
            if what == "password":
                user = "admin' OR 1=1 --" if n % 4 == 0 else f"athlete{n % 20 + 1:02d}"
                client.post(
                    "/api/v1/auth/token", json={"username": user, "password": f"guess{n}"}, headers=source
                )
            else:
                client.get("/api/v1/profile", headers={**source, **(headers or {})})

    with ThreadPoolExecutor(4) as pool:
        until_stopped(1 / 6, lambda: pool.submit(one))


def botched_migration(args: argparse.Namespace) -> None:
    with connect(args.dsn, "coaching-migration") as conn:
        conn.execute("ALTER TABLE coach_workout RENAME TO coach_workout_v2")
        print("renamed coach_workout to coach_workout_v2", flush=True)
        try:
            until_stopped()
        finally:
            conn.execute("ALTER TABLE coach_workout_v2 RENAME TO coach_workout")


def _lock_cycles(args: argparse.Namespace, table: str, hold: float, free: float) -> None:
    with connect(args.dsn, f"coaching-lock-{table}", autocommit=False) as conn:
        print(f"locking {table} for {hold} s every {hold + free} s", flush=True)
        while not stop.is_set():
            conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            stop.wait(hold)
            conn.rollback()
            stop.wait(free)


def db_lock(args: argparse.Namespace) -> None:
    _lock_cycles(args, "coach_workout", 3.0, 0.3)


def rag_slow(args: argparse.Namespace) -> None:
    _lock_cycles(args, "rag_passage", 2.0, 0.2)


def _listening(port: int) -> int:
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return int(conn.pid)
    raise SystemExit(f"no process listens on 127.0.0.1:{port}")


def fastapi_frozen(args: argparse.Namespace) -> None:
    suspended(_listening(args.ai_port), "the AI service")


FAULTS: dict[str, Callable[[argparse.Namespace], None]] = {
    "openai-slow": openai_slow,
    "openai-quota": openai_quota,
    "token-spike": token_spike,
    "auth-burst": auth_burst,
    "botched-migration": botched_migration,
    "db-lock": db_lock,
    "rag-slow": rag_slow,
    "fastapi-frozen": fastapi_frozen,
}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default="tocsin_coaching_ai", help="the database name")
    parser.add_argument("--llm", default="http://127.0.0.1:8090/v1", help="the OpenAI test server")
    parser.add_argument("--django", default="http://127.0.0.1:8002", help="the Django API")
    parser.add_argument("--ai-port", type=int, default=8000, help="the AI service's port")


def _prepare(args: argparse.Namespace) -> None:
    args.dsn = dsn(args.db)


def main(argv: list[str] | None = None) -> int:
    return run(
        FAULTS, "python -m examples.coaching_ai.faults", __doc__, argv, options=_options, prepare=_prepare
    )


if __name__ == "__main__":
    sys.exit(main())
