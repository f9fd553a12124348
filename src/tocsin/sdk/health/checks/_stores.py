"""Cache and document stores: Redis (set/get/delete of a namespaced key with a TTL) and MongoDB (``ping``).

Drivers are imported when the check is made, never inside a probe's timeout (see ``_sql``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .._check import BaseCheck, CheckFailed, Observation
from .._redact import dsn_secrets
from .._threads import ThreadGate

__all__ = ["MongoCheck", "RedisCheck", "mongo", "redis"]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


class RedisCheck(BaseCheck):
    """Writes, reads back and deletes ``<namespace>:<uuid>`` (with a TTL, so a crash leaves nothing for long).

    A ``PING`` passes on a read-only replica or a full instance; a write is what
    a cache user needs (seed 002's ``cache.set`` + ``cache.get``).
    """

    component_type = "datastore"
    measurement = "responseTime"

    def __init__(
        self,
        name: str,
        target: Any,
        *,
        namespace: str,
        key_ttl: int,
        critical: bool,
        timeout: float | None,
        connect_timeout: float | None,
    ) -> None:
        secrets = dsn_secrets(target) if isinstance(target, str) else ()
        super().__init__(
            name, critical=critical, timeout=timeout, connect_timeout=connect_timeout, secrets=secrets
        )
        self.target = target
        self.namespace = namespace
        self.key_ttl = key_ttl
        self._gate = ThreadGate(name)
        self._redis_asyncio: Any = None
        if isinstance(target, str):
            import redis.asyncio

            self._redis_asyncio = redis.asyncio

    async def __call__(self) -> Observation:
        key = f"{self.namespace}:{uuid.uuid4().hex}"
        token = uuid.uuid4().hex
        started = time.perf_counter()
        if self._redis_asyncio is not None:
            client = self._redis_asyncio.from_url(
                self.target,
                socket_connect_timeout=self.connect_timeout(),
                socket_timeout=self.timeout,
            )
            try:
                await self._roundtrip_async(client, key, token)
            finally:
                await client.aclose()
        elif hasattr(self.target, "aclose"):  # a redis.asyncio client of the application
            await self._roundtrip_async(self.target, key, token)
        else:  # a sync redis.Redis client of the application
            await self._gate.run(lambda: self._roundtrip_sync(self.target, key, token))
        return Observation(_ms(started), "ms")

    async def _roundtrip_async(self, client: Any, key: str, token: str) -> None:
        await client.set(key, token, ex=self.key_ttl)
        got = await client.get(key)
        await client.delete(key)
        _same(got, token)

    def _roundtrip_sync(self, client: Any, key: str, token: str) -> None:
        client.set(key, token, ex=self.key_ttl)
        got = client.get(key)
        client.delete(key)
        _same(got, token)


def _same(got: object, token: str) -> None:
    if isinstance(got, bytes):
        got = got.decode()
    if got != token:
        raise CheckFailed("the value read back differs from the value written")


class MongoCheck(BaseCheck):
    """``ping`` on the ``admin`` database with server-selection, connect and socket timeouts."""

    component_type = "datastore"
    measurement = "responseTime"

    def __init__(
        self, name: str, url: str, *, critical: bool, timeout: float | None, connect_timeout: float | None
    ) -> None:
        secrets = dsn_secrets(url)
        super().__init__(
            name, critical=critical, timeout=timeout, connect_timeout=connect_timeout, secrets=secrets
        )
        self.url = url
        self._gate = ThreadGate(name)
        import pymongo

        self._pymongo: Any = pymongo

    def _options(self) -> dict[str, Any]:
        connect_ms = int(self.connect_timeout() * 1000)
        return {
            "serverSelectionTimeoutMS": connect_ms,
            "connectTimeoutMS": connect_ms,
            "socketTimeoutMS": int((self.timeout or self.connect_timeout()) * 1000),
        }

    async def __call__(self) -> Observation:
        pymongo = self._pymongo
        started = time.perf_counter()
        async_client = getattr(pymongo, "AsyncMongoClient", None)
        if async_client is not None:
            client = async_client(self.url, **self._options())
            try:
                await client.admin.command("ping")
            finally:
                await client.close()
        else:

            def ping() -> None:
                sync_client: Any = pymongo.MongoClient(self.url, **self._options())
                with sync_client:
                    sync_client.admin.command("ping")

            await self._gate.run(ping)
        return Observation(_ms(started), "ms")


def redis(
    name: str,
    target: Any,
    *,
    namespace: str = "tocsin:health",
    key_ttl: int = 30,
    critical: bool = True,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> RedisCheck:
    """Redis check from a URL (``redis://[:password@]host:port/db``) or a ``redis``/``redis.asyncio`` client.

    The key is ``<namespace>:<random>``, written with a ``key_ttl`` seconds expiry and deleted at once.
    """
    return RedisCheck(
        name,
        target,
        namespace=namespace,
        key_ttl=key_ttl,
        critical=critical,
        timeout=timeout,
        connect_timeout=connect_timeout,
    )


def mongo(
    name: str,
    url: str,
    *,
    critical: bool = True,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> MongoCheck:
    """A MongoDB check (pymongo ``ping``) from a ``mongodb://`` or ``mongodb+srv://`` URL."""
    return MongoCheck(name, url, critical=critical, timeout=timeout, connect_timeout=connect_timeout)
