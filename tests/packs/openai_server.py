"""A small OpenAI-compatible HTTP server for the LLM pack's tests (there is no OpenAI endpoint here).

It answers ``POST /v1/chat/completions`` (JSON, or server-sent events with
``stream: true``, with a usage chunk when ``stream_options.include_usage``)
and ``POST /v1/embeddings``, in the shapes of the OpenAI API reference.
Special models: ``rate-limited`` answers 429, ``slow`` waits 2 s before answering.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = ["Run", " three", " times", " a", " week", "."]


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _prompt_tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))


async def chat(request: Request) -> Response:
    body = await request.json()
    model = body["model"]
    if model == "rate-limited":
        error = {
            "error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}
        }
        return JSONResponse(error, status_code=429)
    if model == "slow":
        await asyncio.sleep(2)
    created = int(time.time())
    base = {"id": "chatcmpl-test", "created": created, "model": f"{model}-2024-07-18"}
    prompt = _prompt_tokens(body)
    if body.get("stream"):
        include_usage = (body.get("stream_options") or {}).get("include_usage", False)

        async def events() -> AsyncIterator[bytes]:
            for index, word in enumerate(WORDS):
                delta = {"role": "assistant", "content": word} if index == 0 else {"content": word}
                chunk = {**base, "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
                yield f"data: {json.dumps(chunk)}\n\n".encode()
                await asyncio.sleep(0.01)
            last = {**base, "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}  # fmt: skip
            yield f"data: {json.dumps(last)}\n\n".encode()
            if include_usage:
                usage = {**base, "object": "chat.completion.chunk", "choices": [],
                         "usage": _usage(prompt, len(WORDS))}  # fmt: skip
                yield f"data: {json.dumps(usage)}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    message = {"role": "assistant", "content": "".join(WORDS)}
    completion = {**base, "object": "chat.completion",
                  "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                  "usage": _usage(prompt, len(WORDS))}  # fmt: skip
    return JSONResponse(completion)


async def embeddings(request: Request) -> Response:
    body = await request.json()
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i, _ in enumerate(inputs)]
    tokens = sum(len(str(text).split()) for text in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
    ]
)
