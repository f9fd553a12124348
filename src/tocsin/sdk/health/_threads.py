"""Run a blocking check function in a thread, with the caller's contextvars, one at a time per check.

A thread cannot be cancelled: when a blocking driver call outlives the check
timeout, the thread lives on until the driver gives up. So each check gets a
:class:`ThreadGate` that refuses to start a second thread while the first one
is still stuck; a health storm against a hung dependency then costs at most
one thread per check, not one per probe. Threads are plain short-lived ones
(no pool), so nothing idles around after the call.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ._check import CheckFailed

__all__ = ["ThreadGate"]

T = TypeVar("T")


class ThreadGate:
    """At most one thread in flight for one check."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._busy_since: float | None = None

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a new daemon thread under a copy of the current context; await its result."""
        with self._lock:
            if self._busy_since is not None:
                stuck = time.monotonic() - self._busy_since
                raise CheckFailed(f"the previous run is still blocked after {stuck:.1f}s (not started again)")
            self._busy_since = time.monotonic()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()

        def deliver(ok: bool, value: object) -> None:
            if future.done():  # the caller timed out or was cancelled
                return
            if ok:
                future.set_result(value)  # type: ignore[arg-type]
            else:
                future.set_exception(value)  # type: ignore[arg-type]

        def target() -> None:
            try:
                result: object = context.run(fn)
                ok = True
            except BaseException as exc:
                result, ok = exc, False
            finally:
                with self._lock:
                    self._busy_since = None
            try:
                loop.call_soon_threadsafe(deliver, ok, result)
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting any more
                pass

        threading.Thread(target=target, name=f"tocsin-health-{self._name}", daemon=True).start()
        return await future
