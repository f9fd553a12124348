"""The backup archive: a (gzipped) tar whose every file is listed, with its SHA-256, in a manifest.

::

    tocsin-backup.json          first: format, tocsin version, when (says "this is a tocsin backup" early)
    prometheus/...              the TSDB snapshot (blocks: chunks, index, meta.json, tombstones)
    alertmanager/silences.json  the silences as Alertmanager's API gives them (expired ones too)
    receiver/alerts.sqlite      the receiver's history (an online SQLite backup)
    logwatch/...                the watcher's store and checkpoint (positions and counters)
    pushgateway/metrics.data    pushed metrics
    config/...                  the compiled config generation that ran
    spec/...                    the spec and the rule files it includes
    manifest.json               last: every file above with its size and sha256, and what the parts are

The manifest comes last so that writing is one pass (each checksum is computed while its file is
copied into the tar); reading verifies every file as it is extracted, then the manifest, so a
truncated archive (no manifest, or gzip's own "unexpected end") and a corrupted one (a checksum that
differs, gzip's CRC) are both refused before anything is put in place. Only regular files and
directories with relative paths are accepted: no links, devices or ``..``.

tarfile (stdlib) reads and writes the format; nothing here parses bytes by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from tocsin.errors import TocsinError

__all__ = ["FORMAT", "ArchiveError", "ArchiveReader", "ArchiveWriter", "Progress"]

FORMAT = "tocsin-backup/1"
HEADER = "tocsin-backup.json"
MANIFEST = "manifest.json"
Progress = Callable[[int, int], None]
_CHUNK = 1 << 20
#: what reading a damaged archive raises: tar's own errors, gzip's CRC and end-of-stream checks, zlib
_UNREADABLE = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


class ArchiveError(TocsinError):
    """The archive is not a tocsin backup, is truncated, or is corrupt: nothing was restored."""

    exit_code = 2


class _Hashing:
    """A reader that hashes what passes through it and reports progress (all tarfile needs: read)."""

    def __init__(self, source: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self.source, self.on_bytes, self.sha = source, on_bytes, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sha.update(data)
        self.on_bytes(len(data))
        return data


@dataclass
class ArchiveWriter:
    """Adds files (hashed as they are copied), then the manifest; the file is 0600 and appears whole."""

    path: Path
    total: int
    progress: Progress | None = None
    compress: bool = True
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    done: int = 0

    @contextmanager
    def open(self, header: dict[str, Any]) -> Iterator[ArchiveWriter]:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # history, config: private
        try:
            with os.fdopen(fd, "wb") as raw:
                mode = "w:gz" if self.compress else "w"
                kwargs = {"compresslevel": 1} if self.compress else {}  # chunks are compressed already
                with tarfile.open(fileobj=raw, mode=mode, format=tarfile.PAX_FORMAT, **kwargs) as tar:  # type: ignore[call-overload]
                    self._tar = tar
                    self._bytes(HEADER, json.dumps({"format": FORMAT, **header}, indent=2).encode())
                    yield self
                    self._bytes(MANIFEST, json.dumps(self.manifest(header), indent=2).encode())
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def manifest(self, header: dict[str, Any]) -> dict[str, Any]:
        return {"format": FORMAT, **header, "files": self.files}

    def _advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.done, self.total)

    def _bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
        self._tar.addfile(info, io.BytesIO(data))

    def add_file(self, source: Path, name: str) -> None:
        """Copy ``source`` in as ``name``, hashing it on the way; its size must not change meanwhile."""
        stat = source.stat()
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), stat.st_mode & 0o777
        with source.open("rb") as handle:
            reader = _Hashing(handle, self._advance)
            self._tar.addfile(info, reader)  # type: ignore[arg-type]
        self.files[name] = {"size": stat.st_size, "sha256": reader.sha.hexdigest()}

    def add_tree(self, root: Path, prefix: str, skip: Callable[[Path], bool] = lambda p: False) -> int:
        """Every regular file under ``root`` as ``prefix/<relative path>``; returns how many."""
        count = 0
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink() and not skip(path):
                self.add_file(path, f"{prefix}/{path.relative_to(root).as_posix()}")
                count += 1
        return count

    def add_json(self, name: str, payload: Any) -> None:
        data = json.dumps(payload, indent=2, sort_keys=True).encode()
        self._bytes(name, data)
        self.files[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArchiveError(f"refusing a member outside the archive's root: {name!r}")
    return path


class ArchiveReader:
    """Extracts an archive into a directory, verifying it; :class:`ArchiveError` on any doubt."""

    def __init__(self, path: Path, progress: Progress | None = None) -> None:
        self.path, self.progress = path, progress

    def _fail(self, what: str) -> ArchiveError:
        return ArchiveError(f"{self.path}: {what}; nothing was restored")

    def header(self) -> dict[str, Any]:
        """The first member (format, when, where from) without reading the rest."""
        try:
            with self.path.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as tar:
                member = tar.next()
                if member is None or member.name != HEADER:
                    raise self._fail("not a tocsin backup (no tocsin-backup.json first)")
                return self._json(tar, member)
        except _UNREADABLE:
            raise self._fail("not a readable archive (neither tar nor tar.gz)") from None

    def extract(self, into: Path) -> dict[str, Any]:
        """Verify and extract every member under ``into``; returns the manifest."""
        total = self.path.stat().st_size
        seen: dict[str, dict[str, Any]] = {}
        manifest: dict[str, Any] | None = None
        first = True
        try:
            with self.path.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as tar:
                for member in tar:
                    if first:
                        first = False
                        if member.name != HEADER:
                            raise self._fail("not a tocsin backup (no tocsin-backup.json first)")
                        self._header(tar, member)
                        continue
                    if manifest is not None:
                        raise self._fail(f"a member after the manifest ({member.name!r})")
                    if member.name == MANIFEST:
                        manifest = self._json(tar, member)
                        continue
                    seen[member.name] = self._member(tar, member, into)
                    if self.progress is not None:
                        self.progress(raw.tell(), total)
        except _UNREADABLE as exc:  # an OSError while writing stays one (disk full is not corruption)
            if first:
                raise self._fail("not a readable archive (neither tar nor tar.gz)") from None
            reason = (str(exc) or "unexpected end of data").splitlines()[0].rstrip(":")
            raise self._fail(f"truncated or corrupt ({reason})") from None
        if manifest is None:
            raise self._fail(f"truncated: it ends after {len(seen)} files, before its manifest")
        self._compare(manifest, seen)
        return manifest

    def _header(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        header = self._json(tar, member)
        if header.get("format") != FORMAT:
            raise self._fail(f"format {header.get('format')!r}, this tocsin reads {FORMAT}")

    def _json(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
        handle = tar.extractfile(member)
        if handle is None or member.size > 256 << 20:
            raise self._fail(f"{member.name} is not a regular file of sane size")
        try:
            data = json.loads(handle.read())
        except ValueError:
            raise self._fail(f"{member.name} is not JSON") from None
        if not isinstance(data, dict):
            raise self._fail(f"{member.name} is not a JSON object")
        return data

    def _member(self, tar: tarfile.TarFile, member: tarfile.TarInfo, into: Path) -> dict[str, Any]:
        relative = _safe_name(member.name)
        if member.isdir():
            (into / relative).mkdir(parents=True, exist_ok=True)
            return {"dir": True}
        if not member.isfile():
            raise self._fail(f"{member.name!r} is not a regular file (links and devices are refused)")
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = tar.extractfile(member)
        assert handle is not None
        sha = hashlib.sha256()
        size = 0
        with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            while chunk := handle.read(_CHUNK):
                sha.update(chunk)
                size += len(chunk)
                out.write(chunk)
        os.chmod(target, member.mode & 0o777 or 0o600)
        return {"size": size, "sha256": sha.hexdigest()}

    def _compare(self, manifest: dict[str, Any], seen: dict[str, dict[str, Any]]) -> None:
        listed = manifest.get("files")
        if not isinstance(listed, dict):
            raise self._fail("its manifest lists no files")
        for name, want in listed.items():
            got = seen.get(name)
            if got is None:
                raise self._fail(f"{name} is listed in the manifest but missing")
            if got.get("sha256") != want.get("sha256") or got.get("size") != want.get("size"):
                raise self._fail(
                    f"checksum mismatch for {name} (sha256 {str(got.get('sha256'))[:12]}…, "
                    f"the manifest says {str(want.get('sha256'))[:12]}…): the archive is corrupt"
                )
        extra = [n for n, v in seen.items() if n not in listed and not v.get("dir")]
        if extra:
            raise self._fail(f"{len(extra)} files are not in the manifest (e.g. {extra[0]})")
