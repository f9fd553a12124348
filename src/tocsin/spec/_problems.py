"""pydantic's ValidationError → :class:`~tocsin.errors.Problem` at the YAML node each error is about.

Works for any model validated from data read by :func:`~tocsin.spec._positions.read_yaml`
(the spec, one of its sections, a standalone file such as ``logwatch.yaml``): an
unknown key points at the key and suggests the closest allowed one, a missing key
at its parent, a validator's ``ValueError("what: how to fix")`` at the value.
"""

from __future__ import annotations

import difflib
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from tocsin.errors import Problem, brief
from tocsin.spec._positions import Locator

__all__ = ["pydantic_problems"]


def _strip_tags(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Drop pydantic's union/validator tags from ``loc``, keeping only steps present in the data."""
    path: list[str | int] = []
    node = data
    for step in loc:
        in_dict = isinstance(node, dict) and step in node
        if in_dict or (isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)):
            path.append(step)
            node = node[step]
        elif isinstance(node, dict) and isinstance(step, int):
            continue  # a shorthand (one item given for a list): pydantic's index has no YAML node
        elif not path or isinstance(node, dict):
            if isinstance(node, dict) and isinstance(step, str) and not any(c in step for c in "[]-"):
                path.append(step)  # a missing key: point at its parent, name the key
            node = None
    return tuple(path)


def _optional(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` → ``X``; anything else unchanged."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return _optional(args[0])
    return annotation


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Key names allowed at ``loc`` (for 'did you mean' hints); [] when unknown."""
    current: Any = model
    steps = list(loc)
    while steps:
        current = _optional(current)
        origin = get_origin(current)
        if origin in (dict, list, tuple):
            args = [a for a in get_args(current) if a is not Ellipsis]
            current = args[-1] if origin is dict else args[0]
            if origin is dict or isinstance(steps[0], int):
                steps.pop(0)  # the step was a key or an index; a name is a shorthand's field: keep it
        elif isinstance(current, type) and issubclass(current, BaseModel):
            step = steps.pop(0)
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == step), None)
            if field is None:
                return []
            current = field.annotation
        else:
            return []
    current = _optional(current)
    if get_origin(current) in (list, tuple):  # an item of a list given as one mapping
        current = _optional(get_args(current)[0])
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items() if not f.exclude]
    return []


def _message(error: Any, loc: tuple[str | int, ...]) -> tuple[str, str]:
    """``(what, how to fix)`` for one pydantic error: the value that is wrong, then what it must be."""
    if error["type"] == "value_error":  # our validators: ValueError("what: how to fix")
        what, _, hint = str(error["ctx"]["error"]).partition(": ")
        return what, hint
    where = f"{loc[-1]}: " if loc and isinstance(loc[-1], str) and error["type"] != "invalid_key" else ""
    text = str(error["msg"])
    rule = text.partition(", ")[0].replace("Input should be", "it must be").replace("Input", "the value")
    rule = rule[0].lower() + rule[1:]
    value = error.get("input")
    if error["type"] == "invalid_key":
        key = loc[-1] if loc else value
        shown = "an empty (null) key" if key in (None, "None") else f"the key {brief(key, 40)}"
        return f"{shown} is not a string", "quote it or remove it"
    if error["type"] == "literal_error":
        return f"{where}{brief(value, 40)} is not a choice here", f"use {error['ctx']['expected']}"
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        # pydantic's "a valid dictionary or instance of LogsSection" names a class the user never wrote
        return f"{where}{_shown(value)} is not valid", "it must be a mapping of keys to values"
    if error["type"] in ("too_short", "too_long"):
        return f"{where}{rule}", "add one" if error["type"] == "too_short" else "remove some"
    return f"{where}{_shown(value)} is not valid", rule


def _shown(value: Any) -> str:
    """The wrong value as a message quotes it: its kind for a mapping or a list, else itself (cut)."""
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return brief(value, 40)


def pydantic_problems(
    err: ValidationError,
    data: Any,
    locator: Locator,
    root: type[BaseModel],
    prefix: tuple[str | int, ...] = (),
) -> list[Problem]:
    """One problem per distinct place pydantic complains about; ``data`` is what was validated, found at
    ``prefix`` in the file ``locator`` describes, ``root`` its model (for 'did you mean' hints)."""
    problems: list[Problem] = []
    seen: set[tuple[str | int, ...]] = set()
    for error in err.errors(include_url=False):
        loc = _strip_tags(tuple(error["loc"]), data)
        if loc in seen:
            continue
        seen.add(loc)
        where = (*prefix, *loc)
        if error["type"] == "extra_forbidden":
            allowed = _fields_at(root, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
            problems.append(locator.problem(where, f"unknown key {brief(loc[-1], 40)}", hint, key=True))
        elif error["type"] == "missing":
            problems.append(locator.problem(where[:-1], f"missing key {loc[-1]!r}", "add it"))
        else:
            problems.append(locator.problem(where, *_message(error, loc)))
    return problems
