"""Port defaults live in one place, :mod:`tocsin.ports`: no other module writes one as a number.

An AST scan of every module under src/tocsin for an integer literal equal to a default port (docstrings
and examples are text, so they may still show them). Existing ones have an owner moving them to
``tocsin.ports`` (see /work/coord/NOTES.md); the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tocsin import ports

SRC = Path(__file__).resolve().parents[1] / "src" / "tocsin"

#: (module path under src/tocsin, port) -> owner
KNOWN: dict[tuple[str, int], str] = {}


def _literal_ports() -> dict[tuple[str, int], int]:
    defaults = set(ports.DEFAULT_PORTS.values())
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "ports.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value in defaults:
                found[(path.relative_to(SRC).as_posix(), node.value)] = node.lineno
    return found


def test_default_ports_are_written_only_in_tocsin_ports() -> None:
    found = _literal_ports()
    new = sorted(
        f"src/tocsin/{where}:{line}: {port}"
        for (where, port), line in found.items()
        if (where, port) not in KNOWN
    )
    assert not new, "use tocsin.ports instead of these numbers:\n" + "\n".join(new)


def test_known_literals_are_still_there() -> None:
    gone = sorted(set(KNOWN) - set(_literal_ports()))
    assert not gone, f"moved to tocsin.ports: delete from KNOWN in {__file__}: {gone}"


def test_every_default_is_distinct() -> None:
    values = list(ports.DEFAULT_PORTS.values())
    assert len(values) == len(set(values)), ports.DEFAULT_PORTS
