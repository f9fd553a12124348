"""A small FastAPI "bookshop" instrumented with tocsin: HTTP middleware, business metrics, /metrics."""

from __future__ import annotations

import asyncio
import random

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tocsin.sdk import metrics


def create_app(m: metrics.Metrics) -> FastAPI:
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
        if book_id > 900:
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
        await asyncio.sleep(random.uniform(0.001, 0.03))
        if q == "crash":
            raise RuntimeError("search backend failed")
        return {"query": q, "hits": random.randint(0, 20)}

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
