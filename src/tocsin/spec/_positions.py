"""Where each node of a spec file is: ``path → (line, column)``, as :mod:`tocsin.spec._yaml` recorded it.

A path is the tuple of keys and indexes that pydantic also reports in an
error's ``loc`` (``("alerts", 0, "for")``), so a validation error, a semantic
check and a compile-time problem all find their ``line:column`` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tocsin.errors import Problem
from tocsin.spec._read import read_text
from tocsin.spec._yaml import COLUMNS, Loc, Positions, parse_yaml

__all__ = ["Locator", "read_yaml"]


class Locator:
    """Positions (1-based line, column) of every key and value in one YAML file."""

    def __init__(self, file: str, positions: Positions | None = None) -> None:
        self.file = file
        self.values, self.keys = positions if positions is not None else ({}, {})
        #: generated path prefix → the path of what generated it (see ``tocsin.spec._checks``)
        self.origins: dict[Loc, Loc] = {}

    def where(self, loc: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column of the node at ``loc`` (its key if ``key``), or of its nearest ancestor.

        Shorthand forms (a route given as a bare list) drop a level, so a missing
        ``"receivers"`` step is skipped before falling back to ancestors.
        """
        path = tuple(loc)
        for size in range(len(path), 0, -1):
            if path[:size] in self.origins and path not in self.values:
                path = self.origins[path[:size]]
                key = False
                break
        alternatives = [path, tuple(p for p in path if p != "receivers")]
        for candidate in alternatives:
            table = self.keys if key and candidate in self.keys else self.values
            if candidate in table:
                return divmod(table[candidate], COLUMNS)
        for end in range(len(path) - 1, 0, -1):
            if path[:end] in self.values:
                return divmod(self.values[path[:end]], COLUMNS)
        return (1, 1)

    def problem(
        self, loc: Sequence[str | int], message: str, hint: str = "", *, key: bool = False
    ) -> Problem:
        line, column = self.where(loc, key=key)
        if not hint:  # every problem says how to fix it; at least where its section is documented
            hint = f"see {loc[0]}: in docs/spec.md" if loc and isinstance(loc[0], str) else "see docs/spec.md"
        return Problem(self.file, line, column, message, hint)


def read_yaml(path: Path | str, display: str, *, what: str = "the spec") -> tuple[Any, Locator]:
    """Read and parse the YAML file at ``path`` safely: plain data and where each node is.

    Raises :class:`~tocsin.errors.SpecError` with one problem, at its line, when the file cannot
    be read, is not UTF-8 text, is not valid YAML or goes past a limit (size, nesting, aliases).
    """
    data, positions = parse_yaml(read_text(path, display, what=what), display)
    return data, Locator(display, positions)
