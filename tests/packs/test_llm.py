"""The LLM pack and its OpenAI wrappers against a local OpenAI-compatible server (sync, async, streams)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest
from tests.conftest import serve_uvicorn
from tests.packs.openai_server import WORDS, app

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import LLM, Price, instrument_openai
from tocsin.testing import sample_value

pytestmark = pytest.mark.integration

PRICES = {"gpt-4o-mini": Price(prompt=150_000, completion=600_000)}  # per million: 0.15 and 0.60 a token
MESSAGES = [{"role": "user", "content": "plan my running week"}]  # 4 prompt tokens on the test server


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    url, stop = serve_uvicorn(app)
    yield url + "/v1"
    stop()


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return sample_value(metrics, name, {"provider": "openai", "model": "gpt-4o-mini", **labels})


def test_sync_completion_records_latency_tokens_and_cost(server: str, metrics: Metrics) -> None:
    llm = LLM(namespace="openai", prices=PRICES, currency="EUR")
    client = instrument_openai(openai.OpenAI(base_url=server, api_key="test-key"), llm)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "".join(WORDS)
    assert value(metrics, "openai_requests_total", outcome="success") == 1
    assert value(metrics, "openai_request_duration_seconds_count") == 1
    assert value(metrics, "openai_tokens_total", type="prompt") == 4
    assert value(metrics, "openai_tokens_total", type="completion") == len(WORDS)
    assert value(metrics, "openai_cost_total", currency="EUR") == pytest.approx(4 * 0.15 + 6 * 0.60)
    assert instrument_openai(client, llm) is client  # twice: still one wrapper
    client.embeddings.create(model="gpt-4o-mini", input=["a b", "c"])
    assert value(metrics, "openai_requests_total", outcome="success") == 2
    assert value(metrics, "openai_tokens_total", type="prompt") == 4 + 3


def test_a_stream_is_timed_to_its_end_with_first_token_and_usage(server: str, metrics: Metrics) -> None:
    llm = LLM(namespace="openai", prices=PRICES)
    client = instrument_openai(openai.OpenAI(base_url=server, api_key="test-key"), llm)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )  # fmt: skip
    assert value(metrics, "openai_requests_total", outcome="success") is None  # not over yet
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "".join(WORDS)
    assert value(metrics, "openai_requests_total", outcome="success") == 1
    assert value(metrics, "openai_time_to_first_token_seconds_count") == 1
    assert value(metrics, "openai_tokens_total", type="completion") == len(WORDS)
    duration = value(metrics, "openai_request_duration_seconds_sum")
    first = value(metrics, "openai_time_to_first_token_seconds_sum")
    assert duration is not None and first is not None and duration > first


def test_a_stream_left_early_still_ends_the_request(server: str, metrics: Metrics) -> None:
    llm = LLM(namespace="openai")
    client = instrument_openai(openai.OpenAI(base_url=server, api_key="test-key"), llm)
    with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:  # type: ignore[arg-type]
        for _chunk in stream:
            break
    assert value(metrics, "openai_requests_total", outcome="success") == 1
    assert value(metrics, "openai_tokens_total", type="completion") == 0  # no usage sent: none invented


def test_async_client_and_async_stream(server: str, metrics: Metrics) -> None:
    llm = LLM(namespace="openai", prices=PRICES)

    async def scenario() -> str:
        client = instrument_openai(openai.AsyncOpenAI(base_url=server, api_key="test-key"), llm)
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True},
        )  # fmt: skip
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        await client.close()
        return "".join(parts)

    assert asyncio.run(scenario()) == "".join(WORDS)
    assert value(metrics, "openai_requests_total", outcome="success") == 2
    assert value(metrics, "openai_tokens_total", type="completion") == 2 * len(WORDS)
    assert value(metrics, "openai_time_to_first_token_seconds_count") == 1


def test_errors_and_timeouts_by_type(server: str, metrics: Metrics) -> None:
    llm = LLM(namespace="openai")
    client = instrument_openai(openai.OpenAI(base_url=server, api_key="k", max_retries=0, timeout=0.5), llm)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="rate-limited", messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="slow", messages=MESSAGES)  # type: ignore[arg-type]
    rate = {"provider": "openai", "model": "rate-limited"}
    assert sample_value(metrics, "openai_requests_total", {**rate, "outcome": "error"}) == 1
    assert sample_value(metrics, "openai_errors_total", {**rate, "type": "RateLimitError"}) == 1
    slow = {"provider": "openai", "model": "slow"}
    assert sample_value(metrics, "openai_requests_total", {**slow, "outcome": "timeout"}) == 1
    assert sample_value(metrics, "openai_errors_total", {**slow, "type": "APITimeoutError"}) == 1


def test_any_client_through_request_and_rag(metrics: Metrics, caplog: pytest.LogCaptureFixture) -> None:
    llm = LLM(provider="mistral", prices={})
    with llm.request("mistral-small") as call:
        call.tokens(10, 20)
    llm.rag_query(found=True)
    llm.rag_query(found=False)
    labels = {"provider": "mistral", "model": "mistral-small"}
    assert sample_value(metrics, "llm_tokens_total", {**labels, "type": "completion"}) == 20
    assert sample_value(metrics, "llm_cost_total", labels) is None
    assert "no price for model 'mistral-small'" in caplog.text
    assert sample_value(metrics, "rag_queries_total", {"outcome": "success"}) == 1
    assert sample_value(metrics, "rag_queries_total", {"outcome": "empty"}) == 1
