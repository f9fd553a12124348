"""Steady traffic: each model posts its KPIs every second, dashboards follow them over WebSocket.

- ingestion: one ``POST /api/records`` per model a second (``--rate`` in all), 8 records each (every
  metric twice), values uniformly within ±10 % of the model's baseline (:mod:`.catalogue`): real
  numbers that no detection method flags; one record in 40 misses its value (the background of
  bad data a real feed has), so a batch's quality stays between 87.5 and 100;
- reads: a model's latest KPIs and the insights every couple of seconds, as a dashboard does;
- ``--dashboards`` WebSocket clients subscribed to every model, reading events, reconnecting
  after a lost connection.

Well under the API's rate limit per key; the generator is seeded, so every run sends the same values.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import signal
from datetime import UTC, datetime

import httpx
import websockets

from .catalogue import BASELINES, METRICS, MODELS, NOISE

__all__ = ["main", "records"]

RECORDS_PER_REQUEST = 8
INVALID_EVERY = 40


def records(
    model: str, rng: random.Random, count: itertools.count[int], n: int = RECORDS_PER_REQUEST
) -> list[dict[str, object]]:
    """``n`` normal records of ``model`` (every metric in turn), one in ``INVALID_EVERY`` without a value."""
    out: list[dict[str, object]] = []
    period = datetime.now(UTC).replace(microsecond=0).isoformat()
    for i in range(n):
        metric = METRICS[i % len(METRICS)]
        value = round(BASELINES[model][metric] * (1 + rng.uniform(-NOISE, NOISE)), 6)
        record: dict[str, object] = {"metric": metric, "value": value, "period": period}
        if next(count) % INVALID_EVERY == 0:
            del record["value"]
        out.append(record)
    return out


async def _ingest(client: httpx.AsyncClient, rate: float, stop: asyncio.Event) -> None:
    rng, count = random.Random(1), itertools.count(1)
    for n, model in enumerate(itertools.cycle(MODELS)):
        if stop.is_set():
            return
        with contextlib.suppress(httpx.HTTPError):
            await client.post(
                "/api/records", json={"model_name": model, "records": records(model, rng, count)}
            )
            if n % 6 == 0:
                await client.get(f"/api/models/{model}/kpis")
                await client.get("/api/insights")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / rate)


async def _dashboard(url: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with websockets.connect(url, open_timeout=10) as ws:
                await ws.send(json.dumps({"action": "subscribe", "models": list(MODELS)}))
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(ws.recv(), 1.0)
                await ws.close()
        except (OSError, websockets.WebSocketException, TimeoutError):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


async def _run(api: str, key: str, dashboard_key: str, rate: float, dashboards: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with httpx.AsyncClient(base_url=f"http://{api}", headers={"X-API-Key": key}, timeout=5) as client:
        await asyncio.gather(
            _ingest(client, rate, stop),
            *(_dashboard(f"ws://{api}/ws?key={dashboard_key}", stop) for _ in range(dashboards)),
        )


def main(api: str, key: str, dashboard_key: str, rate: float, dashboards: int) -> int:
    asyncio.run(_run(api, key, dashboard_key, rate, dashboards))
    return 0
