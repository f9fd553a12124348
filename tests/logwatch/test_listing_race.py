"""A rename inside one listing (between its ``readdir`` and its ``stat`` calls) just after a copytruncate.

The listing reads the directory's names, then stats each name. When logrotate renames ``app.log`` to
``app.log.N`` (and the app creates a new ``app.log``) in between, that listing has the old name pointing
at the new file and does not have the new name yet: the renamed file is missing from it, as if it had
vanished. If a copytruncate of that file happened just before (its copy ``app.log.M`` is new in the
same listing), the copy must still be recognised as the copy of the file that is only missing for
one poll; else it is read as a new file from its start and every line the original had already
counted is counted twice (the CI run: 1,006,000 lines for 1,000,000 written). The rename is done for
real, on real files, at that exact point of the listing, so the interleaving is deterministic.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tocsin.logwatch import _scan
from tocsin.logwatch._tail import FileState, Tail


def _lines(start: int, count: int) -> bytes:
    return b"".join(
        b"2025-10-16 12:34:56 [INFO] seq=%d archived %s\n" % (i, b"x" * (i % 29))
        for i in range(start, start + count)
    )


class _Counter:
    def __init__(self) -> None:
        self.seqs: list[int] = []

    def __call__(self, state: FileState, block: bytes) -> None:
        self.seqs += [int(ln.split(b"seq=")[1].split()[0]) for ln in block.splitlines() if ln]


def _rename_inside_next_listing(
    monkeypatch: pytest.MonkeyPatch, log: Path, rotated: Path, new: bytes
) -> None:
    """The next ``os.scandir`` of the listing returns its names, then ``log`` is renamed to ``rotated``
    and a new ``log`` holding ``new`` is created, before the listing stats them."""
    real = os.scandir
    done = False

    class _Entries:
        def __init__(self, path: str) -> None:
            self._it = real(path)
            self._entries = list(self._it)

        def __enter__(self) -> _Entries:
            nonlocal done
            if not done:
                done = True
                os.rename(log, rotated)
                log.write_bytes(new)
            return self

        def __exit__(self, *exc: object) -> None:
            self._it.close()

        def __iter__(self) -> Iterator[os.DirEntry[str]]:
            return iter(self._entries)

    monkeypatch.setattr(_scan.os, "scandir", _Entries)


@pytest.mark.parametrize("parked", [False, True], ids=["open", "parked"])
def test_copytruncate_then_a_rename_inside_the_listing_counts_each_line_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parked: bool
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    tail = Tail(str(tmp_path / "app.log*"), rotate_wait=0.0, park_after=0.0 if parked else 60.0)
    count = _Counter()
    tail.poll(count)
    tail.poll(count)  # nothing new: parked when park_after is 0
    assert count.seqs == list(range(100))
    assert (tail.files[(os.stat(log).st_dev, os.stat(log).st_ino)].fd is None) == parked
    with open(log, "ab") as f:
        f.write(_lines(100, 50))  # not read yet when logrotate copies
    shutil.copyfile(log, tmp_path / "app.log.1")  # copytruncate
    os.truncate(log, 0)
    with open(log, "ab") as f:
        f.write(_lines(150, 30))
    _rename_inside_next_listing(monkeypatch, log, tmp_path / "app.log.2", _lines(180, 20))
    for _ in range(4):
        tail.poll(count)
    monkeypatch.undo()
    for _ in range(3):
        tail.poll(count)
    assert sorted(count.seqs) == list(range(200))
    assert tail.truncations == 1
    tail.close()


def test_a_copy_whose_original_vanished_for_good_is_read_past_what_the_original_counted(
    tmp_path: Path,
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    tail = Tail(str(tmp_path / "app.log*"), rotate_wait=0.0, park_after=0.0, forget_after=0.0)
    count = _Counter()
    tail.poll(count)
    tail.poll(count)  # read to its end, then parked
    with open(log, "ab") as f:
        f.write(_lines(100, 50))
    shutil.copyfile(log, tmp_path / "app.log.1")
    log.unlink()  # gone before the next poll: its copy is all that holds lines 100-149
    for _ in range(3):
        tail.poll(count)
    assert sorted(count.seqs) == list(range(150))
    tail.close()
