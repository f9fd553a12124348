"""One listing per poll of the directories a glob names: the files it matches and their rotated siblings.

A *rotated sibling* of a glob ``logs/*.log`` is a file of the same directory whose name is a name the
glob matches, then ``.``, ``-`` or ``_`` and a digit: ``app.log.1`` (Python's RotatingFileHandler,
logrotate), ``app.log.2025-10-16`` (TimedRotatingFileHandler), ``app.log-20251016`` (logrotate's
``dateext``). Compressed ones (``app.log.2.gz``) are not: their bytes are not lines. Like ``glob``,
``*`` does not match a leading dot.

Listing by directory (``os.scandir``) rather than by ``glob.glob`` costs one ``stat`` per matching
file, and every error of a hostile directory (a file vanishing mid-listing, a dangling symlink, a
symlink loop, a permission flip, the directory itself removed) just leaves that entry out of this
poll's listing.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass

from ._filestate import Key

__all__ = ["COMPRESSED", "Found", "Lister"]

#: Suffixes of compressed rotated files, never read.
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lzo", ".z", ".Z", ".zip", ".br", ".tgz")
_SKIP, _LIVE, _SIBLING = 0, 1, 2
_CACHE_MAX = 4096


@dataclass(frozen=True, slots=True)
class Found:
    """A regular file the listing found."""

    path: str
    live: bool  # matched by the glob (else a rotated sibling)
    size: int
    mtime_ns: int


def _matcher(pattern: str) -> Callable[[str], bool]:
    match = re.compile(fnmatch.translate(pattern)).match
    return lambda name: match(name) is not None


class Lister:
    """Lists the files of ``pattern`` and their rotated siblings, keyed by identity."""

    def __init__(self, pattern: str, exclude: tuple[str, ...] = ()) -> None:
        directory, base = os.path.split(pattern)
        self.directory = directory or "."
        self._magic_dirs = glob.escape(self.directory) != self.directory
        self._live = _matcher(base)
        self._dot_ok = base.startswith(".")
        self._exclude = [_matcher(e) for e in exclude]
        self._kinds: dict[str, int] = {}
        #: Directories the last listing could not read (permission, I/O error), though they exist:
        #: their files' fate is unknown, not "gone".
        self.unlisted: set[str] = set()

    def directories(self) -> list[str]:
        if not self._magic_dirs:
            return [self.directory]
        return sorted(d for d in glob.glob(self.directory) if os.path.isdir(d))

    def kind(self, name: str) -> int:
        kind = self._kinds.get(name)
        if kind is None:
            if len(self._kinds) >= _CACHE_MAX:
                self._kinds.clear()
            kind = self._kinds[name] = self._classify(name)
        return kind

    def _classify(self, name: str) -> int:
        if (name.startswith(".") and not self._dot_ok) or any(ex(name) for ex in self._exclude):
            return _SKIP
        if self._live(name):
            return _LIVE
        if name.endswith(COMPRESSED):
            return _SKIP
        for i in range(1, len(name) - 1):
            if name[i] in ".-_" and name[i + 1].isdigit() and self._live(name[:i]):
                return _SIBLING
        return _SKIP

    def list(self) -> dict[Key, Found]:
        found: dict[Key, Found] = {}
        self.unlisted = set()
        for directory in self.directories():
            try:
                with os.scandir(directory) as entries:
                    named = sorted((e.name, e) for e in entries)
            except (FileNotFoundError, NotADirectoryError):  # removed: its files are gone
                continue
            except OSError:  # unreadable for now
                self.unlisted.add(directory)
                continue
            for name, entry in named:
                kind = self.kind(name)
                if kind == _SKIP:
                    continue
                try:
                    st = entry.stat()  # follows a symlink to the file it names
                except OSError:  # vanished, dangling or looping symlink, permission
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                key = (st.st_dev, st.st_ino)
                known = found.get(key)
                if known is None or (kind == _LIVE and not known.live):  # one file at two names
                    found[key] = Found(entry.path, kind == _LIVE, st.st_size, st.st_mtime_ns)
        return found
