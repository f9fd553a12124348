"""A small FastAPI "bookshop" instrumented with tocsin: HTTP middleware, business metrics, /metrics and
health checks (/health, /health/live, /health/ready).

``POST /api/faults/search?broken=true`` breaks the search backend: searches fail, and the critical
``search-backend`` check turns /health/ready into a 503 until ``broken=false``.
"""

from __future__ import annotations

import asyncio
import random

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tocsin.sdk import metrics
from tocsin.sdk.health import Health, checks

CATALOGUE_SIZE = 900


class Backend:
    """The search backend's state, which the fault endpoint flips."""

    def __init__(self) -> None:
        self.broken = False

    def check(self) -> bool:
        return not self.broken


def create_health(m: metrics.Metrics, backend: Backend) -> Health:
    """Readiness: the search backend (critical), the catalogue, disk and memory; liveness: uptime."""
    return Health(
        ready=[
            checks.custom("search-backend", backend.check, component_type="datastore"),
            checks.custom("catalogue", lambda: CATALOGUE_SIZE, measurement="books", unit="books"),
            checks.disk(path="/", min_free_percent=5),
            checks.memory(max_used_percent=98),
        ],
        metrics=m,
    )


def create_app(m: metrics.Metrics, backend: Backend | None = None) -> FastAPI:
    backend = backend or Backend()
    # its own generator, not the random module's: served on a thread inside a test process, the
    # module's global state is shared with every other thread (hypothesis checks it did not move)
    rng = random.Random()
    downloads = m.counter("ebook_downloads_total", "eBooks downloaded", ["format"])
    searches = m.histogram(
        "search_duration_seconds",
        "Catalogue search time",
        ["outcome"],
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1),
    )
    active_readers = m.gauge("active_readers", "Readers with a book open")

    api = APIRouter(prefix="/api")

    @api.get("/books/{book_id}")
    async def get_book(book_id: int) -> dict[str, object]:
        if book_id > CATALOGUE_SIZE:
            raise HTTPException(status_code=404, detail="no such book")
        return {"id": book_id, "title": f"Book {book_id}"}

    @api.get("/books/{book_id}/download")
    async def download(book_id: int, format: str = "epub") -> StreamingResponse:
        downloads.labels(format if format in ("epub", "pdf") else "other").inc()

        async def body():  # type: ignore[no-untyped-def]
            for _ in range(4):
                await asyncio.sleep(0.005)
                yield b"x" * 1024

        return StreamingResponse(body(), media_type="application/octet-stream")

    @api.get("/search")
    @metrics.timed(searches, outcome_label="outcome")
    async def search(q: str = "") -> dict[str, object]:
        await asyncio.sleep(rng.uniform(0.001, 0.03))
        if q == "crash" or backend.broken:
            raise RuntimeError("search backend failed")
        return {"query": q, "hits": rng.randint(0, 20)}

    @api.post("/faults/search")
    async def search_fault(broken: bool = True) -> dict[str, bool]:
        backend.broken = broken
        return {"broken": backend.broken}

    @api.post("/readers/{delta}")
    async def readers(delta: int) -> dict[str, int]:
        active_readers.inc(delta)
        return {"delta": delta}

    app = FastAPI(title="tocsin demo bookshop")
    app.include_router(api)

    @app.exception_handler(RuntimeError)
    async def backend_failed(request: Request, exc: RuntimeError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=500)

    return app
