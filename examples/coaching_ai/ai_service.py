"""The AI coach (FastAPI): chat with RAG, training plans, knowledge search, over an OpenAI-compatible API.

Seed 004's FastAPI metrics: the OpenAI calls' latency, tokens and cost in EUR (the llm pack, namespace
``openai``: ``openai_request_duration_seconds``, ``openai_tokens_total``, ``openai_cost_total``), RAG
retrievals (``rag_queries_total{outcome}`` and ``rag_query_duration_seconds``), coaching conversations
as sessions (the sessions pack, namespace ``coaching``: ``coaching_sessions_total``, conversation
length), plan generation time, and every request by route (``http_requests_total``).

Callers authenticate with the JWT the Django API issued (``Authorization: Bearer``): the AI service
checks its signature with the shared key file, so a Django outage does not stop running conversations,
and an expired or forged token is refused here as there (``401``, ``Auth failure`` in the log).
"""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations, which name locals

import logging
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import jwt
import openai
from fastapi import Depends, FastAPI, Header, HTTPException
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field
from starlette.routing import Route

from tocsin.sdk.exposition import make_asgi_app
from tocsin.sdk.health import Health, checks
from tocsin.sdk.health.asgi import HealthMiddleware
from tocsin.sdk.http.asgi import PrometheusMiddleware
from tocsin.sdk.metrics import configure
from tocsin.sdk.packs import LLM, Price, Sessions, instrument_openai

__all__ = ["build_app"]

log = logging.getLogger("coaching.ai")
ISSUER = "coaching-django"
CHAT_MODEL = "gpt-4o-mini"
PLAN_MODEL = "gpt-4o"
#: EUR per million tokens (prompt, completion): the price table the cost counter uses
PRICES = {CHAT_MODEL: Price(prompt=0.15, completion=0.60), PLAN_MODEL: Price(prompt=2.50, completion=10.00)}
SYSTEM = "You are a running coach. Answer briefly."
RAG_SQL = (
    "SELECT body FROM rag_passage WHERE search @@ plainto_tsquery('english', %s)"
    " ORDER BY ts_rank(search, plainto_tsquery('english', %s)) DESC LIMIT %s"
)


class Question(BaseModel):
    message: str = Field(min_length=1, max_length=2000)
    conversation_id: str | None = Field(None, max_length=64)


class PlanRequest(BaseModel):
    goal: str = Field(min_length=1, max_length=200)
    weeks: int = Field(4, ge=1, le=24)


def build_app(database_dsn: str, llm_url: str, jwt_key_file: Path, *, timeout: float = 8.0) -> Any:
    """The ASGI app: FastAPI routes inside the health and metrics middleware."""
    metrics = configure(app="coaching-ai")
    llm = LLM(provider="openai", namespace="openai", currency="EUR", prices=PRICES)
    conversations = Sessions(namespace="coaching", window=120)
    rag_seconds = metrics.histogram(
        "rag_query_duration_seconds", "RAG retrieval time (PostgreSQL full-text search).",
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
    )  # fmt: skip
    plan_seconds = metrics.histogram(
        "coaching_plan_generation_seconds", "Training plan generation time, end to end.",
        buckets=(0.25, 0.5, 1, 2, 3, 5, 10, 20, 30),
    )  # fmt: skip
    key = jwt_key_file.read_text(encoding="utf-8").strip()
    # max_retries=0: a failed call is counted and answered as it happened (the client's retries
    # would hide an upstream incident from the error ratio and triple its latency)
    client = instrument_openai(
        openai.AsyncOpenAI(base_url=llm_url, api_key="local-test-server", timeout=timeout, max_retries=0), llm
    )
    pool = AsyncConnectionPool(
        database_dsn, min_size=1, max_size=8, open=False,
        kwargs={"application_name": "coaching-ai", "options": "-c statement_timeout=5000"},
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        await pool.open(wait=True, timeout=10)
        try:
            yield
        finally:
            await pool.close()

    api = FastAPI(title="Coaching AI", lifespan=lifespan)

    def caller(authorization: Annotated[str, Header()] = "") -> dict[str, Any]:
        if not authorization.startswith("Bearer "):
            log.warning("Auth failure reason=missing_token")
            raise HTTPException(401, "a Bearer token from the Django API is required")
        try:
            return jwt.decode(authorization[7:], key, algorithms=["HS256"], issuer=ISSUER,
                              options={"require": ["exp", "sub"]})  # fmt: skip
        except jwt.InvalidTokenError as err:
            log.warning("Auth failure reason=%s", type(err).__name__)
            raise HTTPException(401, "invalid token") from None

    User = Annotated[dict[str, Any], Depends(caller)]

    async def retrieve(text: str, limit: int = 2) -> list[str]:
        started = time.perf_counter()
        try:
            async with pool.connection() as conn:
                cursor = await conn.execute(RAG_SQL, (text, text, limit))
                rows = await cursor.fetchall()
        except Exception:
            llm.rag_queries.labels("error").inc()
            log.exception("RAG query failed")
            raise HTTPException(503, "knowledge base unavailable") from None
        finally:
            rag_seconds.observe(time.perf_counter() - started)
        llm.rag_query(found=bool(rows))
        return [r[0] for r in rows]

    async def ask(model: str, messages: list[dict[str, str]]) -> Any:
        try:
            return await client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
        except openai.APIError as err:
            log.error("OpenAI call failed model=%s error=%s", model, type(err).__name__)
            raise HTTPException(502, f"the language model failed ({type(err).__name__})") from None

    @api.post("/v1/coach")
    async def coach(question: Question, user: User) -> dict[str, Any]:
        conversation = question.conversation_id or uuid.uuid4().hex
        conversations.seen(conversation, user["sub"])
        passages = await retrieve(question.message, limit=1)
        context = f"Context: {passages[0]}" if passages else "Context: none"
        reply = await ask(CHAT_MODEL, [
            {"role": "system", "content": f"{SYSTEM} {context}"},
            {"role": "user", "content": question.message},
        ])  # fmt: skip
        return {"conversation_id": conversation, "answer": reply.choices[0].message.content,
                "sources": len(passages)}  # fmt: skip

    @api.post("/v1/plan")
    async def plan(request: PlanRequest, user: User) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            passages = await retrieve(f"plan {request.goal}", limit=1)
            reply = await ask(PLAN_MODEL, [
                {"role": "system", "content": f"{SYSTEM} Write a weekly plan. {' '.join(passages)}"},
                {"role": "user", "content": f"{request.weeks} weeks for: {request.goal}"},
            ])  # fmt: skip
        finally:
            plan_seconds.observe(time.perf_counter() - started)
        return {"user": user["sub"], "weeks": request.weeks, "plan": reply.choices[0].message.content}

    @api.get("/v1/knowledge")
    async def knowledge(q: str, user: User) -> dict[str, Any]:
        return {"query": q[:200], "passages": await retrieve(q[:200], limit=3)}

    async def can_query() -> None:
        async with pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")

    api.router.routes.append(Route("/metrics", make_asgi_app()))
    health = Health([checks.custom("database", can_query)])
    return HealthMiddleware(PrometheusMiddleware(api), health=health)
