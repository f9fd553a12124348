"""The OCR service: a FastAPI API in front of a Redis queue, a pool of worker threads, a Redis cache.

``POST /documents?type=invoice`` (the image as the body) stores the upload under
``<prefix>job:<id>`` and pushes the id onto ``<prefix>jobs``; ``?wait=S`` waits up to S seconds for
the result. A worker pops the id, looks the image's SHA-256 up in the cache (``<prefix>cache:<sha>``,
a hit or a miss in ``ocr_cache_hits_total``/``ocr_cache_misses_total``), and on a miss runs
Tesseract (:mod:`.ocr`) and caches the result for ``cache_ttl`` seconds. ``GET /documents/{id}``
gives the status and, once done, the text and confidence.

Metrics are seed 000's names (``metrics.configure(prefix="ocr")``): the queue pack's
``ocr_queue_size`` (read with LLEN at every scrape), ``ocr_workers_active``/``ocr_workers_total``,
``ocr_processing_duration_seconds{document_type}`` (one Tesseract run: what the cache saves),
``ocr_documents_processed_total{status, document_type}`` (every document, cached or not) and
``ocr_confidence_score{document_type}`` (Tesseract's own, last read document); the cache pack's
counters; the HTTP middleware's; the process' CPU and memory. Logs are structlog JSON lines in
``<log-dir>/ocr-service.log`` (the spec's ``logs:`` watches them).

Runtime settings live in the Redis hash ``<prefix>settings`` and are re-read every second:
``cache_ttl`` (seconds, ``0`` stores nothing: the cache is bypassed). The tuning runbooks change
them with ``redis-cli HSET``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from typing import Any

import redis
from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route

from tocsin.sdk import logging as tlog
from tocsin.sdk.exposition import make_asgi_app
from tocsin.sdk.health import Health, checks
from tocsin.sdk.health.asgi import HealthMiddleware
from tocsin.sdk.http.asgi import PrometheusMiddleware
from tocsin.sdk.logging.asgi import add_request_ids
from tocsin.sdk.packs import Cache, Queue, RedisCache

from .documents import TYPES
from .ocr import OcrError, TesseractKilled, read_document, tesseract_version

__all__ = ["OcrService", "create_app"]

MAX_ATTEMPTS = 3  # reads of one document whose Tesseract was killed before it counts as failed
JOB_TTL = 600  # seconds a job (upload and result) stays in Redis
DEFAULT_CACHE_TTL = 3600
MAX_UPLOAD = 10_000_000
#: below this confidence a reading is logged as a warning (the plan's "si confiance < 90 %")
LOW_CONFIDENCE = 90.0

log = tlog.get_logger("ocr.service")


class Settings:
    """``<prefix>settings`` read at most once a second (a Redis round trip per document otherwise)."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client, self.key = client, key
        self._values: dict[str, str] = {}
        self._read_at = 0.0
        self._lock = threading.Lock()

    def get(self, name: str, default: int) -> int:
        with self._lock:
            if time.monotonic() - self._read_at > 1.0:
                raw = self.client.hgetall(self.key)
                self._values = {k.decode(): v.decode() for k, v in raw.items()}
                self._read_at = time.monotonic()
            value = self._values.get(name)
        try:
            return int(value) if value is not None else default
        except ValueError:
            return default


class OcrService:
    """The queue, the workers and the cache of one service instance (see the module docstring)."""

    def __init__(self, client: redis.Redis, prefix: str, workers: int = 4) -> None:
        self.client = client
        self.prefix = prefix
        self.jobs_key = f"{prefix}jobs"
        self.queue = Queue(items="documents", type_label="document_type", workers=workers)
        self.queue.track_size(self._queue_size)
        self.cache = RedisCache(client, Cache("ocr"))
        self.settings = Settings(client, f"{prefix}settings")
        self.workers = workers
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def _queue_size(self) -> float:
        try:
            return float(self.client.llen(self.jobs_key))
        except redis.RedisError:
            return float("nan")

    # --- the API's side ---------------------------------------------------------------------------

    def submit(self, data: bytes, document_type: str) -> str:
        job_id = secrets.token_hex(8)
        key = f"{self.prefix}job:{job_id}"
        with self.client.pipeline() as pipe:
            pipe.hset(key, mapping={"image": data, "type": document_type, "status": "queued",
                                    "queued_at": time.time()})  # fmt: skip
            pipe.expire(key, JOB_TTL)
            pipe.rpush(self.jobs_key, job_id)
            pipe.execute()
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        fields = self.client.hmget(f"{self.prefix}job:{job_id}", ["status", "type", "result", "error"])
        if fields[0] is None:
            return None
        status, kind, result, error = (f.decode() if f is not None else None for f in fields)
        answer: dict[str, Any] = {"id": job_id, "status": status, "document_type": kind}
        if result is not None:
            answer.update(json.loads(result))
        if error is not None:
            answer["error"] = error
        return answer

    # --- the workers ------------------------------------------------------------------------------

    def start(self) -> None:
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"ocr-worker-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=70)

    def workers_alive(self) -> int:
        return sum(t.is_alive() for t in self.threads)

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                popped = self.client.blpop([self.jobs_key], timeout=1)
            except redis.RedisError as exc:
                log.error("queue_unreachable", error=" ".join(str(exc).split())[:200])
                self.stopping.wait(1)
                continue
            if popped is None:
                continue
            job_id = popped[1].decode()
            try:
                self._one(job_id)
            except redis.RedisError as exc:  # Redis went away mid-job: the job is lost, the worker is not
                log.error("queue_unreachable", job=job_id, error=" ".join(str(exc).split())[:200])
                self.stopping.wait(1)
            except Exception:  # a bug must not kill a worker (readiness would stay failed)
                log.exception("worker_error", job=job_id)

    def _one(self, job_id: str) -> None:
        key = f"{self.prefix}job:{job_id}"
        data, kind_raw = self.client.hmget(key, ["image", "type"])
        if data is None:  # expired or taken back by its client
            return
        kind = kind_raw.decode() if kind_raw else "unknown"
        checksum = hashlib.sha256(data).hexdigest()
        cache_key = f"{self.prefix}cache:{checksum}"
        cached = self.cache.get(cache_key)
        if cached is not None:
            self.queue.processed("success", kind)
            self._done(key, {"status": "done", "result": cached})
            log.debug("document_cached", job=job_id, document_type=kind)
            return
        queue = self.queue
        queue.workers_active.inc()
        started = time.perf_counter()
        try:
            reading = read_document(data)
        except TesseractKilled as exc:
            self._retry(job_id, key, kind, exc)
            return
        except OcrError as exc:
            queue.processed("error", kind, time.perf_counter() - started)
            log.error("❌ OCR failed", job=job_id, document_type=kind, reason=str(exc))
            self._done(key, {"status": "error", "error": str(exc)})
            return
        finally:
            queue.workers_active.dec()
        queue.processed("success", kind, time.perf_counter() - started, reading.confidence)
        result = json.dumps({"text": reading.text, "confidence": reading.confidence, "words": reading.words})
        ttl = self.settings.get("cache_ttl", DEFAULT_CACHE_TTL)
        if ttl > 0:
            self.client.set(cache_key, result, ex=ttl)
        self._done(key, {"status": "done", "result": result})
        if reading.confidence < LOW_CONFIDENCE:
            log.warning("⚠️ Low confidence", job=job_id, document_type=kind, confidence=reading.confidence)
        else:
            log.info("✅ Document read", job=job_id, document_type=kind, confidence=reading.confidence,
                     words=reading.words)  # fmt: skip

    def _retry(self, job_id: str, key: str, kind: str, exc: Exception) -> None:
        """A read whose Tesseract was killed goes back to the head of the queue, up to ``MAX_ATTEMPTS``
        times (not counted as processed: the document was not read, and it is not its fault)."""
        attempts = int(self.client.hincrby(key, "attempts", 1))
        if attempts >= MAX_ATTEMPTS:
            self.queue.processed("error", kind)
            log.error("❌ OCR failed", job=job_id, document_type=kind, reason=f"{exc} ({attempts} attempts)")
            self._done(key, {"status": "error", "error": str(exc)})
            return
        self.client.lpush(self.jobs_key, job_id)
        log.warning("🔁 Read interrupted, queued again", job=job_id, document_type=kind, reason=str(exc))

    def _done(self, key: str, fields: dict[str, str]) -> None:
        with self.client.pipeline() as pipe:
            pipe.hset(key, mapping=fields)
            pipe.hdel(key, "image")
            pipe.execute()


def create_app(service: OcrService, redis_url: str) -> FastAPI:
    """The API, with /metrics, /health (live: uptime; ready: Redis, the workers, Tesseract)."""
    app = FastAPI(title="tocsin example: OCR service (seed 000)")
    version = tesseract_version()

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {"service": "ocr", "tesseract": version, "workers": service.workers,
                "post": "/documents?type=invoice|receipt|letter|form (the image as the body)"}  # fmt: skip

    @app.post("/documents", status_code=202)
    async def upload(request: Request, type: str = "invoice", wait: float = Query(0, ge=0, le=60)) -> Any:
        if type not in TYPES:
            raise HTTPException(422, f"type must be one of {', '.join(TYPES)}")
        if int(request.headers.get("content-length") or 0) > MAX_UPLOAD:
            raise HTTPException(413, f"documents are at most {MAX_UPLOAD} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():  # chunked uploads have no length: count as they come
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise HTTPException(413, f"documents are at most {MAX_UPLOAD} bytes")
            chunks.append(chunk)
        data = b"".join(chunks)
        job_id = service.submit(data, type)
        if wait:
            import anyio

            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                answer = service.status(job_id)
                if answer and answer["status"] != "queued":
                    return JSONResponse(answer, status_code=200 if answer["status"] == "done" else 422)
                await anyio.sleep(0.05)
        return {"id": job_id, "status": "queued"}

    @app.get("/documents/{job_id}")
    async def document(job_id: str = Path(pattern="^[0-9a-f]{16}$")) -> dict[str, Any]:
        answer = service.status(job_id)
        if answer is None:
            raise HTTPException(404, "no such document (jobs are kept 10 minutes)")
        return answer

    app.router.routes.append(Route("/metrics", make_asgi_app()))
    app.add_middleware(PrometheusMiddleware)
    health = Health(
        ready=[
            checks.redis("redis", redis_url, timeout=2, connect_timeout=1),
            checks.custom("workers", lambda: service.workers_alive() == service.workers, measurement="alive"),
            checks.custom("tesseract", lambda: bool(version), component_type="system"),
        ],
    )
    app.add_middleware(HealthMiddleware, health=health)
    add_request_ids(app)
    return app
