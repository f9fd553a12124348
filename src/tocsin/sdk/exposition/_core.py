"""The one core every ``/metrics`` front end calls: registry choice, auth, format, gzip.

The ASGI app, the WSGI app, the Django view and the standalone server only
translate their request into :meth:`Exposition.respond` arguments and its
:class:`MetricsResponse` back; none of them formats or authenticates.
Formats are prometheus_client's own (text 0.0.4/1.0.0 and OpenMetrics, chosen
by ``prometheus_client.exposition.choose_encoder`` from ``Accept``).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

from tocsin.errors import ConfigurationError
from tocsin.sdk import _scrape
from tocsin.sdk.multiprocess import ENV_VAR, MultiProcessCollector

from ._auth import Auth

__all__ = ["Exposition", "MetricsResponse", "gzip_allowed"]

_REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
_ALLOWED_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class MetricsResponse:
    """What to send back: status, headers and body (already compressed when the client allows it)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def status_line(self) -> str:
        """``"200 OK"``, as WSGI's ``start_response`` wants it."""
        return f"{self.status} {_REASONS.get(self.status, '')}".rstrip()


def gzip_allowed(accept_encoding: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*``, not with ``q=0``)."""
    if not accept_encoding:
        return False
    allowed: dict[str, bool] = {}
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[coding.lower()] = quality > 0
    if "gzip" in allowed:
        return allowed["gzip"]
    return allowed.get("*", False)


def _plain(status: int, text: str, extra: Iterable[tuple[str, str]] = ()) -> MetricsResponse:
    headers = [("Content-Type", "text/plain; charset=utf-8"), *extra]
    return MetricsResponse(status, headers, text.encode("utf-8"))


class Exposition:
    """Serves one registry (or the multiprocess files) with optional auth.

    ``registry``: what to expose; prometheus_client's global registry by
    default. ``multiprocess``: ``None`` (default) serves the merged files of
    all processes whenever ``PROMETHEUS_MULTIPROC_DIR`` is set, as gunicorn and
    ``uvicorn --workers`` need; ``registry`` then lends its ``target_info`` and
    the constant labels of its tocsin metrics. ``gzip=False`` never compresses.

    Before rendering, a scrape brings up to date what registered to be refreshed on scrapes
    (a :class:`~tocsin.sdk.health.Health`'s check gauges): :meth:`respond` waits for that on
    the caller's thread, an async front end awaits :meth:`refresh` and then calls
    ``respond(..., refresh=False)``.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        auth: Auth | None = None,
        gzip: bool = True,
        multiprocess: bool | None = None,
    ) -> None:
        if auth is not None and not isinstance(auth, Auth):
            raise ConfigurationError("auth= takes tocsin.sdk.exposition.Auth.basic(...) or Auth.bearer(...)")
        if multiprocess and not os.environ.get(ENV_VAR):
            raise ConfigurationError(f"multiprocess=True but {ENV_VAR} is not set (set it before start-up)")
        self.registry = registry if registry is not None else REGISTRY
        self.auth = auth
        self.gzip = gzip
        self._multiprocess = multiprocess
        self._collectors: dict[str, MultiProcessCollector] = {}

    def _merged_path(self) -> str | None:
        return os.environ.get(ENV_VAR) if self._multiprocess is not False else None

    def _hooks(self) -> list[_scrape.ScrapeHook]:
        if not _scrape.has_hooks():
            return []
        return _scrape.hooks_for(self.registry, merged=bool(self._merged_path()))

    def refused(self, method: str, authorization: str | None) -> MetricsResponse | None:
        """The answer to a request that gets no metrics (bad credentials, another method), else ``None``."""
        if self.auth is not None and not self.auth.check(authorization):
            return _plain(401, "unauthorized\n", [("WWW-Authenticate", self.auth.challenge)])
        if method.upper() not in _ALLOWED_METHODS:
            return _plain(405, "method not allowed\n", [("Allow", ", ".join(_ALLOWED_METHODS))])
        return None

    @property
    def refreshes(self) -> bool:
        """Whether a scrape of this exposition has anything to refresh before rendering."""
        return bool(self._hooks())

    async def refresh(self, scrape_timeout: str | None = None) -> None:
        """Refresh what a scrape refreshes, on the running event loop (bounded; never raises).

        ``scrape_timeout``: Prometheus' ``X-Prometheus-Scrape-Timeout-Seconds`` header; the wait
        is then at most half of it, so a hung dependency never makes the scrape itself time out.
        """
        await _scrape.refresh(self._hooks(), _scrape.wait_limit(scrape_timeout))

    def refresh_sync(self, scrape_timeout: str | None = None) -> None:
        """:meth:`refresh` from sync code, waiting on the hooks' own loop threads (bounded; never raises)."""
        _scrape.refresh_sync(self._hooks(), _scrape.wait_limit(scrape_timeout))

    def _source(self) -> CollectorRegistry:
        path = self._merged_path()
        if not path:
            return self.registry
        collector = self._collectors.get(path)
        if collector is None:
            collector = MultiProcessCollector(path=path, constant_labels_from=self.registry)
            self._collectors[path] = collector
        merged = CollectorRegistry(target_info=self.registry.get_target_info())
        merged.register(collector)
        return merged

    def respond(
        self,
        method: str = "GET",
        *,
        authorization: str | None = None,
        accept: str | None = None,
        accept_encoding: str | None = None,
        query_string: str = "",
        scrape_timeout: str | None = None,
        refresh: bool = True,
    ) -> MetricsResponse:
        """Answer one request for the metrics page (``refresh=False``: the caller awaited :meth:`refresh`)."""
        refused = self.refused(method, authorization)
        if refused is not None:
            return refused
        if refresh:
            self.refresh_sync(scrape_timeout)
        source: Any = self._source()
        names = parse_qs(query_string).get("name[]") if query_string else None
        if names:
            source = source.restricted_registry(names)
        encoder, content_type = choose_encoder(accept or "")
        body = encoder(source)
        headers = [("Content-Type", content_type), ("Vary", "Accept, Accept-Encoding")]
        if self.gzip and gzip_allowed(accept_encoding):
            body = gzip.compress(body, compresslevel=6)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        if method.upper() == "HEAD":
            body = b""
        return MetricsResponse(200, headers, body)
