"""The stack's HTTP APIs as the views need them: Prometheus (HA pair: first that answers), Alertmanager's
v2 API (silences, alerts), the receiver's history and the services' health endpoints.

With a long-term store (``stack.long_term``), a query reaching further back than Prometheus keeps
(``retention`` seconds before now) is asked of it first, Prometheus after it should it not answer; newer
ones stay on Prometheus, which has the latest scrapes at full resolution, with the store as the fallback.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tocsin.views._http import HTTPClient, HTTPError
from tocsin.views._schema import ViewModel

__all__ = ["StackAPI", "UpstreamError", "sample_value"]


class UpstreamError(Exception):
    """A component did not answer or answered with an error; the message names it and says why."""


def sample_value(text: str) -> float | None:
    """A Prometheus sample value ("1.5", "NaN", "+Inf") as a float; None for NaN."""
    value = float(text)
    return None if math.isnan(value) else value


class StackAPI:
    """One HTTP client for every component; Prometheus and Alertmanager lists are HA replicas in order."""

    def __init__(
        self,
        prometheus: Sequence[str],
        alertmanager: Sequence[str] = (),
        receiver: str | None = None,
        http: HTTPClient | None = None,
        *,
        long_term: str | None = None,
        retention: float = math.inf,
    ) -> None:
        self.prometheus = [u.rstrip("/") for u in prometheus]
        #: the long-term store's PromQL API base, and how far back (seconds) Prometheus holds samples
        self.long_term = long_term.rstrip("/") if long_term else None
        self.retention = retention
        self.alertmanager = [u.rstrip("/") for u in alertmanager]
        self.receiver = receiver.rstrip("/") if receiver else None
        self.http = http or HTTPClient()

    @classmethod
    def from_model(cls, model: ViewModel) -> StackAPI:
        """The APIs of the stack a view model describes (the console's and ``tocsin top``'s)."""
        long_term = model.get("long_term")
        return cls(
            model["prometheus"],
            model["alertmanager"],
            model["receiver"],
            long_term=long_term["url"] if long_term else None,
            retention=long_term["retention"] if long_term else math.inf,
        )

    @staticmethod
    def model_key(model: ViewModel) -> tuple[Any, ...]:
        """What :meth:`from_model` reads: a model with another key needs another StackAPI."""
        lt = model.get("long_term")
        where = (lt["url"], lt["retention"]) if lt else None
        return (tuple(model["prometheus"]), tuple(model["alertmanager"]), model["receiver"], where)

    def key(self) -> tuple[Any, ...]:
        where = (self.long_term, self.retention) if self.long_term else None
        return (tuple(self.prometheus), tuple(self.alertmanager), self.receiver, where)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- Prometheus ---------------------------------------------------------------------------------
    def sources(self, since: float | None = None) -> list[str]:
        """Where a query over samples from ``since`` (Unix seconds; None: now) is asked, in order."""
        if self.long_term is None:
            return self.prometheus
        if since is not None and since < time.time() - self.retention:
            return [self.long_term, *self.prometheus]
        return [*self.prometheus, self.long_term]

    async def prom(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        limit: float = 15.0,
        *,
        sources: Sequence[str] | None = None,
    ) -> Any:
        """The ``data`` of a Prometheus API call, from the first of ``sources`` (default: the replicas)
        that answers."""
        bases = self.prometheus if sources is None else sources
        if not bases:
            raise UpstreamError("no Prometheus configured")
        failures = []
        for base in bases:
            try:
                reply = await self.http.request("GET", base + path, params=params, limit=limit)
                body = reply.json()
            except (HTTPError, ValueError) as exc:
                failures.append(f"{base}: {exc}")
                continue
            if body.get("status") != "success":
                # a bad query is the same on every replica: say it once
                raise UpstreamError(
                    f"{body.get('errorType', 'error')}: {body.get('error', reply.body[:200])}"
                )
            return body["data"]
        what = "Prometheus" if self.long_term not in bases else "neither Prometheus nor the long-term store"
        raise UpstreamError(f"{what} is not answering: " + "; ".join(failures))

    async def query(self, expr: str, time: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr}
        if time is not None:
            params["time"] = f"{time:.3f}"
        data = await self.prom("/api/v1/query", params, sources=self.sources(time))
        if data.get("resultType") == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]  # type: ignore[no-any-return]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = await self.prom("/api/v1/query_range", params, sources=self.sources(start))
        return data["result"]  # type: ignore[no-any-return]

    # --- Alertmanager --------------------------------------------------------------------------------
    async def am(
        self, method: str, path: str, json: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """An Alertmanager v2 call on the first replica that answers (clustered replicas gossip silences)."""
        if not self.alertmanager:
            raise UpstreamError("no Alertmanager configured")
        failures = []
        for base in self.alertmanager:
            try:
                reply = await self.http.request(method, base + "/api/v2" + path, json=json, params=params)
            except HTTPError as exc:
                failures.append(f"{base}: {exc}")
                continue
            if reply.status >= 400:
                text = reply.body.decode("utf-8", "replace").strip()[:300]
                raise UpstreamError(f"Alertmanager {base} refused: HTTP {reply.status}: {text}")
            return reply.json() if reply.body else None
        raise UpstreamError("Alertmanager is not answering: " + "; ".join(failures))

    # --- receiver -------------------------------------------------------------------------------------
    async def receiver_get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        if self.receiver is None:
            raise UpstreamError("the built-in receiver is not part of this stack")
        try:
            reply = await self.http.request("GET", self.receiver + path, params=params, limit=5)
        except HTTPError as exc:
            raise UpstreamError(f"the receiver is not answering: {exc}") from None
        if reply.status != 200:
            raise UpstreamError(f"the receiver answered HTTP {reply.status} on {path}")
        return reply.json()
