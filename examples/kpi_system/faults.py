"""The fault injector: each fault is applied while this runs and undone on SIGTERM or Ctrl-C.

``python -m examples.kpi_system.faults NAME --schema S --keys FILE --api HOST:PORT --state-dir DIR``:

===================  ====================================================================================
bad-data             a partner feed for ``coral`` where 3 records in 4 are broken (negative, text, unknown
                     metric, bad date): the ETL's quality score falls under 70
store-failing        the KPI table refuses ``aurora``'s rows (a trigger raising, as a broken migration
                     would): every ETL batch of it fails and is retried
metric-spikes        ``blaze``'s revenue reported at 20 times its usual level, twice a second
connection-flood     1,100 WebSocket viewers connect at once and stay
ws-drops             mobile clients vanish without a close frame (TCP dropped), 12 a second
api-abuse            a scraper with a valid key hammers ``/api/insights`` at ~40 requests a second
key-guessing         someone tries random API keys, 3 a second
intrusion            a leaked key used for SQL injection and path traversal probes, twice a second
analytics-hung       the analytics worker stops answering (``SIGSTOP`` until undone)
api-hung             the API stops answering (``SIGSTOP`` until undone)
===================  ====================================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import resource
import secrets
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import websockets

from .._faults import Fault, run, stop, suspended, until_stopped
from .catalogue import BASELINES
from .store import connect
from .traffic import records

__all__ = ["FAULTS", "main"]


def _client(args: argparse.Namespace, client: str | None) -> httpx.Client:
    from .__main__ import read_key

    headers = {"X-API-Key": read_key(args.keys, client)} if client else {}
    return httpx.Client(base_url=f"http://{args.api}", headers=headers, timeout=5)


def _post(http: httpx.Client, model: str, batch: list[dict[str, object]]) -> None:
    with contextlib.suppress(httpx.HTTPError):
        http.post("/api/records", json={"model_name": model, "records": batch})


def bad_data(args: argparse.Namespace) -> None:
    rng, count = random.Random(2), itertools.count(1)
    broken: list[Callable[[dict[str, object]], None]] = [
        lambda r: r.update(value=-abs(float(r["value"]))),  # type: ignore[arg-type]
        lambda r: r.update(value=f"{r['value']} EUR"),
        lambda r: r.update(metric="revenu"),
        lambda r: r.update(period="31/12/2025"),
    ]
    with _client(args, "partner") as http:

        def burst() -> None:
            batch = records("coral", rng, count)
            for i, record in enumerate(batch):
                if i % 4:
                    broken[i % len(broken)](record)
            _post(http, "coral", batch)

        until_stopped(1 / 3, burst)


def store_failing(args: argparse.Namespace) -> None:
    with connect(args.schema, "kpi-fault") as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION kpi_refuse_aurora() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.model_name = 'aurora' THEN RAISE EXCEPTION "
            '\'column "currency" of relation "kpi_record" does not exist (migration 0042 half applied)\'; '
            "END IF; RETURN NEW; END $$"
        )
        conn.execute("DROP TRIGGER IF EXISTS kpi_refuse_aurora ON kpi_record")
        conn.execute(
            "CREATE TRIGGER kpi_refuse_aurora BEFORE INSERT ON kpi_record "
            "FOR EACH ROW EXECUTE FUNCTION kpi_refuse_aurora()"
        )
        print("kpi_record refuses aurora's rows", flush=True)
        try:
            until_stopped(0.5)
        finally:
            conn.execute("DROP TRIGGER IF EXISTS kpi_refuse_aurora ON kpi_record")
            conn.execute("DROP FUNCTION IF EXISTS kpi_refuse_aurora()")


def metric_spikes(args: argparse.Namespace) -> None:
    base = BASELINES["blaze"]["revenue"]
    rng = random.Random(3)
    with _client(args, "partner") as http:

        def spike() -> None:
            period = datetime.now(UTC).replace(microsecond=0).isoformat()
            batch = [{"metric": "revenue", "value": round(base * rng.uniform(19, 21), 2), "period": period}]
            _post(http, "blaze", batch)

        until_stopped(0.5, spike)


def _ws_url(args: argparse.Namespace, client: str) -> str:
    from .__main__ import read_key

    return f"ws://{args.api}/ws?key={read_key(args.keys, client)}"


async def _flood(url: str, count: int) -> None:
    opened: list[websockets.ClientConnection] = []
    gate = asyncio.Semaphore(50)

    async def one() -> None:
        async with gate:
            with contextlib.suppress(OSError, websockets.WebSocketException, TimeoutError):
                opened.append(await websockets.connect(url, open_timeout=20, ping_interval=None))

    await asyncio.gather(*(one() for _ in range(count)))
    print(f"{len(opened)} WebSocket connections open", flush=True)
    await asyncio.to_thread(stop.wait)
    await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


def connection_flood(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_flood(_ws_url(args, "dashboard"), args.connections))


async def _drops(url: str) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError, websockets.WebSocketException, TimeoutError):
            ws = await websockets.connect(url, open_timeout=5, ping_interval=None)
            await ws.send(json.dumps({"action": "subscribe"}))
            await asyncio.sleep(0.05)
            sock = ws.transport.get_extra_info("socket")
            if sock is not None:  # RST, no close frame: what a phone leaving coverage looks like
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            ws.transport.abort()
        await asyncio.sleep(1 / 12)


def ws_drops(args: argparse.Namespace) -> None:
    asyncio.run(_drops(_ws_url(args, "dashboard")))


def api_abuse(args: argparse.Namespace) -> None:
    with _client(args, "scraper") as http:

        def hammer() -> None:
            for _ in range(8):
                with contextlib.suppress(httpx.HTTPError):
                    http.get("/api/insights")

        until_stopped(0.2, hammer)


def key_guessing(args: argparse.Namespace) -> None:
    with _client(args, None) as http:

        def guess() -> None:
            with contextlib.suppress(httpx.HTTPError):
                http.get("/api/insights", headers={"X-API-Key": secrets.token_urlsafe(24)})

        until_stopped(1 / 3, guess)


def intrusion(args: argparse.Namespace) -> None:
    probes = itertools.cycle([
        ("/api/models/aurora/kpis", {"metric": "revenue' OR 1=1 --"}),
        ("/api/models/aurora/kpis", {"metric": "revenue'; DROP TABLE kpi_record; --"}),
        ("/api/models/..%2F..%2Fetc%2Fpasswd/kpis", {}),
        ("/api/insights", {"q": "<script>alert(1)</script>"}),
    ])  # fmt: skip
    with _client(args, "intruder") as http:

        def probe() -> None:
            path, params = next(probes)
            with contextlib.suppress(httpx.HTTPError):
                http.get(path, params=params)

        until_stopped(0.5, probe)


def _hang(args: argparse.Namespace, process: str) -> None:
    pid = int((args.state_dir / f"{process}.pid").read_text(encoding="utf-8").strip())
    suspended(pid, f"the {process} process")


FAULTS: dict[str, Fault] = {
    "bad-data": bad_data,
    "store-failing": store_failing,
    "metric-spikes": metric_spikes,
    "connection-flood": connection_flood,
    "ws-drops": ws_drops,
    "api-abuse": api_abuse,
    "key-guessing": key_guessing,
    "intrusion": intrusion,
    "analytics-hung": lambda args: _hang(args, "analytics"),
    "api-hung": lambda args: _hang(args, "api"),
}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", default="tocsin_kpi_system")
    parser.add_argument("--keys", type=Path, default=Path("secrets/api-keys"))
    parser.add_argument("--api", default="127.0.0.1:8041", help="the API's host:port")
    parser.add_argument("--state-dir", type=Path, default=Path("state"))
    parser.add_argument("--connections", type=int, default=1100, help="connection-flood: how many")


def main(argv: list[str] | None = None) -> int:
    return run(FAULTS, "python -m examples.kpi_system.faults", __doc__, argv, options=_options)


if __name__ == "__main__":
    sys.exit(main())
