"""Shared by the fuzz tests of every server that parses untrusted HTTP: bounded settings, mutations."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Bounded for CI: 100 examples, no deadline (the machine is shared), no example database on disk.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)

#: Bytes that sit on the edges of HTTP/1.1's grammar: line ends, separators, NUL, obs-text, hex digits.
PIECES = (b"\r\n", b"\n", b" ", b"\t", b"\x00", b"\x80", b"-", b":", b";x", b",", b"/", b"0", b"ff")


@st.composite
def mutated(draw: st.DrawFn, valid: Sequence[bytes]) -> bytes:
    """One of ``valid`` with 1–6 edits: a byte flipped, a piece inserted, a run deleted or duplicated."""
    data = bytearray(draw(st.sampled_from(valid)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(PIECES))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif action == "dup":
            data[at:at] = data[max(0, at - 20) : at]
    return bytes(data)
