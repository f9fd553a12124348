"""Work that must run when metrics are scraped, before the page is rendered (health checks).

prometheus_client computes a custom collector's values at scrape time; tocsin's health gauges are
set by running checks, which are async, time-bounded and single-flight, so they cannot run inside
a collector's sync ``collect()``. Instead whatever owns such gauges registers itself here for the
registry they live on, and every ``/metrics`` front end calls :func:`refresh` (async, on the
app's event loop) or :func:`refresh_sync` (sync front ends) before it renders.

This module imports nothing heavy and knows nothing of health: the exposition stays light, and
with nothing registered a scrape pays one empty-set test.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from concurrent.futures import Future, wait
from typing import Protocol

from prometheus_client import CollectorRegistry

__all__ = [
    "ScrapeHook",
    "has_hooks",
    "hooks_for",
    "refresh",
    "refresh_sync",
    "register",
    "unregister",
    "wait_limit",
]

_log = logging.getLogger("tocsin.sdk.exposition")


class ScrapeHook(Protocol):
    """Something whose metrics must be brought up to date when ``registry`` is scraped."""

    @property
    def registry(self) -> CollectorRegistry: ...

    @property
    def refresh_bound(self) -> float:
        """The longest a refresh may take (seconds); a scrape waits no longer."""
        ...

    async def refresh(self) -> None: ...

    def refresh_soon(self) -> Future[None] | None:
        """Start :meth:`refresh` on the hook's own event loop thread (for sync front ends); ``None``:
        nothing to do."""
        ...


# Weak: a hook that is gone (a test's Health, an app factory's previous app) stops being run.
_hooks: weakref.WeakSet[ScrapeHook] = weakref.WeakSet()


def register(hook: ScrapeHook) -> None:
    """Run ``hook`` whenever its registry (or, in multiprocess mode, anything) is scraped."""
    _hooks.add(hook)


def unregister(hook: ScrapeHook) -> None:
    """Stop running ``hook`` on scrapes."""
    _hooks.discard(hook)


def has_hooks() -> bool:
    """Whether any hook is registered (the whole cost of a scrape when none is)."""
    return bool(_hooks)


def hooks_for(registry: CollectorRegistry, *, merged: bool) -> list[ScrapeHook]:
    """The hooks a scrape of ``registry`` runs; ``merged`` (multiprocess files): every hook of the process,
    since each gauge writes to the shared files whichever registry it was made on."""
    return [h for h in list(_hooks) if merged or h.registry is registry]


def _wait(hooks: list[ScrapeHook], limit: float | None) -> float:
    bound = max(h.refresh_bound for h in hooks)
    return bound if limit is None else max(0.0, min(bound, limit))


def wait_limit(scrape_timeout_header: str | None) -> float | None:
    """How long a scrape may wait for refreshes, from Prometheus' ``X-Prometheus-Scrape-Timeout-Seconds``:
    half of it, so that the page still reaches Prometheus in time when a dependency hangs (the runs
    go on and the next scrape shows their result). ``None``: no such header, wait the hooks' bound."""
    if not scrape_timeout_header:
        return None
    try:
        seconds = float(scrape_timeout_header)
    except ValueError:
        return None
    return seconds / 2 if seconds > 0 else None


async def refresh(hooks: list[ScrapeHook], limit: float | None = None) -> None:
    """Run ``hooks`` concurrently on the running loop, each bounded (and all by ``limit`` seconds when
    given); never raises (a scrape must answer)."""
    if not hooks:
        return
    try:
        async with asyncio.timeout(_wait(hooks, limit)):
            results = await asyncio.gather(*(h.refresh() for h in hooks), return_exceptions=True)
    except TimeoutError:
        _log.warning("tocsin: refreshing metrics before a scrape took too long; rendering without it")
        return
    for result in results:
        if isinstance(result, Exception):
            _log.error("tocsin: refreshing metrics before a scrape failed", exc_info=result)


def refresh_sync(hooks: list[ScrapeHook], limit: float | None = None) -> None:
    """:func:`refresh` for sync front ends; skipped (values stay as they are) on a thread running a loop,
    which waiting would block."""
    if not hooks:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        _log.debug("tocsin: scrape rendered on an event loop thread; not refreshed (use the ASGI app)")
        return
    futures = []
    for hook in hooks:
        try:
            future = hook.refresh_soon()
        except Exception:
            _log.exception("tocsin: refreshing metrics before a scrape failed")
            continue
        if future is not None:
            futures.append(future)
    if not futures:
        return
    done, late = wait(futures, timeout=_wait(hooks, limit))
    for future in late:
        future.cancel()  # stops waiting only: the checks' own runs are shielded and bounded
    if late:
        _log.warning("tocsin: refreshing metrics before a scrape took too long; rendering without it")
    for future in done:
        if not future.cancelled() and future.exception() is not None:
            _log.error("tocsin: refreshing metrics before a scrape failed", exc_info=future.exception())
