"""``stack.long_term``: where samples go for the long run, beyond one Prometheus' retention and disk.

::

    stack:
      long_term: victoriametrics            # run Debian's VictoriaMetrics here, as a supervised component
    stack:
      long_term: {retention: 2y, port: 8428}
    stack:                                  # or an engine elsewhere: only remote_write is compiled
      long_term: https://vminsert.example.org/insert/0/prometheus/api/v1/write
    stack:
      long_term: {url: https://mimir.example.org/api/v1/push, tenant: shop,
                  query_url: https://mimir.example.org/prometheus}

Every Prometheus (both of an HA pair) remote-writes to it. An HA pair's samples differ only in the
``replica`` external label; each engine deduplicates them its own way, which the compiler follows:
VictoriaMetrics (single node or cluster) gets them without ``replica`` and keeps one sample per
``dedup_interval`` (``-dedup.minScrapeInterval``; default: the scrape interval), Mimir gets ``replica``
as ``__replica__`` plus a ``cluster`` label for its HA tracker, Thanos Receive keeps ``replica`` for the
querier's ``--query.replica-label``. The console, ``export``, ``report`` and ``backtest`` read from
:func:`long_term_query_url` when it gives one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from tocsin import ports
from tocsin.spec._types import Duration, FilePath, PositiveDuration, StrictModel, duration_seconds

if TYPE_CHECKING:
    from tocsin.spec._model import Spec
    from tocsin.spec._stack import Stack

__all__ = [
    "LONG_TERM_ENGINES",
    "LongTerm",
    "LongTermAuth",
    "fill_long_term",
    "long_term_query_url",
    "long_term_reads",
    "long_term_warnings",
    "long_term_write_url",
]

Engine = Literal["victoriametrics", "victoriametrics-cluster", "mimir", "thanos-receive"]
LONG_TERM_ENGINES: tuple[str, ...] = ("victoriametrics", "victoriametrics-cluster", "mimir", "thanos-receive")

#: the write path each engine serves, and the PromQL API base it answers on the same host
_PATHS: dict[str, tuple[str, str]] = {
    "victoriametrics": ("/api/v1/write", ""),
    "mimir": ("/api/v1/push", "/prometheus"),
    "thanos-receive": ("/api/v1/receive", ""),
}
_CLUSTER_WRITE = re.compile(r"/insert/(?P<tenant>\d+(?::\d+)?)/prometheus(?:/api/v1/write)?$")


def _guess_engine(url: str) -> str:
    path = urlsplit(url).path
    if "/insert/" in path:
        return "victoriametrics-cluster"
    if path.endswith("/api/v1/push"):
        return "mimir"
    if path.endswith("/api/v1/receive"):
        return "thanos-receive"
    return "victoriametrics"


class LongTermAuth(StrictModel):
    """Credentials for an external engine, from files only."""

    username: str | None = None
    password_file: FilePath | None = None
    bearer_token_file: FilePath | None = None

    @model_validator(mode="after")
    def _one_scheme(self) -> LongTermAuth:
        basic = self.username is not None or self.password_file is not None
        if basic == (self.bearer_token_file is not None):
            raise ValueError("one way to authenticate: username + password_file, or bearer_token_file")
        if basic and not (self.username and self.password_file):
            raise ValueError("basic auth needs a username and a password_file: add the missing one")
        return self


class LongTerm(StrictModel):
    """A long-term store: VictoriaMetrics run by ``tocsin up`` (no ``url``), or an external engine."""

    engine: Engine = "victoriametrics"
    #: the remote-write URL of an external engine; without it ``tocsin up`` runs VictoriaMetrics here
    url: str | None = None
    #: where its PromQL API answers (derived for VictoriaMetrics and Mimir on the write URL's host)
    query_url: str | None = None
    enabled: bool = True
    port: Annotated[int, Field(ge=1, le=65535)] = ports.VICTORIAMETRICS
    retention: Duration = "1y"
    #: one sample kept per interval and series (``-dedup.minScrapeInterval``); default: the scrape interval
    dedup_interval: PositiveDuration | None = None
    #: Mimir: the X-Scope-OrgID header (a VictoriaMetrics cluster's tenant is in its URL: /insert/<id>/)
    tenant: str | None = None
    auth: LongTermAuth | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value == "victoriametrics":
                return {}
            if value.startswith(("http://", "https://")):
                return {"url": value, "engine": _guess_engine(value)}
            raise ValueError(
                f"{value!r} is neither 'victoriametrics' nor an http(s):// remote-write URL: "
                "write long_term: victoriametrics, or the URL of your engine's write endpoint"
            )
        if isinstance(value, dict) and value.get("url") and "engine" not in value:
            return {**value, "engine": _guess_engine(str(value["url"]))}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LongTerm:
        for key in ("url", "query_url"):
            url = getattr(self, key)
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"{key} {url!r} is not an HTTP URL: start it with http:// or https://")
        if self.url is None and self.engine != "victoriametrics":
            example = {"mimir": "https://mimir.example.org/api/v1/push"}.get(
                self.engine, "https://vminsert.example.org/insert/0/prometheus/api/v1/write"
            )
            if self.engine == "thanos-receive":
                example = "https://receive.example.org/api/v1/receive"
            raise ValueError(
                f"engine {self.engine} runs elsewhere and needs a url: "
                f"give its write endpoint, e.g. {example}"
            )
        if self.url is None and self.auth is not None:
            raise ValueError("auth is for an external engine: give its url, or drop auth")
        return self

    @property
    def local(self) -> bool:
        """``tocsin up`` runs it (VictoriaMetrics on this machine)."""
        return self.url is None


def long_term_write_url(stack: Stack) -> str | None:
    """Where every Prometheus remote-writes, or None without an enabled ``long_term``."""
    lt = stack.long_term
    if lt is None or not lt.enabled:
        return None
    if lt.url is not None:
        return lt.url
    return f"http://{stack.host}:{lt.port}/api/v1/write"


def long_term_query_url(stack: Stack) -> str | None:
    """The PromQL API base to read history from (``<it>/api/v1/query_range``), or None: read Prometheus.

    Thanos Receive serves no PromQL, and a VictoriaMetrics cluster's vmselect may live on another host
    than vminsert: give ``query_url`` for those.
    """
    lt = stack.long_term
    if lt is None or not lt.enabled:
        return None
    if lt.query_url is not None:
        return lt.query_url.rstrip("/")
    if lt.url is None:
        return f"http://{stack.host}:{lt.port}"
    url = lt.url.rstrip("/")
    if lt.engine == "victoriametrics-cluster":  # vminsert's /insert/<tenant>/... -> vmselect's /select/...
        match = _CLUSTER_WRITE.search(url)
        return url[: match.start()] + f"/select/{match['tenant']}/prometheus" if match else None
    write, read = _PATHS[lt.engine]
    if lt.engine == "thanos-receive" or not url.endswith(write):
        return None
    return url.removesuffix(write) + read


def long_term_reads(stack: Stack, since: float, now: float) -> str | None:
    """The long-term store's PromQL API when a read of samples from ``since`` (Unix seconds) on reaches
    further back than Prometheus keeps them (``stack.prometheus.retention`` before ``now``); else None:
    Prometheus has them, with its latest scrapes at full resolution."""
    url = long_term_query_url(stack)
    if url is None or since >= now - duration_seconds(stack.prometheus.retention):
        return None
    return url


def fill_long_term(spec: Spec) -> tuple[Spec, dict[tuple[str | int, ...], tuple[str | int, ...]]]:
    """Expansion: an unset ``dedup_interval`` becomes the scrape interval (after any profile)."""
    lt = spec.stack.long_term
    if lt is None or lt.dedup_interval is not None:
        return spec, {}
    filled = lt.model_copy(update={"dedup_interval": spec.scrape.interval})
    stack = spec.stack.model_copy(update={"long_term": filled})
    return spec.model_copy(update={"stack": stack}), {}


def long_term_warnings(spec: Spec) -> Iterable[tuple[tuple[str | int, ...], str, str]]:
    """A long-term store nothing can read back from, and a dedup interval longer than scrapes."""
    lt = spec.stack.long_term
    if lt is None or not lt.enabled:
        return
    if long_term_query_url(spec.stack) is None:
        yield (
            ("stack", "long_term"),
            f"nothing reads from the {lt.engine} at {lt.url}: console, export and reports stay on Prometheus",
            "give query_url (a Thanos Query or vmselect address) to read history from it",
        )
    if lt.dedup_interval is not None and duration_seconds(lt.dedup_interval) > duration_seconds(
        spec.scrape.interval
    ):
        yield (
            ("stack", "long_term", "dedup_interval"),
            f"dedup_interval {lt.dedup_interval} is longer than the scrape interval {spec.scrape.interval}: "
            "samples in between are dropped (downsampling)",
            "leave dedup_interval out to use the scrape interval",
        )
