"""Cache hits and misses (seeds 000, 002): counters by cache, redis-py wrappers, a memoising decorator.

::

    from tocsin.sdk.packs import Cache, RedisCache

    ocr_cache = Cache("ocr")
    ocr_cache.hit()                                  # cache_hits_total{cache="ocr"} += 1
    ocr_cache.miss()

    cache = RedisCache(redis.Redis(), "ocr")         # get/mget count hits and misses, the rest passes
    text = cache.get("doc:42")

    @cache.memoize(ttl=3600)                         # JSON in Redis, keyed by the arguments
    def recognise(checksum: str) -> str: ...

Metrics: ``cache_hits_total{cache}``, ``cache_misses_total{cache}``,
``cache_errors_total{cache, operation}`` (the wrapped client raised).
Under ``prefix="ocr"`` they are seed 000's ``ocr_cache_hits_total`` and
``ocr_cache_misses_total``, so its hit-rate query runs unchanged; the spec's
cache pack records ``<prefix>_cache:hit_ratio:rate5m`` and alerts below 50 % / 30 %.

``hit`` and ``miss`` are the counters' bound ``inc`` methods: the raw cost.
The Redis wrappers (sync :class:`RedisCache`, asyncio :class:`AsyncRedisCache`)
live in :mod:`._redis` and import nothing from redis-py: they wrap the client
they are given.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics

__all__ = ["Cache", "memo_key"]

F = TypeVar("F", bound=Callable[..., Any])
_MISSING = object()


class Cache:
    """Hit and miss counters of one named cache, and an in-memory memoiser counting into them."""

    def __init__(
        self,
        name: str = "default",
        *,
        namespace: str = "",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        self.name = name
        self.hits = pack.counter("cache_hits_total", "Cache look-ups that found the value.", ["cache"])
        self.misses = pack.counter("cache_misses_total", "Cache look-ups that did not.", ["cache"])
        self.errors = pack.counter(
            "cache_errors_total", "Cache operations that raised.", ["cache", "operation"]
        )
        self.hit: Callable[..., None] = self.hits.labels(name).inc
        self.miss: Callable[..., None] = self.misses.labels(name).inc

    def record(self, found: bool) -> None:
        """One look-up: a hit when ``found``."""
        (self.hit if found else self.miss)()

    def error(self, operation: str) -> None:
        """One failed cache operation (``get``, ``set``, ...)."""
        self.errors.labels(self.name, operation).inc()

    def memoize(self, maxsize: int = 1024, ttl: float | None = None) -> Callable[[F], F]:
        """Memoise a function (sync or async) in this process, at most ``maxsize`` results, ``ttl`` seconds.

        Arguments must be JSON-serialisable (or have a stable ``str``); see :func:`memo_key`.
        """
        if maxsize <= 0:
            raise ValueError("maxsize must be > 0")
        store: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        lock = threading.Lock()

        def lookup(key: str) -> Any:
            with lock:
                entry = store.get(key)
                if entry is None or (ttl is not None and entry[0] < time.monotonic()):
                    store.pop(key, None)
                    return _MISSING
                store.move_to_end(key)
                return entry[1]

        def remember(key: str, value: Any) -> None:
            with lock:
                expires = time.monotonic() + ttl if ttl is not None else float("inf")
                store[key] = (expires, value)
                store.move_to_end(key)
                while len(store) > maxsize:
                    store.popitem(last=False)

        return _memoizer(self, lookup, remember)


def memo_key(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A stable key for a call: the function's qualified name and a SHA-256 of its JSON-encoded arguments."""
    encoded = json.dumps([args, sorted(kwargs.items())], default=str, separators=(",", ":"))
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:32]
    return f"{function.__module__}.{function.__qualname__}:{digest}"


def _memoizer(
    cache: Cache, lookup: Callable[[str], Any], remember: Callable[[str, Any], None]
) -> Callable[[F], F]:
    """The decorator of a sync look-up/remember pair (in-memory, or Redis through :class:`RedisCache`)."""

    def decorate(function: F) -> F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                key = memo_key(function, args, kwargs)
                value = lookup(key)
                if value is not _MISSING:
                    cache.hit()
                    return value
                cache.miss()
                value = await function(*args, **kwargs)
                remember(key, value)
                return value

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = memo_key(function, args, kwargs)
            value = lookup(key)
            if value is not _MISSING:
                cache.hit()
                return value
            cache.miss()
            value = function(*args, **kwargs)
            remember(key, value)
            return value

        return wrapper  # type: ignore[return-value]

    return decorate
