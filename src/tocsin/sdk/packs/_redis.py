"""redis-py wrappers counting hits and misses: :class:`RedisCache` (sync) and :class:`AsyncRedisCache`.

They wrap a client the application made (``redis.Redis`` / ``redis.asyncio.Redis``,
a cluster client, anything with the same methods): ``get``, ``getex``, ``getdel``,
``hget`` and ``mget`` count a hit per value found and a miss per ``None``;
``exists`` counts a hit per key present. Every other attribute is the client's
own (``set``, ``delete``, pipelines...). An exception from the client is counted
in ``cache_errors_total{operation}`` and re-raised. No redis-py import here.

The memoiser stores JSON (never pickle: whatever can write to the Redis would
otherwise run code in the application), under ``<key_prefix><function>:<hash>``.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, TypeVar

from .cache import _MISSING, Cache, memo_key

__all__ = ["AsyncRedisCache", "RedisCache"]

F = TypeVar("F", bound=Callable[..., Any])
_SINGLE = ("get", "getex", "getdel", "hget")


class _Wrapper:
    def __init__(
        self, client: Any, cache: str | Cache = "redis", *, key_prefix: str = "tocsin:memo:"
    ) -> None:
        self.client = client
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)
        self.key_prefix = key_prefix
        self._hit = self.cache.hit
        self._miss = self.cache.miss

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _count_many(self, values: list[Any]) -> list[Any]:
        found = sum(1 for v in values if v is not None)
        if found:
            self._hit(found)
        if len(values) - found:
            self._miss(len(values) - found)
        return values


class RedisCache(_Wrapper):
    """A sync redis-py client whose reads count into ``cache_hits_total``/``cache_misses_total``."""

    def get(self, name: Any) -> Any:
        try:
            value = self.client.get(name)
        except Exception:
            self.cache.error("get")
            raise
        if value is None:
            self._miss()
        else:
            self._hit()
        return value

    def getex(self, name: Any, **kwargs: Any) -> Any:
        return self._single("getex", name, **kwargs)

    def getdel(self, name: Any) -> Any:
        return self._single("getdel", name)

    def hget(self, name: Any, key: Any) -> Any:
        return self._single("hget", name, key)

    def mget(self, keys: Any, *args: Any) -> list[Any]:
        try:
            values = self.client.mget(keys, *args)
        except Exception:
            self.cache.error("mget")
            raise
        return self._count_many(list(values))

    def exists(self, *names: Any) -> int:
        try:
            present = int(self.client.exists(*names))
        except Exception:
            self.cache.error("exists")
            raise
        self._count_many([1] * present + [None] * (len(names) - present))
        return present

    def _single(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        try:
            value = getattr(self.client, operation)(*args, **kwargs)
        except Exception:
            self.cache.error(operation)
            raise
        (self._miss if value is None else self._hit)()
        return value

    def memoize(
        self,
        ttl: float | None = None,
        *,
        dumps: Callable[[Any], str | bytes] = json.dumps,
        loads: Callable[[Any], Any] = json.loads,
    ) -> Callable[[F], F]:
        """Memoise a sync function in Redis for ``ttl`` seconds (JSON by default)."""
        client, cache, prefix = self.client, self.cache, self.key_prefix
        expiry = None if ttl is None else max(1, round(ttl * 1000))

        def decorate(function: F) -> F:
            if inspect.iscoroutinefunction(function):
                raise TypeError("RedisCache.memoize wraps sync functions; use AsyncRedisCache for async def")

            @functools.wraps(function)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                key = prefix + memo_key(function, args, kwargs)
                raw = _guarded(cache, "get", lambda: client.get(key))
                if raw is not None and raw is not _MISSING:
                    cache.hit()
                    return loads(raw)
                cache.miss()
                value = function(*args, **kwargs)
                _guarded(cache, "set", lambda: client.set(key, dumps(value), px=expiry))
                return value

            return wrapper  # type: ignore[return-value]

        return decorate


class AsyncRedisCache(_Wrapper):
    """An asyncio redis-py client (``redis.asyncio.Redis``) whose reads count hits and misses."""

    async def get(self, name: Any) -> Any:
        return await self._single("get", name)

    async def getex(self, name: Any, **kwargs: Any) -> Any:
        return await self._single("getex", name, **kwargs)

    async def getdel(self, name: Any) -> Any:
        return await self._single("getdel", name)

    async def hget(self, name: Any, key: Any) -> Any:
        return await self._single("hget", name, key)

    async def mget(self, keys: Any, *args: Any) -> list[Any]:
        try:
            values = await self.client.mget(keys, *args)
        except Exception:
            self.cache.error("mget")
            raise
        return self._count_many(list(values))

    async def exists(self, *names: Any) -> int:
        try:
            present = int(await self.client.exists(*names))
        except Exception:
            self.cache.error("exists")
            raise
        self._count_many([1] * present + [None] * (len(names) - present))
        return present

    async def _single(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        try:
            value = await getattr(self.client, operation)(*args, **kwargs)
        except Exception:
            self.cache.error(operation)
            raise
        (self._miss if value is None else self._hit)()
        return value

    def memoize(
        self,
        ttl: float | None = None,
        *,
        dumps: Callable[[Any], str | bytes] = json.dumps,
        loads: Callable[[Any], Any] = json.loads,
    ) -> Callable[[F], F]:
        """Memoise an ``async def`` in Redis for ``ttl`` seconds (JSON by default)."""
        client, cache, prefix = self.client, self.cache, self.key_prefix
        expiry = None if ttl is None else max(1, round(ttl * 1000))

        def decorate(function: F) -> F:
            if not inspect.iscoroutinefunction(function):
                raise TypeError("AsyncRedisCache.memoize wraps async def; use RedisCache for sync functions")

            @functools.wraps(function)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                key = prefix + memo_key(function, args, kwargs)
                try:
                    raw = await client.get(key)
                except Exception:
                    cache.error("get")
                    raise
                if raw is not None:
                    cache.hit()
                    return loads(raw)
                cache.miss()
                value = await function(*args, **kwargs)
                try:
                    await client.set(key, dumps(value), px=expiry)
                except Exception:
                    cache.error("set")
                    raise
                return value

            return wrapper  # type: ignore[return-value]

        return decorate


def _guarded(cache: Cache, operation: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception:
        cache.error(operation)
        raise
