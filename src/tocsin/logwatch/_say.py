"""One line to stderr, which must never be what stops the watcher: on a full disk, stderr is often a
file on that very disk (the stack's component log), and a failed write is dropped."""

from __future__ import annotations

import sys

__all__ = ["say", "say_plain"]


def say(message: str) -> None:
    """Print ``tocsin logwatch: <message>`` to stderr; a write error is ignored."""
    say_plain(f"tocsin logwatch: {message}")


def say_plain(text: str) -> None:
    """Print ``text`` to stderr; a write error is ignored."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
