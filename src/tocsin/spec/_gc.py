"""Loading and compiling build hundreds of thousands of small, acyclic objects at once; Python's cyclic
garbage collector would walk them again and again as its generations fill (a quarter of the CPU time
of the 3,700-rule benchmark spec). Pausing it for the call, then restoring it, frees nothing less:
reference counting still frees everything, and the next collection runs as usual afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block (re-enabled after it, if it was on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
