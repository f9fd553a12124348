"""Health endpoints for Django, and a check of Django's own database connections.

::

    # urls.py
    from tocsin.sdk.health import Health, checks
    from tocsin.sdk.health.django import database, urls

    health = Health(ready=[database(), checks.redis("cache", REDIS_URL, critical=False)])
    urlpatterns = [..., *urls(health)]          # /health, /health/live, /health/ready

The check opens its cursor in a worker thread and closes that thread's
connection before the thread ends, so probes never leak connections
(django-health-check #178, #701).
"""

from __future__ import annotations

import time
from typing import Any

from ._check import BaseCheck, Observation
from ._endpoint import EndpointConfig
from ._runner import Health, Probe
from ._threads import ThreadGate

__all__ = ["DatabaseCheck", "database", "urls"]


class DatabaseCheck(BaseCheck):
    """``SELECT 1`` on ``django.db.connections[alias]``, in a thread that closes its connection."""

    component_type = "datastore"
    measurement = "responseTime"

    def __init__(self, name: str, alias: str, *, critical: bool, timeout: float | None) -> None:
        super().__init__(name, critical=critical, timeout=timeout)
        self.alias = alias
        self._gate = ThreadGate(name)
        from django.db import connections  # now, not inside the first probe's timeout

        self._connections = connections

    async def __call__(self) -> Observation:
        connections = self._connections
        settings = connections.settings[self.alias]
        self.secrets = tuple(s for s in (settings.get("PASSWORD"),) if s)

        def ping() -> None:
            connection = connections[self.alias]
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
            finally:
                connection.close()

        started = time.perf_counter()
        await self._gate.run(ping)
        return Observation(round((time.perf_counter() - started) * 1000, 2), "ms")


def database(
    alias: str = "default", *, name: str | None = None, critical: bool = True, timeout: float | None = None
) -> DatabaseCheck:
    """A check of the Django database ``alias`` (named ``database`` or ``database:<alias>``)."""
    default = "database" if alias == "default" else f"database:{alias}"
    return DatabaseCheck(name or default, alias, critical=critical, timeout=timeout)


def urls(health: Health, *, path: str = "health", **config: Any) -> list[Any]:
    """URL patterns for ``/<path>``, ``/<path>/live`` and ``/<path>/ready`` (mounted at the URLconf root)."""
    from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
    from django.urls import path as url_path

    endpoint = EndpointConfig(health, path=path, **config)

    def view(request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        last = request.path.rstrip("/").rsplit("/", 1)[-1]  # works when included under a prefix too
        probe: Probe = "live" if last == "live" else "ready" if last == "ready" else "all"
        answer = endpoint.answer(health.check_sync(probe), request.headers.get)
        response = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
        for key, value in answer.headers:
            response[key] = value
        return response

    base = endpoint.path.strip("/")
    return [
        url_path(base, view, name="tocsin-health"),
        url_path(f"{base}/live", view, name="tocsin-health-live"),
        url_path(f"{base}/ready", view, name="tocsin-health-ready"),
    ]
