"""Reading a spec file safely: bytes → text, refusing what is not a small UTF-8 regular file.

Every refusal is a :class:`~tocsin.errors.Problem` at a line (the first bad byte
or character), never an exception from the codec or the YAML reader:

- not a regular file (a FIFO would block the read forever, ``/dev/zero`` never ends):
  opened non-blocking and checked with ``fstat`` before a byte is read;
- larger than :data:`MAX_BYTES` (read at most one byte past it, whatever ``stat`` said);
- UTF-16/UTF-32 (by BOM or by NUL bytes), binary (a NUL byte), invalid UTF-8;
- characters YAML forbids (C0/C1 controls other than tab, newline, CR, NEL): the
  YAML reader reports those by character offset only.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from pathlib import Path

from tocsin.errors import Problem, SpecError

__all__ = ["MAX_BYTES", "read_text"]

#: Largest file read: 8 MiB is twenty times the 3,700-rule benchmark spec.
MAX_BYTES = 8 * 1024 * 1024
# YAML 1.2 printable characters (what ruamel.yaml's reader accepts), negated.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
_SAVE_AS_UTF8 = "save it as UTF-8"


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset``."""
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1


def _open(path: Path, display: str, what: str) -> bytes:
    def refuse(message: str, hint: str) -> SpecError:
        return SpecError([Problem(display, 0, 0, f"cannot read {what}: {message}", hint)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except ValueError:  # an embedded NUL byte in the path
        raise refuse("its path contains a NUL character", "check the path") from None
    except OSError as err:
        raise refuse(err.strerror or str(err), "check the path") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise refuse(f"it is {kind}", "give the path of a YAML file")
        if info.st_size > MAX_BYTES:
            raise refuse(
                f"{info.st_size:,} bytes, over the {MAX_BYTES:,}-byte limit", "split it with includes:"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise refuse(err.strerror or str(err), "check the file") from None
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        raise refuse(f"over the {MAX_BYTES:,}-byte limit", "split it with includes:")
    return b"".join(chunks)


def decode(data: bytes, display: str) -> str:
    """UTF-8 text (a UTF-8 BOM dropped), or a SpecError at the first byte or character that is wrong."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            raise SpecError([Problem(display, 1, 1, f"the file is {name}, not UTF-8", _SAVE_AS_UTF8)])
    nul = data.find(b"\x00")
    if nul >= 0:
        wide = nul < 4 and data[1:8:2].count(0) + data[0:8:2].count(0) >= 3
        line, column = _position(data, nul)
        if wide:
            raise SpecError([Problem(display, 1, 1, "the file looks like UTF-16, not UTF-8", _SAVE_AS_UTF8)])
        message = "a NUL byte: this is a binary file, not YAML"
        raise SpecError([Problem(display, line, column, message, "give the path of a YAML file")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, column = _position(data, err.start)
        byte = data[err.start]
        message = f"byte 0x{byte:02x} is not UTF-8"
        raise SpecError(
            [Problem(display, line, column, message, f"{_SAVE_AS_UTF8}; was it written as Latin-1?")]
        ) from None
    text = text.removeprefix("\ufeff")
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        start = text.rfind("\n", 0, bad.start()) + 1
        line, column = text.count("\n", 0, bad.start()) + 1, bad.start() - start + 1
        message = f"control character U+{ord(bad.group()):04X} is not allowed in YAML"
        hint = 'delete it, or write it escaped in a double-quoted string, e.g. "\\x07"'
        raise SpecError([Problem(display, line, column, message, hint)])
    return text


def read_text(path: str | Path, display: str, *, what: str = "the spec") -> str:
    """The text of the YAML file at ``path``; ``display`` names it in problems, ``what`` says what it is."""
    return decode(_open(Path(path), display, what), display)
