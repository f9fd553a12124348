"""Signal handlers that stop a loop waiting on a :class:`threading.Event` without deadlocking it.

The obvious handler, ``signal.signal(SIGTERM, lambda *_: stop.set())``, can hang the process for
good. Python runs a signal handler in the main thread between two bytecodes. If that thread is
inside ``stop.wait(...)`` and holds the Event's internal lock (``Event.wait`` takes it before it
blocks and again after it wakes), then ``stop.set()`` in the handler waits for a lock that its own
thread holds. That lock is a plain ``Lock``, so this never ends. SIGTERM is then ignored, and only
SIGKILL ends the process. CI hit this with a fault injector that got SIGTERM just as it started
waiting (tests/test_signals.py reproduces that window).

:func:`on_signals` runs the callback in a short-lived thread instead. The handler returns at once,
and the callback takes the lock as soon as the main thread gives it up.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

__all__ = ["on_signals"]

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def on_signals(
    callback: Callable[[], object], signums: Iterable[int] = (signal.SIGTERM, signal.SIGINT)
) -> dict[int, Handler]:
    """Call ``callback`` (e.g. ``stop.set``) in its own thread when one of ``signums`` arrives.
    Must be called from the main thread. Returns the previous handlers so they can be restored."""

    def handler(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=callback, name=f"signal-{signum}", daemon=True).start()

    return {signum: signal.signal(signum, handler) for signum in signums}
