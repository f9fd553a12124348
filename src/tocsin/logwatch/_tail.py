"""Following the files of one glob through rotation, truncation, deletion and restarts.

A file is identified by device + inode **and** a fingerprint of its head (the
first 1 KiB, or what exists of it), re-checked on every read: ``size < offset``
alone misses a truncation that regrew past the old offset, and inode numbers
are reused. Positions only ever advance past a newline, so a partial last line
is read again, whole, once its writer ends it. A line longer than 1 MiB counts
once, matched on its first MiB; the rest of it is skipped.

Every poll lists the directories of the glob once (:mod:`._scan`): the files the
glob matches (*live* files) and their *rotated siblings* — ``app.log.1``,
``app.log-20251016``, ``app.log.2025-10-16`` next to a glob matching ``app.log``.
Every sibling is tracked by identity, fully read ones with their descriptor
closed. So a sibling that is *not* tracked is new since the last poll (or since
the last checkpoint): a file that was created, written and rotated away between
two polls — or while the watcher was down — is read from its start, whatever
the glob says and however many rotations happened. Only at the very first start
(no checkpoint) are the siblings already there taken as history, read to their
end without counting them.

Rotation:

- *rename and create*: the renamed file keeps its inode; it is read to its end,
  through its open descriptor or reopened at its new name;
- *copytruncate*: the truncated file's unread tail is read from the copy (a
  sibling whose head has the old fingerprint), then the file restarts at 0. A
  new sibling whose head repeats a tracked file's is that file's copy: never
  read twice;
- *deletion*: the open descriptor is read to its end, then closed.

A file that vanished from the listing is kept for a while (``forget_after``,
at most :data:`MAX_GONE`), so one renamed during a listing, or moved away and
back, is recognised when it reappears.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
import uuid
from collections.abc import Callable

from ._filestate import HEAD_BYTES, FileState, Key, fingerprint
from ._scan import Found, Lister

__all__ = ["HEAD_BYTES", "MAX_GONE", "MAX_PER_POLL", "FileState", "Tail"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20  # bytes per read; a line longer than this is cut into pieces
#: Bytes per file per poll, so that one busy file cannot starve the others and a checkpoint (and a
#: SIGTERM) never waits long; the watcher lowers it when every line is also stored.
MAX_PER_POLL = 16 << 20
#: Vanished files remembered per glob (the oldest are forgotten first).
MAX_GONE = 256

#: ``emit(state, block)``: ``block``, complete lines of ``state.path``, starts at ``state.offset``.
Emit = Callable[[FileState, bytes], None]


class Tail:
    """The files behind one glob; :meth:`poll` emits every complete line not emitted before."""

    def __init__(
        self,
        pattern: str,
        rotate_wait: float = 2.0,
        from_end: bool = False,
        exclude: tuple[str, ...] = (),
        park_after: float = 60.0,
        forget_after: float = 3600.0,
        max_per_poll: int = MAX_PER_POLL,
    ) -> None:
        self.pattern = pattern
        self.max_per_poll = max_per_poll
        self.park_after = park_after  # seconds idle before a fully read live file's descriptor is closed
        self.rotate_wait = rotate_wait  # seconds idle before a rotated file's last partial line counts
        self.forget_after = forget_after  # seconds a vanished file is remembered
        self.from_end = from_end  # only for files present at the very first poll without saved state
        self.lister = Lister(pattern, exclude)
        self.files: dict[Key, FileState] = {}
        self.rotations = 0
        self.truncations = 0
        self.lost_files = 0
        self.errors = 0
        self._restored = False
        self._siblings_saved = True  # the checkpoint tracked rotated siblings (version 2)
        self._first_poll = True

    # ------------------------------------------------------------------------------------ persistence

    @property
    def started(self) -> bool:
        """Restored from a checkpoint, or polled: what it knows is worth saving."""
        return self._restored or not self._first_poll

    def state(self) -> list[dict[str, object]]:
        return [f.to_json() for f in self.files.values()]

    def restore(self, saved: list[dict[str, object]], siblings_saved: bool = True) -> None:
        """Load the files of a checkpoint (``siblings_saved``: False for a version-1 checkpoint, whose
        untracked siblings are history, not new files)."""
        self._restored = True
        self._siblings_saved = siblings_saved
        for data in saved:
            state = FileState.from_json(data)
            state.parked = True  # reopened when the listing finds it
            self.files[state.key] = state

    def close(self) -> None:
        for state in self.files.values():
            state.close()

    # ------------------------------------------------------------------------------------ polling

    def poll(self, emit: Emit) -> bool:
        """List, follow rotations, emit new complete lines; True if anything was emitted."""
        now, wall = time.monotonic(), time.time()
        found = self.lister.list()
        history = self._first_poll and not (self._restored and self._siblings_saved)
        first = self._first_poll and not self._restored
        self._first_poll = False
        for key, state in list(self.files.items()):
            hit = found.get(key)
            if hit is None and os.path.dirname(state.path) in self.lister.unlisted:
                continue  # its directory cannot be listed now: nothing is known, its descriptor reads on
            if hit is None:
                self._vanished(state, now, wall)
            else:
                self._seen(state, hit, now)
        for key, hit in found.items():
            if key not in self.files:
                self._add(key, hit, history=history and not hit.live, from_end=first and self.from_end)
        progressed = False
        for key, state in list(self.files.items()):
            if state.fd is None or state.copy_of:
                continue
            try:
                progressed = self._follow(state, emit, now) or progressed
            except OSError as err:  # EIO, a file system gone away: retried at the next poll
                self._failed(state, err)
            if state.fd is None and state.gone_since and state.deleted:
                self._release_copies(state)
                del self.files[key]
        self._forget(wall)
        return progressed

    def _follow(self, state: FileState, emit: Emit, now: float) -> bool:
        if self._read(state, emit):
            state.idle_since = now
            return True
        idle = now - state.idle_since
        if state.rotated and idle >= self.rotate_wait:
            emitted = self._read(state, emit, final=True)  # its writer has moved on: the last line ends here
            state.park()
            return emitted
        if idle >= self.park_after:
            state.park()
        return False

    def _failed(self, state: FileState, err: OSError) -> None:
        self.errors += 1
        log.warning("logwatch: reading %s: %s (retried)", state.path, err.strerror or err)
        state.close()
        state.parked, state.parked_at = True, (-1, -1)

    def pending_bytes(self) -> int:
        """Bytes written but not yet emitted (a partial last line counts until it ends)."""
        total = 0
        for state in self.files.values():
            if state.fd is not None and not state.copy_of:
                try:
                    total += max(os.fstat(state.fd).st_size - state.offset, 0)
                except OSError:
                    continue
        return total

    def _seen(self, state: FileState, hit: Found, now: float) -> None:
        """A tracked file found by the listing, maybe at a new name."""
        state.gone_since, state.path, state.size = 0.0, hit.path, hit.size
        if state.rotated == hit.live:
            state.rotated = not hit.live
            self.rotations += state.rotated
            state.idle_since = now
        if state.fd is None and (hit.size, hit.mtime_ns) != state.parked_at:
            self._unpark(state, hit, now)

    def _unpark(self, state: FileState, hit: Found, now: float) -> None:
        """Reopen a parked (or just restored) file that changed. A changed head is handled by
        :meth:`_read`: a truncation in place, or another file on a reused inode, restart at 0."""
        try:
            fd = os.open(hit.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            if err.errno not in (errno.ENOENT, errno.EACCES, errno.EPERM):
                self._failed(state, err)
            return  # renamed away meanwhile, or unreadable for now: retried at the next poll
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != state.key:
            os.close(fd)
            return
        if st.st_size == state.offset and not state.long_line and state.head_matches(fd):
            os.close(fd)  # nothing new (a restart checks every saved file this way): stay parked
            state.parked_at = (st.st_size, st.st_mtime_ns)
            return
        state.fd, state.parked, state.idle_since = fd, False, now

    def _vanished(self, state: FileState, now: float, wall: float) -> None:
        if not state.rotated:
            state.rotated = True
            state.idle_since = now
            self.rotations += 1
        if not state.gone_since:
            state.gone_since = wall
            if state.fd is None and state.size > state.offset:
                self.lost_files += 1  # moved away or deleted before it could be read to its end
        if state.fd is not None:
            try:
                state.deleted = os.fstat(state.fd).st_nlink == 0
            except OSError:
                state.deleted = True

    def _forget(self, wall: float) -> None:
        gone = [s for s in self.files.values() if s.gone_since and s.fd is None]
        gone.sort(key=lambda s: s.gone_since)
        excess = len(gone) - MAX_GONE
        for i, state in enumerate(gone):
            if i < excess or wall - state.gone_since >= self.forget_after or state.deleted:
                self._release_copies(state)
                del self.files[state.key]

    def _release_copies(self, state: FileState) -> None:
        """``state`` is forgotten before its truncation was seen: its copies are read on their own, past
        the bytes ``state`` counted (the copy repeats them: its head is ``state``'s)."""
        for other in self.files.values():
            if other.copy_of != state.generation:
                continue
            other.copy_of = ""
            size = other.size
            if other.fd is not None:
                try:
                    size = os.fstat(other.fd).st_size
                except OSError:
                    pass
            other.offset = min(state.offset, size)

    def _add(self, key: Key, hit: Found, *, history: bool, from_end: bool) -> None:
        try:
            fd = os.open(hit.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            if err.errno not in (errno.ENOENT, errno.EACCES, errno.EPERM):
                self.errors += 1
                log.warning("logwatch: opening %s: %s (retried)", hit.path, err.strerror)
            return  # gone meanwhile, or unreadable for now: retried at the next poll
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != key:
            os.close(fd)  # replaced between the listing and the open: the next listing sees the new one
            return
        head = os.pread(fd, HEAD_BYTES, 0)
        fresh = time.time() - st.st_mtime_ns / 1e9 < self.rotate_wait
        if not history and len(head) < HEAD_BYTES and b"\n" not in head and fresh:
            os.close(fd)  # not one line yet, still written (maybe a copy being made): decide later
            return
        state = FileState(dev=key[0], ino=key[1], path=hit.path, fd=fd, idle_since=time.monotonic())
        state.rotated = not hit.live
        state.head_len, state.head_hash = len(head), fingerprint(head)
        twin = None if history else self._twin_of(state, head)
        if twin is not None:
            state.copy_of = twin.generation  # a copy of a tracked file: its lines come from the original
        elif history:
            state.offset = st.st_size  # a rotated file already there at the very first start
        elif from_end:
            state.offset = _last_newline_end(fd, st.st_size)
        state.size = st.st_size
        self.files[key] = state

    def _twin_of(self, state: FileState, head: bytes) -> FileState | None:
        """The tracked file this new one is a copy of: one of the same rotation family (``app.log``,
        ``app.log.1``, ``app.log-20251016``: how copytruncate names its copies, whatever was renamed
        since) whose head it repeats — the whole 1 KiB, or, for a copy still being written, a shorter
        prefix holding at least one whole line (a few bytes alone are too common to tell). Files that
        merely look alike (a thousand job logs saying the same thing) are not copies of each other.

        A file missing from this listing (``gone_since``) can still be the original: a rename that
        lands between the listing's ``readdir`` and its ``stat`` calls (logrotate's rename just after its
        copytruncate) hides it for one poll, and its copy, new in that same listing, would otherwise
        be read from its start — every line the original had counted, counted twice. Its saved
        fingerprint still tells; its truncation, seen through its descriptor or when it reappears,
        hands the copy's unread tail over as usual."""
        directory, name = os.path.split(state.path)
        family = _family(name)
        if family == name:
            return None  # a copy has a rotated name (app.log.1); a new app.log is a new file
        for other in self.files.values():
            if other.copy_of or not other.head_len:
                continue
            other_dir, other_name = os.path.split(other.path)
            if other_dir != directory or _family(other_name) != family:
                continue
            shared = min(other.head_len, len(head))  # the original may have grown since it was read
            if shared < HEAD_BYTES and b"\n" not in head[:shared]:
                continue
            if other.head_len <= len(head):
                if fingerprint(head[: other.head_len]) == other.head_hash:
                    return other
            elif (other.fd is not None or not other.gone_since) and other.read_head(len(head)) == head:
                return other  # (a vanished, parked file's path may name another file by now)
        return None

    # ------------------------------------------------------------------------------------ reading

    def _read(self, state: FileState, emit: Emit, final: bool = False) -> bool:
        fd = state.fd
        assert fd is not None
        emitted = False
        if not state.head_matches(fd) or os.fstat(fd).st_size < state.offset:
            emitted = self._truncated(state, emit)
        state.extend_head(fd)
        budget = self.max_per_poll
        while budget > 0:
            data = os.pread(fd, _CHUNK, state.offset)
            if not data:
                break
            if not state.head_matches(fd):  # truncated while we read: those bytes may be the new file's
                emitted = self._truncated(state, emit) or emitted
                continue
            if state.long_line:  # the rest of a line already counted from its first MiB: skip it
                cut = data.find(b"\n") + 1
                if cut:
                    state.long_line = False
                elif len(data) < _CHUNK and not final:
                    break
                state.offset += cut or len(data)
                budget -= cut or len(data)
                emitted = True  # no line, but progress: `--once` must not stop inside a long line
                continue
            cut = data.rfind(b"\n") + 1
            if cut:
                emit(state, data[:cut] if cut < len(data) else data)
            elif len(data) < _CHUNK and not final:
                break  # a partial line: wait for its end
            else:  # the first MiB of an over-long line, or the last line of a finished file
                cut = len(data)
                emit(state, data + b"\n")
                state.long_line = not final
            state.offset += cut
            budget -= cut
            emitted = True
        return emitted

    def _truncated(self, state: FileState, emit: Emit) -> bool:
        """copytruncate (or a writer that truncates): finish the old content from its copy, restart at 0."""
        self.truncations += 1
        own = {k for k, f in self.files.items() if f.copy_of != state.generation}  # read on their own
        copy = _find_copy(state, own)
        emitted = False
        if copy is not None:
            path, key, tail = copy
            end = state.offset + len(tail)
            if tail:
                if not tail.endswith(b"\n"):
                    tail += b"\n"  # the copy is final: its last line has ended
                emit(state, tail)
                emitted = True
            known = self.files.get(key)
            if known is None:  # if the listing finds the copy later, it is already counted
                self._track_copy(path, key, end)
            elif known.copy_of == state.generation:
                known.copy_of, known.offset = "", end
        for other in self.files.values():
            if other.copy_of == state.generation:  # everything in it is now counted
                other.copy_of = ""
                if other.fd is not None:
                    other.offset = os.fstat(other.fd).st_size
        state.offset = 0
        state.long_line = False
        state.head_len = 0
        state.head_hash = fingerprint(b"")
        state.generation = uuid.uuid4().hex[:16]
        return emitted

    def _track_copy(self, path: str, key: Key, end: int) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        copy = FileState(dev=key[0], ino=key[1], path=path, offset=end, fd=fd, rotated=True)
        copy.idle_since = time.monotonic()
        copy.extend_head(fd)
        self.files[key] = copy


_ROTATION_SUFFIX = re.compile(r"^(.+?)(?:[.\-_]\d.*)?$", re.DOTALL)


def _family(name: str) -> str:
    """``app.log.1``, ``app.log-20251016`` and ``app.log`` are all of the family ``app.log``."""
    match = _ROTATION_SUFFIX.match(name)
    return match.group(1) if match else name


def _last_newline_end(fd: int, size: int) -> int:
    start = max(size - _CHUNK, 0)
    cut = os.pread(fd, size - start, start).rfind(b"\n")
    return start + cut + 1 if cut >= 0 else 0


def _find_copy(state: FileState, own: set[Key]) -> tuple[str, Key, bytes] | None:
    """The sibling holding the truncated content (same head fingerprint, at least ``offset`` bytes long,
    not a file whose lines are counted ``own``-ly) and its bytes past ``offset``: the lines the
    truncation took before they were read."""
    if state.head_len == 0:
        return None
    directory = os.path.dirname(state.path) or "."
    try:
        entries = [e.path for e in os.scandir(directory) if e.is_file(follow_symlinks=False)]
    except OSError:
        return None
    for path in entries:
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                key = (st.st_dev, st.st_ino)
                if key == state.key or key in own or st.st_size < state.offset:
                    continue
                if fingerprint(f.read(state.head_len)) != state.head_hash:
                    continue
                f.seek(state.offset)
                return path, key, f.read()
        except OSError:
            continue
    return None
