"""WebSocket servers (seed 001): connections, events published and delivered, delivery latency, buffer.

::

    from tocsin.sdk.packs import WebSockets, WebSocketMetricsMiddleware

    ws = WebSockets()
    app.add_middleware(WebSocketMetricsMiddleware, websockets=ws)   # connections and messages, any ASGI app

    async def broadcast(event):
        ws.event_published(event.type, event.model_name)
        with ws.measure_delivery(event.type):                       # delivery_latency_seconds
            sent = await manager.send_all(event)
        ws.event_delivered(event.type, event.model_name, sent)

Metrics (namespace ``websocket``): ``active_connections`` (gauge),
``connections_total``, ``messages_received_total``, ``messages_sent_total``,
``events_published_total{event_type, model_name}``,
``events_delivered_total{event_type, model_name}`` (one per recipient),
``delivery_latency_seconds{event_type}`` (histogram, 0.1 ms to 1 s),
``buffer_size`` (gauge) and ``subscription_operations_total{operation}``.
Under ``prefix="kpi"`` seed 001's ``WebSocketConnectionsHigh`` rule
(``kpi_websocket_active_connections > 1000``) runs unchanged.

:class:`WebSocketMetricsMiddleware` is pure ASGI (Starlette, FastAPI, any
framework): a connection counts from the app's ``websocket.accept`` until
the close, whichever side closes; HTTP and lifespan scopes pass untouched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk._types import ASGIApp, Message, Receive, Scope, Send
from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics, child
from ._buckets import FAST_BUCKETS

__all__ = ["WebSocketMetricsMiddleware", "WebSockets"]

_perf_counter = time.perf_counter


class WebSockets:
    """The metrics of one WebSocket server (see the module docstring)."""

    def __init__(
        self,
        *,
        namespace: str = "websocket",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        self.active = pack.gauge(
            "active_connections", "Open WebSocket connections.", multiprocess_mode="livesum"
        )
        self.connections = pack.counter("connections_total", "WebSocket connections accepted.")
        self.received = pack.counter("messages_received_total", "WebSocket messages received from clients.")
        self.sent = pack.counter("messages_sent_total", "WebSocket messages sent to clients.")
        self.published = pack.counter(
            "events_published_total", "Events published, by type.", ["event_type", "model_name"]
        )
        self.delivered = pack.counter(
            "events_delivered_total", "Event deliveries (one per recipient).", ["event_type", "model_name"]
        )
        self.latency = pack.histogram(
            "delivery_latency_seconds", "Time to deliver an event to its recipients.", ["event_type"],
            buckets=FAST_BUCKETS,
        )  # fmt: skip
        self.buffer = pack.gauge(
            "buffer_size", "Events waiting in the send buffer.", multiprocess_mode="livesum"
        )
        self.subscriptions = pack.counter(
            "subscription_operations_total", "Subscription operations, by kind.", ["operation"]
        )
        self.set_buffer_size = self.buffer.set
        self._published: dict[Any, Any] = {}
        self._delivered: dict[Any, Any] = {}
        self._latency: dict[Any, Any] = {}

    def client_connected(self) -> None:
        """A client connected (seed 001's ``clientConnected``)."""
        self.active.inc()
        self.connections.inc()

    def client_disconnected(self) -> None:
        """A client went away."""
        self.active.dec()

    def event_published(self, event_type: str, model_name: str = "") -> None:
        """One event of ``event_type`` (about ``model_name``) was published."""
        key = (event_type, model_name)
        found = self._published.get(key)
        if found is None:
            found = child(self._published, self.published, key)
        found.inc()

    def event_delivered(self, event_type: str, model_name: str = "", recipients: int = 1) -> None:
        """The event reached ``recipients`` clients."""
        key = (event_type, model_name)
        found = self._delivered.get(key)
        if found is None:
            found = child(self._delivered, self.delivered, key)
        found.inc(recipients)

    def observe_delivery(self, event_type: str, seconds: float) -> None:
        """Delivering an event of ``event_type`` took ``seconds``."""
        found = self._latency.get(event_type)
        if found is None:
            found = child(self._latency, self.latency, event_type, (event_type,))
        found.observe(seconds)

    @contextmanager
    def measure_delivery(self, event_type: str) -> Iterator[None]:
        """Time the block as the delivery of one event."""
        started = _perf_counter()
        try:
            yield
        finally:
            self.observe_delivery(event_type, _perf_counter() - started)

    def subscription_operation(self, operation: str) -> None:
        """A client ``subscribe``\\d, ``unsubscribe``\\d, changed its ``filter``..."""
        self.subscriptions.labels(operation).inc()


class WebSocketMetricsMiddleware:
    """Counts the WebSocket connections and messages of an ASGI app; every other scope passes through."""

    def __init__(self, app: ASGIApp, *, websockets: WebSockets | None = None) -> None:
        self.app = app
        self.websockets = websockets if websockets is not None else WebSockets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        ws = self.websockets
        state = {"open": False}

        def closed() -> None:
            if state["open"]:
                state["open"] = False
                ws.client_disconnected()

        async def counting_receive() -> Message:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                ws.received.inc()
            elif kind == "websocket.disconnect":
                closed()
            return message

        async def counting_send(message: Message) -> None:
            kind = message["type"]
            if kind == "websocket.send":
                ws.sent.inc()
            elif kind == "websocket.accept" and not state["open"]:
                state["open"] = True
                ws.client_connected()
            await send(message)
            if kind == "websocket.close":
                closed()

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            closed()
