"""pydantic errors on a ruamel.yaml document → ``file:line:col: what (how to fix)`` problems."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from tocsin.errors import Problem

__all__ = ["plain", "position", "problems"]


def position(node: Any, loc: tuple[int | str, ...]) -> tuple[int, int]:
    """1-based (line, column) of the YAML node at ``loc``, or of its nearest existing parent."""
    line, col = 1, 1
    for key in loc:
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            if isinstance(key, int):
                line, col = lc.item(key)
            else:
                line, col = lc.value(key) if key in node else (lc.line, lc.col)
            line, col = line + 1, col + 1
            node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line, col


def _keyposition(node: Any, loc: tuple[int | str, ...]) -> tuple[int, int]:
    parent = node
    for key in loc[:-1]:
        try:
            parent = parent[key]
        except (KeyError, IndexError, TypeError):
            return position(node, loc[:-1])
    try:
        line, col = parent.lc.key(loc[-1])
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError):
        return position(node, loc)


def _allowed_keys(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    model: Any = root
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        field = model.model_fields.get(key)
        if field is None:
            return []
        model = next(
            (a for a in getattr(field.annotation, "__args__", ()) if isinstance(a, type)), field.annotation
        )
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def problems(
    file: str, data: Any, err: ValidationError, prefix: tuple[int | str, ...], root: type[BaseModel]
) -> list[Problem]:
    """One :class:`~tocsin.errors.Problem` per pydantic error, at the line and column of the YAML node
    it is about (``data`` is the whole round-trip document, ``prefix`` the path to the validated part)."""
    problems = []
    for error in err.errors():
        loc = tuple(k for k in error["loc"] if not (isinstance(k, str) and k.startswith("function-")))
        where = ".".join(str(k) for k in loc)
        if error["type"] == "extra_forbidden":
            line, col = _keyposition(data, prefix + loc)
            allowed = _allowed_keys(root, loc)
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
            problems.append(Problem(file, line, col, f"unknown key {where!r}", hint))
            continue
        line, col = position(data, prefix + loc)
        message = str(error["msg"]).removeprefix("Value error, ")
        hint = ""
        if "regular expression" in message:
            hint = "in YAML, write regexes in single quotes so backslashes stay as they are"
        elif error["type"] == "missing":
            line, col = position(data, prefix + loc[:-1])
            hint = f"add {loc[-1]}:"
        problems.append(Problem(file, line, col, f"{where or 'logs'}: {message}", hint))
    return problems


def plain(node: Any) -> Any:
    """ruamel's commented containers → plain dicts/lists (pydantic validates those strictly)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
