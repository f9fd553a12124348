"""What the watcher knows about one file: its identity, its head's fingerprint, how far it was read."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import asdict, dataclass, field, fields

__all__ = ["HEAD_BYTES", "FileState", "Key", "fingerprint"]

#: How much of a file's head identifies it.
HEAD_BYTES = 1024

#: A file's identity on this machine: (device, inode).
Key = tuple[int, int]

_RUNTIME_FIELDS = ("fd", "idle_since", "parked", "parked_at")  # not saved: a restart reopens every file
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "str": str,
    "bool": bool,
    "float": (int, float),
}


def fingerprint(head: bytes) -> str:
    return hashlib.blake2b(head, digest_size=16).hexdigest()


def _new_generation() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class FileState:
    """What is persisted per file: identity, fingerprint and the offset just past the last counted line."""

    dev: int
    ino: int
    path: str
    offset: int = 0
    head_len: int = 0
    head_hash: str = field(default_factory=lambda: fingerprint(b""))
    generation: str = field(default_factory=_new_generation)
    rotated: bool = False  # not at a path the glob matches (a rotated sibling, or gone)
    copy_of: str = ""  # generation of the file this one is a copy of (copytruncate in progress)
    long_line: bool = False  # inside a line longer than 1 MiB: its first MiB was counted, skip to its end
    size: int = 0  # its size when last listed: more than ``offset`` means lines not read yet
    gone_since: float = 0.0  # Unix time it vanished from the listing (0: it is there)
    deleted: bool = False  # its last link is gone: forget it once read to its end
    fd: int | None = field(default=None, repr=False, compare=False)
    idle_since: float = field(default=0.0, repr=False, compare=False)
    parked: bool = field(default=False, repr=False, compare=False)  # descriptor closed, state kept
    parked_at: tuple[int, int] = field(default=(-1, -1), repr=False, compare=False)  # (size, mtime_ns)

    @property
    def key(self) -> Key:
        return (self.dev, self.ino)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        for runtime in _RUNTIME_FIELDS:
            del data[runtime]
        return data

    @classmethod
    def from_json(cls, data: object) -> FileState:
        """A saved state; ValueError naming the field if ``data`` does not have the saved shape."""
        if not isinstance(data, dict):
            raise ValueError(f"a file entry is {type(data).__name__}, not an object")
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name in _RUNTIME_FIELDS or f.name not in data:
                continue
            value, kind = data[f.name], str(f.type)
            expected = _FIELD_TYPES[kind]
            if not isinstance(value, expected) or (isinstance(value, bool) and kind != "bool"):
                raise ValueError(f"file entry field {f.name!r} is {value!r}, not a {kind}")
            values[f.name] = float(value) if isinstance(value, int | float) and kind == "float" else value
        for required in ("dev", "ino", "path"):
            if required not in values:
                raise ValueError(f"a file entry has no {required!r}")
        offset = values.get("offset", 0)
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"file entry offset {offset!r} is negative")
        return cls(**values)  # type: ignore[arg-type]

    def head_matches(self, fd: int) -> bool:
        return self.head_len == 0 or fingerprint(os.pread(fd, self.head_len, 0)) == self.head_hash

    def extend_head(self, fd: int) -> None:
        """Fingerprint more of the head while the file is shorter than :data:`HEAD_BYTES`."""
        if self.head_len < HEAD_BYTES:
            head = os.pread(fd, HEAD_BYTES, 0)
            if len(head) > self.head_len:
                self.head_len, self.head_hash = len(head), fingerprint(head)

    def read_head(self, size: int) -> bytes:
        if self.fd is not None:
            return os.pread(self.fd, size, 0)
        try:
            with open(self.path, "rb") as f:  # a parked file
                return f.read(size)
        except OSError:
            return b""

    def park(self) -> None:
        """Close the descriptor of a file read to its end (state kept): a directory of many rotated
        files must not hold a descriptor for each. It is reopened when its size or mtime changes."""
        if self.fd is None:
            return
        st = os.fstat(self.fd)
        if st.st_size != self.offset or self.long_line:
            return
        self.close()
        self.parked, self.parked_at, self.size = True, (st.st_size, st.st_mtime_ns), st.st_size

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
