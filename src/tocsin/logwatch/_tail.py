"""Following the files of one glob through rotation, truncation, deletion and restarts.

A file is identified by device + inode **and** a fingerprint of its head (the
first 1 KiB, or what exists of it), re-checked on every read: ``size < offset``
alone misses a truncation that regrew past the old offset, and inode numbers
are reused. Positions only ever advance past a newline, so a partial last line
is read again, whole, once its writer ends it. A line longer than 1 MiB counts
once, matched on its first MiB; the rest of it is skipped.

Rotation:

- *rename and create*: the renamed file keeps its inode; it is followed by its
  open descriptor (or, after a restart, found again by inode in its directory)
  and read to the end, then closed once idle for ``rotate_wait`` seconds;
- *copytruncate*: the truncated file's unread tail is read from the copy (a
  sibling whose head has the old fingerprint), then the file restarts at 0. A
  copy that the glob also matches is recognised by its head and never read twice;
- *deletion*: the open descriptor is read to its end, then closed.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

__all__ = ["HEAD_BYTES", "FileState", "Tail"]

#: How much of a file's head identifies it.
HEAD_BYTES = 1024
_CHUNK = 1 << 20  # bytes per read; a line longer than this is cut into pieces
_MAX_PER_POLL = 16 << 20  # bytes per file per poll, so one busy file cannot starve the others

#: ``emit(state, block)``: ``block``, complete lines of ``state.path``, starts at ``state.offset``.
Emit = Callable[["FileState", bytes], None]


def _fingerprint(head: bytes) -> str:
    return hashlib.blake2b(head, digest_size=16).hexdigest()


_RUNTIME_FIELDS = ("fd", "idle_since", "parked", "parked_at")  # not saved: a restart reopens every file


@dataclass
class FileState:
    """What is persisted per file: identity, fingerprint and the offset just past the last counted line."""

    dev: int
    ino: int
    path: str
    offset: int = 0
    head_len: int = 0
    head_hash: str = field(default_factory=lambda: _fingerprint(b""))
    generation: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    rotated: bool = False  # no longer at a watched path: drain, then close
    copy_of: str = ""  # generation of the live file this one is a copy of (copytruncate in progress)
    long_line: bool = False  # inside a line longer than 1 MiB: its first MiB was counted, skip to its end
    fd: int | None = field(default=None, repr=False, compare=False)
    idle_since: float = field(default=0.0, repr=False, compare=False)
    parked: bool = field(default=False, repr=False, compare=False)  # idle, fully read, descriptor closed
    parked_at: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)  # (size, mtime_ns)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        for runtime in _RUNTIME_FIELDS:
            del data[runtime]
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FileState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k not in _RUNTIME_FIELDS}
        return cls(**known)  # type: ignore[arg-type]

    def head_matches(self, fd: int) -> bool:
        return self.head_len == 0 or _fingerprint(os.pread(fd, self.head_len, 0)) == self.head_hash


class Tail:
    """The files behind one glob; :meth:`poll` emits every complete line not emitted before."""

    def __init__(
        self,
        pattern: str,
        rotate_wait: float = 2.0,
        from_end: bool = False,
        exclude: tuple[str, ...] = (),
        park_after: float = 60.0,
    ) -> None:
        self.pattern = pattern
        self.park_after = park_after  # seconds idle before a fully read file's descriptor is closed
        self.exclude = exclude
        self.rotate_wait = rotate_wait
        self.from_end = from_end  # only for files present at the very first poll without saved state
        self.files: dict[tuple[int, int], FileState] = {}
        self.rotations = 0
        self.truncations = 0
        self.lost_files = 0
        self._restored = False
        self._first_poll = True

    # ------------------------------------------------------------------------------------ persistence

    def state(self) -> list[dict[str, object]]:
        return [f.to_json() for f in self.files.values()]

    def restore(self, saved: list[dict[str, object]]) -> None:
        self._restored = True
        for data in saved:
            state = FileState.from_json(data)
            self.files[(state.dev, state.ino)] = state

    def close(self) -> None:
        for state in self.files.values():
            self._close(state)

    # ------------------------------------------------------------------------------------ polling

    def poll(self, emit: Emit) -> bool:
        """Discover files, follow rotations, emit new complete lines; True if anything was emitted."""
        now = time.monotonic()
        for key, state in list(self.files.items()):  # after a restart: find every saved file first,
            if state.fd is None and not state.parked and not self._reopen(state):  # so that copies
                del self.files[key]  # made meanwhile are recognised
                self.lost_files += 1
        seen = self._discover()
        progressed = False
        for key, state in list(self.files.items()):
            if key not in seen and not state.rotated:
                state.rotated = True
                state.idle_since = now
                self.rotations += 1
            if state.parked:
                if key in seen:
                    continue
                state.parked = False  # renamed away or deleted while parked: find it, drain it
                if not self._reopen(state):
                    del self.files[key]
                    continue
            if state.copy_of:
                continue
            if self._read(state, emit):
                progressed = True
                state.idle_since = now
            elif state.rotated and now - state.idle_since >= self.rotate_wait:
                progressed = self._read(state, emit, final=True) or progressed
                self._close(state)
                del self.files[key]
            elif not state.rotated and now - state.idle_since >= self.park_after:
                self._park(state)
        self._first_poll = False
        return progressed

    def pending_bytes(self) -> int:
        """Bytes written but not yet emitted (a partial last line counts until it ends)."""
        total = 0
        for state in self.files.values():
            if state.fd is not None and not state.copy_of:
                total += max(os.fstat(state.fd).st_size - state.offset, 0)
        return total

    def _discover(self) -> set[tuple[int, int]]:
        seen: set[tuple[int, int]] = set()
        for path in sorted(glob.glob(self.pattern)):
            if self.exclude and any(fnmatch.fnmatch(os.path.basename(path), ex) for ex in self.exclude):
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            if not os.path.isfile(path):
                continue
            key = (st.st_dev, st.st_ino)
            seen.add(key)
            state = self.files.get(key)
            if state is not None:
                state.path, state.rotated = path, False
                if state.parked and (st.st_size, st.st_mtime_ns) != state.parked_at:
                    self._unpark(state)
                continue
            self._add(path, key, st.st_size)
        return seen

    def _park(self, state: FileState) -> None:
        """Close an idle, fully read file (keeping its state): a glob over many rotated files must
        not hold a descriptor for each. It is reopened as soon as its size or mtime changes."""
        assert state.fd is not None
        st = os.fstat(state.fd)
        if st.st_size != state.offset or state.long_line:
            return
        self._close(state)
        state.parked, state.parked_at = True, (st.st_size, st.st_mtime_ns)

    def _unpark(self, state: FileState) -> None:
        try:
            fd = os.open(state.path, os.O_RDONLY)
        except OSError:
            return
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (state.dev, state.ino):
            os.close(fd)
            return
        state.fd, state.parked, state.idle_since = fd, False, time.monotonic()

    def _add(self, path: str, key: tuple[int, int], size: int) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, PermissionError):
            return
        head = os.pread(fd, HEAD_BYTES, 0)
        if len(head) < HEAD_BYTES and b"\n" not in head:
            os.close(fd)  # not one line yet (maybe a copy being made): decide once there is one
            return
        state = FileState(dev=key[0], ino=key[1], path=path, fd=fd, idle_since=time.monotonic())
        state.head_len, state.head_hash = len(head), _fingerprint(head)
        twin = self._twin_of(state, head)
        if twin is not None:
            state.copy_of = twin.generation  # a copy of a live file: its lines come from the original
        elif self._first_poll and not self._restored and self.from_end:
            state.offset = _last_newline_end(fd, size)
        self.files[key] = state

    def _twin_of(self, state: FileState, head: bytes) -> FileState | None:
        """A live, watched file in the same directory whose head this new file repeats (a copy, maybe
        still being written: a head shorter than 1 KiB is compared with as many bytes of the original,
        provided it holds at least one whole line)."""
        if not head or (len(head) < HEAD_BYTES and b"\n" not in head):
            return None
        for other in self.files.values():
            if other.copy_of or os.path.dirname(other.path) != os.path.dirname(state.path):
                continue
            if other.head_len == len(head):
                if other.head_hash == state.head_hash:
                    return other
            elif other.head_len > len(head) and _read_head(other, len(head)) == head:
                return other
        return None

    def _reopen(self, state: FileState) -> bool:
        """After a restart: the file at its path if the identity holds, else by inode in its directory."""
        for path in _candidates(state.path):
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) == (state.dev, state.ino):
                if path != state.path:
                    state.path, state.rotated = path, True
                state.fd, state.idle_since = fd, time.monotonic()
                return True
            os.close(fd)
        return False

    # ------------------------------------------------------------------------------------ reading

    def _read(self, state: FileState, emit: Emit, final: bool = False) -> bool:
        fd = state.fd
        assert fd is not None
        if state.copy_of:
            return False
        emitted = False
        if not state.head_matches(fd) or os.fstat(fd).st_size < state.offset:
            emitted = self._truncated(state, emit)
        _extend_head(state, fd)
        budget = _MAX_PER_POLL
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
        copy = _find_copy(state)
        emitted = False
        if copy is not None:
            path, key, tail = copy
            end = state.offset + len(tail)
            if tail:
                if not tail.endswith(b"\n"):
                    tail += b"\n"  # the copy is final: its last line has ended
                emit(state, tail)
                emitted = True
            if key not in self.files:  # if the glob finds the copy later, it is already counted
                self._track_copy(path, key, end)
        for other in self.files.values():
            if other.copy_of == state.generation:  # everything in it is now counted
                other.copy_of = ""
                if other.fd is not None:
                    other.offset = os.fstat(other.fd).st_size
        state.offset = 0
        state.head_len = 0
        state.head_hash = _fingerprint(b"")
        state.generation = uuid.uuid4().hex[:16]
        return emitted

    def _track_copy(self, path: str, key: tuple[int, int], end: int) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        copy = FileState(dev=key[0], ino=key[1], path=path, offset=end, fd=fd, rotated=True)
        copy.idle_since = time.monotonic()
        _extend_head(copy, fd)
        self.files[key] = copy

    def _close(self, state: FileState) -> None:
        if state.fd is not None:
            os.close(state.fd)
            state.fd = None


def _read_head(state: FileState, size: int) -> bytes:
    if state.fd is not None:
        return os.pread(state.fd, size, 0)
    try:
        with open(state.path, "rb") as f:  # a parked file
            return f.read(size)
    except OSError:
        return b""


def _extend_head(state: FileState, fd: int) -> None:
    if state.head_len < HEAD_BYTES:
        head = os.pread(fd, HEAD_BYTES, 0)
        if len(head) > state.head_len:
            state.head_len, state.head_hash = len(head), _fingerprint(head)


def _last_newline_end(fd: int, size: int) -> int:
    start = max(size - _CHUNK, 0)
    cut = os.pread(fd, size - start, start).rfind(b"\n")
    return start + cut + 1 if cut >= 0 else 0


def _candidates(path: str) -> Iterator[str]:
    yield path
    directory = os.path.dirname(path) or "."
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if entry.path != path and entry.is_file(follow_symlinks=False):
            yield entry.path


def _find_copy(state: FileState) -> tuple[str, tuple[int, int], bytes] | None:
    """The sibling holding the truncated content (same head fingerprint, at least ``offset`` bytes long)
    and its bytes past ``offset``: the lines the truncation took before they were read."""
    if state.head_len == 0:
        return None
    for path in _candidates(state.path):
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if (st.st_dev, st.st_ino) == (state.dev, state.ino) or st.st_size < state.offset:
                    continue
                if _fingerprint(f.read(state.head_len)) != state.head_hash:
                    continue
                f.seek(state.offset)
                return path, (st.st_dev, st.st_ino), f.read()
        except OSError:
            continue
    return None
