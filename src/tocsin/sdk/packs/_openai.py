"""Wrappers for the OpenAI Python client (``OpenAI`` and ``AsyncOpenAI``), streaming included.

:func:`instrument_openai` replaces ``create`` on the client's
``chat.completions``, ``completions``, ``embeddings`` and ``responses``
resources (on that client object only) by a timed version recording into an
:class:`~tocsin.sdk.packs.LLM`. Usage comes from the response's ``usage``
(``prompt_tokens``/``completion_tokens``, or the Responses API's
``input_tokens``/``output_tokens``). A stream (``stream=True``) is wrapped so
that the request ends when the stream is exhausted or closed: its duration is
the whole stream, the first chunk gives ``time_to_first_token_seconds``, and
tokens are counted when the stream carries usage (pass
``stream_options={"include_usage": True}``; without it the API sends none and
tokens are not invented). Any client with the same shape works (Azure, vLLM,
Ollama's OpenAI-compatible endpoint); openai itself is never imported here.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from .llm import LLM, outcome_of

__all__ = ["instrument_openai"]

C = TypeVar("C")
_RESOURCES = (("chat", "completions"), ("completions",), ("embeddings",), ("responses",))
_perf_counter = time.perf_counter


def _usage(obj: Any) -> tuple[float, float] | None:
    usage = getattr(obj, "usage", None)
    if usage is None:
        return None
    prompt = getattr(usage, "prompt_tokens", None)
    if prompt is None:
        prompt = getattr(usage, "input_tokens", 0)
    completion = getattr(usage, "completion_tokens", None)
    if completion is None:
        completion = getattr(usage, "output_tokens", 0)
    return float(prompt or 0), float(completion or 0)


class _StreamState:
    """What a stream has shown so far; :meth:`finish` records it once."""

    def __init__(self, llm: LLM, model: str, started: float) -> None:
        self.llm = llm
        self.model = model
        self.started = started
        self.first: float | None = None
        self.usage: tuple[float, float] | None = None
        self.done = False

    def chunk(self, chunk: Any) -> None:
        if self.first is None:
            self.first = _perf_counter() - self.started
            self.llm.first_token_after(self.model, self.first)
        usage = _usage(chunk)
        if usage is None:
            response = getattr(chunk, "response", None)  # Responses API: the completed event
            usage = _usage(response) if response is not None else None
        if usage is not None:
            self.usage = usage

    def finish(self, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        elapsed = _perf_counter() - self.started
        if error is not None:
            self.llm.record(self.model, elapsed, outcome=outcome_of(error), error=error)
        else:
            prompt, completion = self.usage or (0.0, 0.0)
            self.llm.record(self.model, elapsed, prompt, completion)


class _Stream:
    """A sync stream proxy: iterate it, use it as a context manager, close it; the rest is the stream's."""

    def __init__(self, stream: Any, state: _StreamState) -> None:
        self._stream = stream
        self._state = state

    def __iter__(self) -> Iterator[Any]:
        try:
            for chunk in self._stream:
                self._state.chunk(chunk)
                yield chunk
        except GeneratorExit:  # the consumer stopped early: the request ends here
            self._state.finish()
            raise
        except Exception as err:
            self._state.finish(err)
            raise
        self._state.finish()

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._state.finish()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _AsyncStream:
    """The asyncio twin of :class:`_Stream`."""

    def __init__(self, stream: Any, state: _StreamState) -> None:
        self._stream = stream
        self._state = state

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for chunk in self._stream:
                self._state.chunk(chunk)
                yield chunk
        except GeneratorExit:  # the consumer stopped early: the request ends here
            self._state.finish()
            raise
        except Exception as err:
            self._state.finish(err)
            raise
        self._state.finish()

    async def __aenter__(self) -> _AsyncStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        try:
            await self._stream.close()
        finally:
            self._state.finish()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _record(llm: LLM, model: str, started: float, response: Any) -> None:
    prompt, completion = _usage(response) or (0.0, 0.0)
    llm.record(model, _perf_counter() - started, prompt, completion)


def _fail(llm: LLM, model: str, started: float, error: Exception) -> None:
    llm.record(model, _perf_counter() - started, outcome=outcome_of(error), error=error)


def _wrap(create: Callable[..., Any], llm: LLM) -> Callable[..., Any]:
    """A timed ``create``. The async client's ``create`` is a plain function returning a coroutine
    (openai's argument-checking decorator hides the ``async def``), so the kind is seen per call."""

    async def finish_async(pending: Any, model: str, started: float, streaming: bool) -> Any:
        try:
            response = await pending
        except Exception as err:
            _fail(llm, model, started, err)
            raise
        if streaming:
            return _AsyncStream(response, _StreamState(llm, model, started))
        _record(llm, model, started, response)
        return response

    @functools.wraps(create)
    def timed_create(*args: Any, **kwargs: Any) -> Any:
        model = str(kwargs.get("model", "unknown"))
        streaming = bool(kwargs.get("stream"))
        started = _perf_counter()
        try:
            response = create(*args, **kwargs)
        except Exception as err:
            _fail(llm, model, started, err)
            raise
        if inspect.isawaitable(response):
            return finish_async(response, model, started, streaming)
        if streaming:
            return _Stream(response, _StreamState(llm, model, started))
        _record(llm, model, started, response)
        return response

    timed_create.__tocsin_wrapped__ = True  # type: ignore[attr-defined]
    return timed_create


def instrument_openai(client: C, llm: LLM | None = None) -> C:
    """Time every ``create`` of ``client`` (an ``openai.OpenAI`` or ``AsyncOpenAI``) into ``llm``.

    Returns the same client. Instrumenting it twice changes nothing.
    """
    llm = llm if llm is not None else LLM()
    for path in _RESOURCES:
        resource: Any = client
        for part in path:
            resource = getattr(resource, part, None)
            if resource is None:
                break
        create = getattr(resource, "create", None) if resource is not None else None
        if create is None or getattr(create, "__tocsin_wrapped__", False):
            continue
        resource.create = _wrap(create, llm)
    return client
