"""The console's ASGI app: routes, static files (gzip), security middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tocsin.views.console._api import API_ROUTES
from tocsin.views.console._pages import PAGES
from tocsin.views.console._security import AuthCheck, Guard
from tocsin.views.console._silences import SILENCE_ROUTES
from tocsin.views.console._state import HERE, Console, ConsoleConfig

__all__ = ["VENDOR_FILES", "create_app", "missing_vendor_files"]

#: copied from npm's uplot by ``make venv`` (never committed, never from a CDN)
VENDOR_FILES = ("uPlot.iife.min.js", "uPlot.min.css")


def missing_vendor_files() -> list[str]:
    vendor = HERE / "static" / "vendor"
    return [name for name in VENDOR_FILES if not (vendor / name).is_file()]


def create_app(config: ConsoleConfig, *, auth: AuthCheck | None = None, hosts: set[str] | None = None) -> Any:
    """The console as an ASGI app; ``hosts`` are the Host names it answers to (loopback by default)."""
    console = Console(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await console.aclose()

    routes: list[Any] = [Route(path, page) for path, page in PAGES.items()]
    routes += [Route(path, handler, methods=methods) for path, handler, methods in SILENCE_ROUTES]
    routes += [Route(path, handler) for path, handler in API_ROUTES]
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.console = console
    allowed = {"127.0.0.1", "localhost", "::1", *(hosts or ())}
    return Guard(GZipMiddleware(app, minimum_size=1024), hosts=allowed, auth=auth)
