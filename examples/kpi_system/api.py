"""The KPI API: record ingestion, KPI reads, and the real-time WebSocket broadcaster (Starlette).

Routes (all of ``/api/*`` and ``/ws`` behind :class:`.guard.Guard`: API key, rate limit, inspection):

======================================  ==========================================================
``POST /api/records``                   ``{"model_name": m, "records": [{metric, value, period}]}``
                                        stored raw for the ETL (202); validation is the ETL's job
``GET /api/models/{model}/kpis``        the latest value of each metric (``?metric=`` for one)
``GET /api/insights``                   the latest anomalies and benchmark findings
``WS /ws``                              ``{"action": "subscribe", "models": [...]}`` (or
                                        ``unsubscribe``), then ``kpi_update`` / ``anomaly`` events
``GET /metrics``, ``/health``           Prometheus exposition; health with instrumentation health
======================================  ==========================================================

The broadcaster LISTENs on the database's ``kpi_events`` channel (the analytics worker NOTIFYs),
queues each event (``kpi_websocket_buffer_size``) and sends it to the subscribers of its model,
measuring the delivery (``kpi_websocket_delivery_latency_seconds``). A client that vanishes
without a close frame (code 1006) or whose send fails counts as an abnormal disconnect
(``kpi_websocket_disconnects_total{reason="abnormal"}``), one that says goodbye as ``normal``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tocsin.sdk import metrics
from tocsin.sdk.exposition import make_asgi_app
from tocsin.sdk.health import Health, checks
from tocsin.sdk.health.asgi import HealthMiddleware
from tocsin.sdk.http.asgi import PrometheusMiddleware
from tocsin.sdk.logging import get_logger
from tocsin.sdk.packs import Security, WebSocketMetricsMiddleware, WebSockets

from .catalogue import METRICS, MODELS
from .guard import Guard, RateLimiter, sanitize
from .store import CHANNEL, connect_async

__all__ = ["Broadcaster", "build_app"]

MAX_RECORDS = 1000
log = get_logger("kpi.api")


class Pool:
    """A few async connections to the run's schema, each handed to one request at a time; a broken
    one is replaced (the API's writes are short: a request never waits behind a long one)."""

    def __init__(self, schema: str, size: int = 4) -> None:
        self.schema, self.size = schema, size
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def _new(self) -> psycopg.AsyncConnection[Any]:
        return await connect_async(self.schema)

    async def open(self) -> None:
        for _ in range(self.size):
            self._idle.put_nowait(await self._new())

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self._idle.get()
        try:
            if conn.closed:
                conn = await self._new()
            yield conn
        except psycopg.OperationalError:
            await conn.close()
            raise
        finally:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        while not self._idle.empty():
            await self._idle.get_nowait().close()


@dataclass(eq=False)
class Subscriber:
    socket: WebSocket
    models: set[str] = field(default_factory=set)


class Broadcaster:
    """Database events → WebSocket subscribers, with the websocket pack's metrics."""

    def __init__(self, schema: str, ws: WebSockets, m: metrics.Metrics) -> None:
        self.schema, self.ws = schema, ws
        self.subscribers: set[Subscriber] = set()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)
        self.listening = False
        self.disconnects = m.counter(
            "websocket_disconnects_total", "WebSocket clients gone, by reason (normal close or abnormal).",
            ["reason"],
        )  # fmt: skip
        for reason in ("normal", "abnormal"):
            self.disconnects.labels(reason)
        self.filters = m.gauge("websocket_active_filters", "Models subscribed to, summed over the clients.")

    async def listen(self) -> None:
        """LISTEN on ``kpi_events`` until cancelled, reconnecting after a lost connection."""
        while True:
            try:
                async with await connect_async(self.schema) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    async for note in conn.notifies():
                        with contextlib.suppress(ValueError):
                            self.queue.put_nowait(json.loads(note.payload))
                        self.ws.set_buffer_size(self.queue.qsize())
            except psycopg.OperationalError as exc:
                log.warning("listen_lost", error=" ".join(str(exc).split())[:200])
            except asyncio.QueueFull:
                log.warning("broadcast_buffer_full", size=self.queue.qsize())
            finally:
                self.listening = False
            await asyncio.sleep(1.0)

    async def deliver(self) -> None:
        """Send each queued event to its model's subscribers, until cancelled."""
        while True:
            event = await self.queue.get()
            self.ws.set_buffer_size(self.queue.qsize())
            kind, model = str(event.get("type", "other")), str(event.get("model_name", ""))
            self.ws.event_published(kind, model)
            targets = [s for s in self.subscribers if model in s.models]
            text = json.dumps(event)
            with self.ws.measure_delivery(kind):
                results = await asyncio.gather(
                    *(s.socket.send_text(text) for s in targets), return_exceptions=True
                )
            sent = 0
            for subscriber, result in zip(targets, results, strict=True):
                if isinstance(result, BaseException):
                    self.drop(subscriber, "abnormal")
                else:
                    sent += 1
            if sent:
                self.ws.event_delivered(kind, model, sent)

    def drop(self, subscriber: Subscriber, reason: str) -> None:
        if subscriber in self.subscribers:
            self.subscribers.discard(subscriber)
            self.disconnects.labels(reason).inc()
            self.filters.dec(len(subscriber.models))

    async def serve(self, socket: WebSocket) -> None:
        """One client: subscriptions until it leaves."""
        await socket.accept()
        subscriber = Subscriber(socket)
        self.subscribers.add(subscriber)
        reason = "abnormal"
        try:
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    reason = "normal" if message.get("code", 1000) in (1000, 1001) else "abnormal"
                    break
                self._command(subscriber, message.get("text") or "")
        except (WebSocketDisconnect, OSError, RuntimeError):
            reason = "abnormal"
        finally:
            self.drop(subscriber, reason)

    def _command(self, subscriber: Subscriber, text: str) -> None:
        try:
            command = json.loads(text)
            action, models = command["action"], command.get("models") or list(MODELS)
        except (ValueError, KeyError, TypeError):
            return
        if action not in ("subscribe", "unsubscribe") or not isinstance(models, list):
            return
        chosen = {m for m in models if m in MODELS}
        before = len(subscriber.models)
        if action == "subscribe":
            subscriber.models |= chosen
        else:
            subscriber.models -= chosen
        self.filters.inc(len(subscriber.models) - before)
        self.ws.subscription_operation(action)


def _report_crash(task: asyncio.Task[None]) -> None:
    """A broadcaster task must not die silently: its health check turns red, and the log says why."""
    if not task.cancelled() and task.exception() is not None:
        log.error("broadcaster_crashed", task=task.get_name(), exc_info=task.exception())


def build_app(schema: str, *, keys: dict[bytes, str], rate: float, m: metrics.Metrics) -> Starlette:
    """The ASGI app: routes, broadcaster, and the middleware stack (metrics outermost, then health,
    WebSocket metrics, the guard)."""
    security, ws = Security(), WebSockets()
    broadcaster = Broadcaster(schema, ws, m)
    pool = Pool(schema)

    async def post_records(request: Request) -> Response:
        try:
            body = await request.json()
            model, records = body["model_name"], body["records"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected {model_name, records: [...]}"}, status_code=400)
        if not isinstance(model, str) or not isinstance(records, list) or not 0 < len(records) <= MAX_RECORDS:
            return JSONResponse({"error": f"records: a list of 1 to {MAX_RECORDS}"}, status_code=400)
        model = sanitize(model, security)
        if model not in MODELS:
            return JSONResponse({"error": f"unknown model {model!r}"}, status_code=404)
        client = request.scope["state"]["client"]
        rows = [(client, model, json.dumps(r)) for r in records]
        async with pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO kpi_raw (client, model_name, payload) VALUES (%s, %s, %s)", rows
            )
        return JSONResponse({"accepted": len(rows)}, status_code=202)

    async def get_kpis(request: Request) -> Response:
        model = request.path_params["model"]
        if model not in MODELS:
            return JSONResponse({"error": "unknown model"}, status_code=404)
        wanted = (
            [sanitize(request.query_params.get("metric", ""), security)]
            if "metric" in request.query_params
            else METRICS
        )
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT DISTINCT ON (metric) metric, value, period FROM kpi_record "
                "WHERE model_name = %s AND metric = ANY(%s) ORDER BY metric, id DESC",
                (model, list(wanted)),
            )
            rows = await cur.fetchall()
        return JSONResponse(
            {"model_name": model, "kpis": {r[0]: {"value": r[1], "period": r[2].isoformat()} for r in rows}}
        )

    async def get_insights(request: Request) -> Response:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT model_name, metric, kind, method, severity, value, score, created_at "
                "FROM insight ORDER BY id DESC LIMIT 50"
            )
            rows = await cur.fetchall()
        keys_ = ("model_name", "metric", "kind", "method", "severity", "value", "score")
        return JSONResponse([{**dict(zip(keys_, r[:7], strict=True)), "at": r[7].isoformat()} for r in rows])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        tasks = [asyncio.create_task(broadcaster.listen()), asyncio.create_task(broadcaster.deliver())]
        for task in tasks:
            task.add_done_callback(_report_crash)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await pool.close()

    health = Health(
        ready=[
            checks.sql("database", "postgresql://127.0.0.1:5432/test", timeout=2),
            checks.custom("broadcaster", lambda: broadcaster.listening),
            checks.instrumentation(),
        ],
    )
    app = Starlette(
        routes=[
            Route("/api/records", post_records, methods=["POST"]),
            Route("/api/models/{model}/kpis", get_kpis),
            Route("/api/insights", get_insights),
            WebSocketRoute("/ws", broadcaster.serve),
            Route("/metrics", make_asgi_app()),
        ],
        lifespan=lifespan,
    )
    app.state.broadcaster = broadcaster
    app.add_middleware(Guard, keys=keys, limiter=RateLimiter(rate), security=security)
    app.add_middleware(WebSocketMetricsMiddleware, websockets=ws)
    app.add_middleware(HealthMiddleware, health=health, service="kpi-api", version="1.0.0")
    app.add_middleware(PrometheusMiddleware)
    return app
