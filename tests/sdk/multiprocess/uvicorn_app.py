"""The app of the ``uvicorn --workers`` test: Starlette, compaction at worker start, merged /metrics."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tocsin.sdk import multiprocess
from tocsin.sdk.exposition import make_asgi_app
from tocsin.sdk.metrics import Metrics

requests = Metrics(prefix="uv").counter("requests_total", "Requests served")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    multiprocess.compact_dead_processes()  # a respawned worker folds the files of the one it replaces
    yield


async def work(request: Request) -> PlainTextResponse:
    requests.inc()
    return PlainTextResponse(str(os.getpid()))


app = Starlette(
    routes=[Route("/work", work), Route("/metrics", make_asgi_app())],
    lifespan=lifespan,
)
