"""The websocket pack with real WebSocket connections to a Starlette app under uvicorn."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from tests.conftest import serve_uvicorn, wait_for

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import WebSocketMetricsMiddleware, WebSockets
from tocsin.testing import sample_value

pytestmark = pytest.mark.integration


def test_connections_messages_and_deliveries_over_real_sockets(metrics: Metrics) -> None:
    ws = WebSockets()
    clients: set[WebSocket] = set()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        clients.add(websocket)
        try:
            while True:
                text = await websocket.receive_text()
                if text == "subscribe":
                    ws.subscription_operation("subscribe")
                elif text == "broadcast":
                    ws.event_published("kpi_update", "marketing")
                    with ws.measure_delivery("kpi_update"):
                        for client in list(clients):
                            await client.send_text("kpi_update")
                    ws.event_delivered("kpi_update", "marketing", len(clients))
                elif text == "bye":
                    await websocket.close()
                    return
        except WebSocketDisconnect:
            pass
        finally:
            clients.discard(websocket)

    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    app.add_middleware(WebSocketMetricsMiddleware, websockets=ws)
    url, stop = serve_uvicorn(app, ws="websockets-sansio")
    ws_url = url.replace("http", "ws") + "/ws"

    async def scenario() -> None:
        async with websockets.connect(ws_url) as first, websockets.connect(ws_url) as second:
            await first.send("subscribe")
            wait_for(lambda: sample_value(metrics, "websocket_active_connections") == 2, what="2 open")
            await second.send("broadcast")
            assert await first.recv() == "kpi_update"
            assert await second.recv() == "kpi_update"
            await first.send("bye")  # the server closes this one
            await first.wait_closed()
        # the second one was closed by the client

    try:
        asyncio.run(scenario())
        wait_for(lambda: sample_value(metrics, "websocket_active_connections") == 0, what="all closed")
    finally:
        stop()
    assert sample_value(metrics, "websocket_connections_total") == 2
    assert sample_value(metrics, "websocket_messages_received_total") == 3
    assert sample_value(metrics, "websocket_messages_sent_total") == 2
    assert sample_value(metrics, "websocket_subscription_operations_total", {"operation": "subscribe"}) == 1
    delivered = {"event_type": "kpi_update", "model_name": "marketing"}
    assert sample_value(metrics, "websocket_events_delivered_total", delivered) == 2
    assert sample_value(metrics, "websocket_events_published_total", delivered) == 1
    assert (
        sample_value(metrics, "websocket_delivery_latency_seconds_count", {"event_type": "kpi_update"}) == 1
    )


def test_a_refused_handshake_never_counts_as_open(metrics: Metrics) -> None:
    ws = WebSockets()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.close(code=1008)

    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    url, stop = serve_uvicorn(WebSocketMetricsMiddleware(app, websockets=ws), ws="websockets-sansio")

    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(url.replace("http", "ws") + "/ws"):
                pass

    try:
        asyncio.run(scenario())
    finally:
        stop()
    assert sample_value(metrics, "websocket_connections_total") == 0
    assert sample_value(metrics, "websocket_active_connections") == 0
