"""YAML text → plain data and the position of every node, in one pass over libyaml's events.

Why not ``YAML(typ="safe").load``: its C composer recurses (a deeply nested file
segfaults the interpreter), aliases are shared objects that every later walk
expands (a "billion laughs" file hangs), unknown tags and some numbers raise
errors that are not at a line (``!!python/tuple``, ``_``, a 5,000-digit int),
and positions need a second, pure-Python round-trip parse. Here libyaml only
scans and parses (an explicit stack, no recursion); this module builds the data
itself, with limits, and records ``path → (line, column)`` as it goes:

- nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_NODES` nodes once
  aliases are expanded, an alias to a node that contains it;
- tags other than YAML's core ones (``!!str``, ``!!int``, ``!!float``, ``!!bool``,
  ``!!null``, ``!!map``, ``!!seq``);
- integers outside int64 and floats that overflow (``1e999``): no spec value
  needs them and Prometheus' Go parsers would refuse them later, with no line;
- duplicate keys, keys that are not scalars, more than one document.

Scalars are resolved as YAML 1.2's core schema, as ruamel.yaml's safe loader does
(``yes``/``on`` are strings; dates are strings too). What libyaml rejects is parsed
again by ruamel.yaml's pure-Python parser (YAML 1.2, clearer messages).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from tocsin.errors import Problem, SpecError, brief

__all__ = ["COLUMNS", "MAX_DEPTH", "MAX_NODES", "Loc", "Positions", "parse_yaml"]

Loc = tuple[str | int, ...]
#: ``values[path]`` is where the node at ``path`` starts, ``keys[path]`` where its key does, each packed
#: as ``line * COLUMNS + column`` (1-based): one int instead of a tuple is 80 MB less for the biggest spec.
Positions = tuple[dict[Loc, int], dict[Loc, int]]
COLUMNS = 1 << 24

#: Deepest nesting read; a spec needs about 8 levels.
MAX_DEPTH = 64
#: Most nodes once aliases are expanded; the 3,700-rule benchmark spec has about 36,000.
MAX_NODES = 1_000_000

_INT64 = 2**63
_BASES = {"0b": 2, "0o": 8, "0x": 16}
_CORE = "tag:yaml.org,2002:"
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_INT_RE = re.compile(r"[-+]?(?:0b[0-1_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)")
_FLOAT_RE = re.compile(
    r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)"
)
_SPECIAL_FLOATS = {
    **{
        f"{sign}.{inf}": -math.inf if sign == "-" else math.inf
        for sign in ("+", "-", "")
        for inf in ("inf", "Inf", "INF")
    },
    **{f".{nan}": math.nan for nan in ("nan", "NaN", "NAN")},
}
_ALLOWED_TAGS = frozenset(
    {"!", *(f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq"))}
)
_PLAIN_DATA = "remove it; a spec holds plain strings, numbers, booleans, lists and mappings"


class _Refused(Exception):
    """A problem at a position; turned into a one-problem SpecError by :func:`parse_yaml`."""

    def __init__(self, mark: Any, message: str, hint: str) -> None:
        super().__init__(message)
        self.line, self.column = mark.line + 1, mark.column + 1
        self.message, self.hint = message, hint


def _number(text: str, mark: Any) -> int | float | str:
    """An int or float scalar (core schema, ``_`` separators allowed as ruamel.yaml does)."""
    if _INT_RE.fullmatch(text):
        body = text.lstrip("+-").replace("_", "")
        base = _BASES.get(body[:2], 10)
        digits = body[2:] if base != 10 else body
        if not digits:  # "0x_": the pattern allows it, there is no number in it
            return text
        if len(digits) > 64 or not -_INT64 <= (value := int(digits, base)) < _INT64:
            raise _Refused(
                mark, f"the number {brief(text, 40)} is out of range", "integers must fit in 64 bits"
            )
        return -value if text.startswith("-") else value
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if _FLOAT_RE.fullmatch(text):
        try:
            number = float(text.replace("_", ""))
        except ValueError:  # "._": matched, but not a number
            return text
        if math.isinf(number):
            raise _Refused(
                mark, f"the number {brief(text, 40)} is out of range", "floats must be under 1.8e308"
            )
        return number
    return text


def _scalar(event: Any) -> Any:
    text: str = event.value
    tag = event.tag
    if tag is None:
        return _plain(text, event.start_mark) if event.implicit[0] else text  # quoted or block: a string
    if tag not in _ALLOWED_TAGS:
        raise _Refused(event.start_mark, f"YAML tag {_short(tag)} is not allowed", _PLAIN_DATA)
    if tag in ("!", f"{_CORE}str"):
        return text
    kind = tag.removeprefix(_CORE)
    value = _plain(text, event.start_mark)
    if kind == "float" and type(value) is int:
        value = float(value)
    if type(value) is not {"int": int, "float": float, "bool": bool, "null": type(None)}[kind]:
        raise _Refused(
            event.start_mark, f"{brief(text, 40)} is not a valid !!{kind}", "remove the tag or fix the value"
        )
    return value


def _short(tag: str) -> str:
    return tag.replace(_CORE, "!!")


def _plain(text: str, mark: Any) -> Any:
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if text[:1] in "-+.0123456789":
        return _number(text, mark)
    return text


class _Frame:
    """An open mapping or sequence."""

    __slots__ = ("anchor", "container", "key", "key_mark", "merged", "nodes", "path")

    def __init__(self, container: dict[Any, Any] | list[Any], path: Loc, anchor: str | None) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.nodes = 1
        self.merged: list[dict[Any, Any]] = []


_NO_KEY = object()
_TOO_MANY = f"more than {MAX_NODES:,} values once aliases are expanded"


class _Mark:
    line = column = 0


_START = _Mark()


class _Builder:
    def __init__(self) -> None:
        self.values: dict[Loc, int] = {}
        self.keys: dict[Loc, int] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.documents = 0

    def _add(self, value: Any, mark: Any, nodes: int) -> None:
        """Put ``value`` (at ``mark``, ``nodes`` big once expanded) where the open frame expects it."""
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        frame.nodes += nodes
        if frame.nodes > MAX_NODES:
            raise _Refused(mark, _TOO_MANY, "use fewer aliases")
        container = frame.container
        if isinstance(container, list):
            path = (*frame.path, len(container))
            container.append(value)
            self.values[path] = (mark.line + 1) * COLUMNS + mark.column + 1
            return
        if frame.key is _NO_KEY:
            if isinstance(value, dict | list):
                raise _Refused(mark, "a mapping or list as a key", "keys are plain strings")
            frame.key, frame.key_mark = value, mark
            return
        key, key_mark = frame.key, frame.key_mark
        frame.key = _NO_KEY
        if key == "<<":  # a merge key: the mappings' entries fill in what this one lacks, first one first
            merged = value if isinstance(value, list) else [value]
            if not all(isinstance(m, dict) for m in merged):
                raise _Refused(
                    mark, "<< merges mappings only", "give it an alias of a mapping, e.g. <<: *defaults"
                )
            frame.merged.extend(merged)
            return
        if key in container:
            raise _Refused(key_mark, "YAML syntax error: duplicate key", "fix the YAML")
        container[key] = value
        path = (*frame.path, key)
        self.keys[path] = (key_mark.line + 1) * COLUMNS + key_mark.column + 1
        self.values[path] = (mark.line + 1) * COLUMNS + mark.column + 1

    def _open(self, event: Any, container: dict[Any, Any] | list[Any]) -> None:
        if event.tag is not None and event.tag not in _ALLOWED_TAGS:
            raise _Refused(event.start_mark, f"YAML tag {_short(event.tag)} is not allowed", _PLAIN_DATA)
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused(
                event.start_mark, f"nesting deeper than {MAX_DEPTH} levels", "flatten the structure"
            )
        parent = self.stack[-1] if self.stack else None
        if parent is None:
            path: Loc = ()
        elif isinstance(parent.container, list):
            path = (*parent.path, len(parent.container))
        elif parent.key is _NO_KEY:
            raise _Refused(event.start_mark, "a mapping or list as a key", "keys are plain strings")
        else:
            path = (*parent.path, parent.key)
        self._add_placeholder(event, container)
        frame = _Frame(container, path, event.anchor)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(frame)

    def _add_placeholder(self, event: Any, container: Any) -> None:
        """Attach the new container to its parent now (so positions are recorded in document order)."""
        self._add(container, event.start_mark, 0)

    def _close(self) -> None:
        frame = self.stack.pop()
        container = frame.container
        if isinstance(container, dict) and frame.merged:
            for source in frame.merged:
                for key, value in source.items():
                    container.setdefault(key, value)
        if self.stack:
            self.stack[-1].nodes += frame.nodes
            if self.stack[-1].nodes > MAX_NODES:
                raise _Refused(self.stack[-1].key_mark or _START, _TOO_MANY, "use fewer aliases")
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (container, frame.nodes)

    def feed(self, event: Any) -> None:
        kind = type(event)
        if kind is ScalarEvent:
            value = _scalar(event)
            self._add(value, event.start_mark, 1)
            if event.anchor is not None:
                self.anchors[event.anchor] = (value, 1)
        elif kind is MappingStartEvent:
            self._open(event, {})
        elif kind is SequenceStartEvent:
            self._open(event, [])
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            self._close()
        elif kind is AliasEvent:
            if event.anchor in self.open_anchors:
                raise _Refused(
                    event.start_mark, f"alias *{event.anchor} is inside its own anchor", "remove it"
                )
            if event.anchor not in self.anchors:
                message = f"alias *{brief(event.anchor, 30)} is not defined before this point"
                raise _Refused(event.start_mark, message, "define its anchor (&name) first, or remove the *")
            value, nodes = self.anchors[event.anchor]
            self._add(value, event.start_mark, nodes)
        elif kind is DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                raise _Refused(event.start_mark, "more than one YAML document", "keep one document per file")


def _syntax_problem(display: str, err: YAMLError) -> Problem:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = (getattr(err, "problem", None) or getattr(err, "context", None) or "YAML syntax error").strip()
    if "duplicate key" in what:
        what = "duplicate key"
    return Problem(display, line, column, f"YAML syntax error: {what}", "fix the YAML")


def _build(events: Any, display: str) -> _Builder:
    builder = _Builder()
    try:
        for event in events:
            builder.feed(event)
    except _Refused as refused:
        problem = Problem(display, refused.line, refused.column, refused.message, refused.hint)
        raise SpecError([problem]) from None
    return builder


def parse_yaml(text: str, display: str) -> tuple[Any, Positions]:
    """The one document in ``text`` as plain data, and its positions; SpecError at the first problem.

    libyaml parses first (fast); what it rejects is parsed again by ruamel.yaml's pure-Python
    parser (also a state machine, no recursion), which accepts YAML 1.2 that libyaml's 1.1 does
    not (``{url: https://x}`` in a flow mapping) and words its errors more clearly.
    """
    try:
        builder = _build(YAML(typ="safe").parse(text), display)
    except YAMLError:
        try:
            builder = _build(YAML(typ="safe", pure=True).parse(text), display)
        except YAMLError as err:
            raise SpecError([_syntax_problem(display, err)]) from None
    return builder.root, (builder.values, builder.keys)
