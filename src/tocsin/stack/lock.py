"""One stack per state dir: an exclusive ``flock(2)`` on the state dir itself, held while the stack runs.

``tocsin up`` takes it before it writes anything there (config generation, plan, pid files) and it is
held for as long as the stack runs: by the foreground ``up`` itself, or by the background supervisor of
``up --detach``, which inherits the very descriptor (so there is no moment when nobody holds it). A
second ``up`` on the same state dir is refused at once and touches nothing. The kernel drops the lock
when its holder exits, however it exits, so a ``kill -9`` never leaves a stale lock behind.

The directory is locked rather than a file in it so that ``rm -rf`` of the state dir cannot hand a
later ``up`` a fresh lock while the old stack runs on unseen: the supervisor checks that its path still
names the directory it locked (:meth:`StateLock.intact`) and stops its stack when it does not.
"""

from __future__ import annotations

import fcntl
import os
import time

from tocsin.errors import StackError
from tocsin.stack.layout import StackLayout
from tocsin.stack.state import ProcessRef, explain_os_error, refs_from_pid_files

__all__ = ["StateLock", "holder"]


def holder(layout: StackLayout) -> ProcessRef | None:
    """The live process that holds (or last held) the lock: the supervisor, or an ``up`` starting one."""
    for ref in refs_from_pid_files(layout):
        if ref.name == "supervisor" and ref.process() is not None:
            return ref
    return None


def _describe_holder(layout: StackLayout) -> str:
    ref = holder(layout)
    if ref is None:
        return ""
    since = time.strftime("%H:%M:%S", time.localtime(ref.create_time))
    return f" (supervisor pid {ref.pid}, running since {since})"


class StateLock:
    """The held lock of one state dir; :meth:`release` (or the process's exit) lets it go."""

    def __init__(self, layout: StackLayout, fd: int) -> None:
        self.layout, self.fd = layout, fd
        stat = os.fstat(fd)
        self._identity = (stat.st_dev, stat.st_ino)

    @classmethod
    def acquire(cls, layout: StackLayout) -> StateLock:
        """Create the state dir if needed and lock it; StackError (exit 2) if a stack already holds it."""
        try:
            layout.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(layout.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise StackError(explain_os_error(exc, f"cannot use the state dir {layout.root}")) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StackError(
                f"a stack is already running from {layout.root}{_describe_holder(layout)} "
                "(`tocsin status` shows it, `tocsin down` stops it; or give this one another state dir)"
            ) from None
        return cls(layout, fd)

    @classmethod
    def inherited(cls, layout: StackLayout, fd: int) -> StateLock:
        """The lock ``up --detach`` handed to the background supervisor (already held)."""
        lock = cls(layout, fd)
        if not lock.intact():
            raise StackError(f"{layout.root}: the state dir changed before the supervisor started")
        return lock

    def intact(self) -> bool:
        """The state dir's path still names the directory we locked (not removed, moved or replaced)."""
        try:
            stat = os.stat(self.layout.root)
        except OSError:
            return False
        return (stat.st_dev, stat.st_ino) == self._identity

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
