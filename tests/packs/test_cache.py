"""The cache pack against a real Redis: sync and asyncio wrappers, memoisers, errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import AsyncRedisCache, Cache, RedisCache
from tocsin.testing import sample_value

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    unique = f"tocsin-test:{uuid.uuid4().hex}:"
    yield unique
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{unique}*"))
    if keys:
        client.delete(*keys)
    client.close()


def hits(metrics: Metrics, cache: str = "ocr") -> tuple[float | None, float | None]:
    return (
        sample_value(metrics, "cache_hits_total", {"cache": cache}),
        sample_value(metrics, "cache_misses_total", {"cache": cache}),
    )


def test_hit_and_miss_count_per_cache(metrics: Metrics) -> None:
    ocr, pages = Cache("ocr"), Cache("pages")
    ocr.hit()
    ocr.hit(2)
    ocr.miss()
    pages.record(False)
    assert hits(metrics) == (3, 1)
    assert hits(metrics, "pages") == (0, 1)


def test_in_memory_memoize_counts_and_expires(metrics: Metrics) -> None:
    cache = Cache("ocr")
    calls: list[str] = []

    @cache.memoize(maxsize=2)
    def recognise(checksum: str) -> str:
        calls.append(checksum)
        return checksum.upper()

    assert [recognise(c) for c in ("a", "a", "b", "c", "a")] == ["A", "A", "B", "C", "A"]
    assert calls == ["a", "b", "c", "a"]  # "a" was evicted by "b" and "c"
    assert hits(metrics) == (1, 4)


@pytest.mark.integration
def test_redis_reads_count_hits_and_misses(metrics: Metrics, prefix: str) -> None:
    cache = RedisCache(redis.Redis.from_url(REDIS_URL), "ocr")
    cache.set(prefix + "doc:1", "text")  # passes through to the client
    assert cache.get(prefix + "doc:1") == b"text"
    assert cache.get(prefix + "doc:2") is None
    assert cache.mget([prefix + "doc:1", prefix + "doc:2", prefix + "doc:3"]) == [b"text", None, None]
    cache.hset(prefix + "h", "field", "v")
    assert cache.hget(prefix + "h", "field") == b"v"
    assert cache.exists(prefix + "doc:1", prefix + "doc:9") == 1
    assert hits(metrics) == (4, 4)
    cache.close()


@pytest.mark.integration
def test_redis_errors_are_counted_and_raised(metrics: Metrics) -> None:
    cache = RedisCache(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5), "ocr")
    with pytest.raises(redis.ConnectionError):
        cache.get("x")
    assert sample_value(metrics, "cache_errors_total", {"cache": "ocr", "operation": "get"}) == 1
    assert hits(metrics) == (0, 0)


@pytest.mark.integration
def test_redis_memoize_stores_json_with_a_ttl(metrics: Metrics, prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    cache = RedisCache(client, "ocr", key_prefix=prefix)
    calls: list[int] = []

    @cache.memoize(ttl=60)
    def price(quantity: int, currency: str = "EUR") -> dict[str, object]:
        calls.append(quantity)
        return {"total": quantity * 2, "currency": currency}

    assert price(3) == price(3) == {"total": 6, "currency": "EUR"}
    assert price(3, currency="CHF")["currency"] == "CHF"
    assert calls == [3, 3]
    assert hits(metrics) == (1, 2)
    (key, *_) = list(client.scan_iter(f"{prefix}*"))
    assert 0 < client.ttl(key) <= 60
    assert client.get(key).startswith(b"{")  # JSON, never pickle
    client.close()


@pytest.mark.integration
def test_asyncio_redis_wrapper_and_memoize(metrics: Metrics, prefix: str) -> None:
    async def scenario() -> list[object]:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        cache = AsyncRedisCache(client, "ocr", key_prefix=prefix)
        await cache.set(prefix + "k", "v")
        got = [await cache.get(prefix + "k"), await cache.get(prefix + "absent")]
        got.append(await cache.mget([prefix + "k", prefix + "absent"]))

        @cache.memoize(ttl=30)
        async def slow_square(x: int) -> int:
            return x * x

        got += [await slow_square(4), await slow_square(4)]
        await client.aclose()
        return got

    assert asyncio.run(scenario()) == [b"v", None, [b"v", None], 16, 16]
    assert hits(metrics) == (3, 3)


def test_memoize_refuses_the_wrong_kind_of_function() -> None:
    sync_cache = RedisCache(object(), "x")
    with pytest.raises(TypeError, match="AsyncRedisCache"):

        @sync_cache.memoize()
        async def f() -> None: ...
