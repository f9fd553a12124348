"""Small ASGI helpers shared by the SDK's framework-free apps (exposition, health)."""

from __future__ import annotations

from tocsin.sdk._types import Receive, Send

__all__ = ["serve_lifespan"]


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge lifespan startup and shutdown, so an app also runs alone under uvicorn."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
