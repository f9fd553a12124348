"""LLM calls (seeds 004, 001): latency, tokens, cost from a price table, errors and timeouts, RAG.

::

    from tocsin.sdk.packs import LLM, Price, instrument_openai

    llm = LLM(provider="openai", namespace="openai", currency="EUR",
              prices={"gpt-4o-mini": Price(prompt=0.14, completion=0.55)})   # per million tokens
    client = instrument_openai(openai.OpenAI(), llm)      # sync, async, and stream=True alike
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[...])

    with llm.request("gpt-4o-mini") as call:              # any other client
        answer = my_provider.complete(prompt)
        call.tokens(answer.prompt_tokens, answer.completion_tokens)
    llm.rag_query(found=bool(passages))

Metrics (namespace ``llm``; ``openai`` gives seed 004's names):
``request_duration_seconds{provider, model}`` (histogram, 0.1 s to 5 min),
``requests_total{provider, model, outcome}`` (``success``, ``error``,
``timeout``), ``errors_total{provider, model, type}`` (the exception class),
``tokens_total{provider, model, type}`` (``prompt``, ``completion``),
``cost_total{provider, model, currency}``, ``time_to_first_token_seconds``
(streams) and, under their own namespace (``rag``), ``rag_queries_total{outcome}``.
``model`` is the model asked for, not the dated one answered, so the price
table and the labels stay stable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics, child
from ._buckets import LLM_BUCKETS

__all__ = ["LLM", "LLMCall", "Price"]

_log = logging.getLogger("tocsin.packs.llm")
_perf_counter = time.perf_counter


@dataclass(frozen=True)
class Price:
    """What a model costs per **million** tokens, prompt (input) and completion (output)."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1_000_000


class LLM:
    """The metrics of calls to one LLM provider (see the module docstring)."""

    def __init__(
        self,
        *,
        provider: str = "openai",
        prices: Mapping[str, Price] | None = None,
        currency: str = "USD",
        namespace: str = "llm",
        rag_namespace: str = "rag",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        rag = PackMetrics(rag_namespace, pack.factory, pack.registry)
        labels = ["provider", "model"]
        self.provider = provider
        self.prices = dict(prices or {})
        self.currency = currency
        self.duration = pack.histogram(
            "request_duration_seconds", "LLM request latency.", labels, buckets=LLM_BUCKETS
        )
        self.requests = pack.counter("requests_total", "LLM requests, by outcome.", [*labels, "outcome"])
        self.errors = pack.counter(
            "errors_total", "LLM requests that failed, by error type.", [*labels, "type"]
        )
        self.tokens = pack.counter(
            "tokens_total", "Tokens used, by type (prompt, completion).", [*labels, "type"]
        )
        self.cost = pack.counter(
            "cost_total", "What the requests cost, in the currency label.", [*labels, "currency"]
        )
        self.first_token = pack.histogram(
            "time_to_first_token_seconds", "Streamed requests: time to the first token.", labels,
            buckets=LLM_BUCKETS,
        )  # fmt: skip
        self.rag_queries = rag.counter("queries_total", "RAG retrievals, by outcome.", ["outcome"])
        self._series: dict[Any, Any] = {}
        self._unpriced: set[str] = set()

    def _children(self, model: str, outcome: str) -> tuple[Any, Any, Any, Any, Any | None]:
        key = (model, outcome)
        found = self._series.get(key)
        if found is None:
            provider = self.provider
            price = self.prices.get(model)
            found = (
                self.duration.labels(provider, model),
                self.requests.labels(provider, model, outcome),
                self.tokens.labels(provider, model, "prompt"),
                self.tokens.labels(provider, model, "completion"),
                (self.cost.labels(provider, model, self.currency), price) if price is not None else None,
            )
            if len(self._series) < 1000:
                self._series[key] = found
        return found

    def record(
        self,
        model: str,
        seconds: float,
        prompt_tokens: float = 0,
        completion_tokens: float = 0,
        *,
        outcome: str = "success",
        error: BaseException | None = None,
    ) -> None:
        """One request to ``model`` that took ``seconds`` and used these tokens."""
        duration, requests, prompt, completion, priced = self._children(model, outcome)
        duration.observe(seconds)
        requests.inc()
        if prompt_tokens:
            prompt.inc(prompt_tokens)
        if completion_tokens:
            completion.inc(completion_tokens)
        if priced is not None:
            if prompt_tokens or completion_tokens:
                priced[0].inc(priced[1].cost(prompt_tokens, completion_tokens))
        elif (prompt_tokens or completion_tokens) and model not in self._unpriced:
            self._unpriced.add(model)
            _log.warning("llm: no price for model %r: its cost is not counted (add it to prices=)", model)
        if error is not None:
            self.errors.labels(self.provider, model, type(error).__name__).inc()

    def first_token_after(self, model: str, seconds: float) -> None:
        """A streamed request to ``model`` produced its first token after ``seconds``."""
        key = ("ttft", model)
        found = self._series.get(key)
        if found is None:
            found = child(self._series, self.first_token, key, (self.provider, model))
        found.observe(seconds)

    def request(self, model: str) -> LLMCall:
        """A context manager timing one request; an exception counts as ``error`` or ``timeout``."""
        return LLMCall(self, model)

    def rag_query(self, found: bool) -> None:
        """One retrieval: ``success`` when it found passages, else ``empty``."""
        self.rag_queries.labels("success" if found else "empty").inc()


def outcome_of(error: BaseException) -> str:
    """``timeout`` for timeouts (``openai.APITimeoutError``, ``httpx.ReadTimeout``...), else ``error``."""
    if isinstance(error, TimeoutError) or any("Timeout" in k.__name__ for k in type(error).__mro__):
        return "timeout"
    return "error"


class LLMCall:
    """One request being timed; call :meth:`tokens` inside the block."""

    def __init__(self, llm: LLM, model: str) -> None:
        self.llm = llm
        self.model = model
        self.prompt_tokens: float = 0
        self.completion_tokens: float = 0
        self._started = 0.0

    def tokens(self, prompt: float, completion: float) -> None:
        """The tokens the request used."""
        self.prompt_tokens, self.completion_tokens = prompt, completion

    def __enter__(self) -> LLMCall:
        self._started = _perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        elapsed = _perf_counter() - self._started
        if exc is not None and isinstance(exc, Exception):
            self.llm.record(self.model, elapsed, outcome=outcome_of(exc), error=exc)
        else:
            self.llm.record(self.model, elapsed, self.prompt_tokens, self.completion_tokens)

    async def __aenter__(self) -> LLMCall:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)
