"""YAML with line numbers: plain data from the fast safe loader, and a path → position map
built from ruamel.yaml's round-trip nodes when a position is first asked for.

A path is the tuple of keys and indexes that pydantic also reports in an
error's ``loc`` (``("alerts", 0, "for")``), so a validation error, a semantic
check and a compile-time problem all find their ``line:column`` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from tocsin.errors import Problem, SpecError

__all__ = ["Locator", "read_yaml"]

Loc = tuple[str | int, ...]


class Locator:
    """Positions (1-based line, column) of every key and value in one YAML file.

    Positions cost a second, round-trip parse (pure Python, slow on big specs),
    so it happens only when a problem or warning needs a position.
    """

    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self._text: str | None = text
        self._values: dict[Loc, tuple[int, int]] = {}
        self._keys: dict[Loc, tuple[int, int]] = {}

    def _positions(self) -> tuple[dict[Loc, tuple[int, int]], dict[Loc, tuple[int, int]]]:
        if self._text is not None:
            text, self._text = self._text, None
            self.record(YAML(typ="rt").load(text), ())
        return self._values, self._keys

    @property
    def values(self) -> dict[Loc, tuple[int, int]]:
        return self._positions()[0]

    @property
    def keys(self) -> dict[Loc, tuple[int, int]]:
        return self._positions()[1]

    def where(self, loc: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column of the node at ``loc`` (its key if ``key``), or of its nearest ancestor.

        Shorthand forms (a route given as a bare list) drop a level, so a missing
        ``"receivers"`` step is skipped before falling back to ancestors.
        """
        path = tuple(loc)
        alternatives = [path, tuple(p for p in path if p != "receivers")]
        for candidate in alternatives:
            table = self.keys if key and candidate in self.keys else self.values
            if candidate in table:
                return table[candidate]
        for end in range(len(path) - 1, 0, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return (1, 1)

    def problem(
        self, loc: Sequence[str | int], message: str, hint: str = "", *, key: bool = False
    ) -> Problem:
        line, column = self.where(loc, key=key)
        return Problem(self.file, line, column, message, hint)

    def record(self, node: Any, path: Loc) -> Any:
        """Plain Python data for ``node``, recording positions below ``path``."""
        if isinstance(node, CommentedMap):
            out: dict[Any, Any] = {}
            for key, value in node.items():
                child = (*path, key)
                key_line, key_col = node.lc.key(key)
                value_line, value_col = node.lc.value(key)
                self._keys[child] = (key_line + 1, key_col + 1)
                self._values[child] = (value_line + 1, value_col + 1)
                out[key] = self.record(value, child)
            return out
        if isinstance(node, CommentedSeq):
            items: list[Any] = []
            for index, value in enumerate(node):
                child = (*path, index)
                line, col = node.lc.item(index)
                self._values[child] = (line + 1, col + 1)
                items.append(self.record(value, child))
            return items
        if isinstance(node, str):
            return str(node)
        return node


def _syntax_problem(display: str, err: MarkedYAMLError) -> Problem:
    mark = err.problem_mark or err.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    what = (err.problem or err.context or "YAML syntax error").strip()
    if "duplicate key" in what:
        what = "duplicate key"
    return Problem(display, line, col, f"YAML syntax error: {what}", "fix the YAML")


def read_yaml(path: Path, display: str) -> tuple[Any, Locator]:
    """Parse ``path``; a YAML syntax error (or duplicate key) becomes a one-problem SpecError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(
            [Problem(display, 0, 0, f"cannot read the spec: {err.strerror}", "check the path")]
        ) from None
    locator = Locator(display, text)
    try:
        document = YAML(typ="safe").load(text)  # libyaml via ruamel.yaml.clib: ~10x the round-trip parser
    except YAMLError:
        # libyaml's messages are terser: report what the round-trip parser says, at its position
        try:
            document = YAML(typ="rt").load(text)
        except MarkedYAMLError as err:
            raise SpecError([_syntax_problem(display, err)]) from None
        except YAMLError as err:
            raise SpecError([Problem(display, 0, 0, f"YAML syntax error: {err}", "fix the YAML")]) from None
        return locator.record(document, ()), locator
    return document, locator
