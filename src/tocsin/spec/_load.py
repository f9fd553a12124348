"""``load_spec``: YAML file → validated :class:`Spec`, or a SpecError listing every problem.

The pipeline reads top to bottom: read YAML with positions → check the version
→ resolve relative file paths → pydantic → whole-spec checks → read included
rule files → apply the profile → collect warnings (secrets, lint).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from tocsin.errors import Problem, SpecError
from tocsin.spec._lint import lint_spec
from tocsin.spec._model import Profile, Spec
from tocsin.spec._positions import Locator, read_yaml
from tocsin.spec._promql import parse_promql
from tocsin.spec._validate import check_spec, secret_warnings

__all__ = ["BUILTIN_PROFILES", "load_spec", "spec_problem", "spec_warnings"]

VERSION = "tocsin/v1"

#: Profiles every spec has; a spec's own ``profiles:`` entry of the same name replaces it.
BUILTIN_PROFILES: dict[str, Profile] = {
    "fast": Profile.model_validate(
        {
            "scrape_interval": "1s",
            "evaluation_interval": "1s",
            "for": "2s",
            "target_down_for": "2s",
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1m",
        }
    ),
}
# Keys holding file paths, resolved against the spec's directory (``logs:`` belongs to logwatch).
_PATH_KEYS = frozenset({"file_sd", "includes"})


def _resolve_paths(node: Any, base: Path) -> Any:
    def resolve(value: Any) -> Any:
        return str((base / value).resolve()) if isinstance(value, str) and value else value

    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            if key == "logs":
                out[key] = value
            elif isinstance(key, str) and key.endswith("_file"):
                out[key] = resolve(value)
            elif key in _PATH_KEYS and isinstance(value, list):
                out[key] = [resolve(v) for v in value]
            else:
                out[key] = _resolve_paths(value, base)
        return out
    if isinstance(node, list):
        return [_resolve_paths(v, base) for v in node]
    return node


def _strip_tags(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Drop pydantic's union/validator tags from ``loc``, keeping only steps present in the data."""
    path: list[str | int] = []
    node = data
    for step in loc:
        in_dict = isinstance(node, dict) and step in node
        if in_dict or (isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)):
            path.append(step)
            node = node[step]
        elif not path or isinstance(node, dict):
            if isinstance(node, dict) and isinstance(step, str) and not any(c in step for c in "[]-"):
                path.append(step)  # a missing key: point at its parent, name the key
            node = None
    return tuple(path)


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Key names allowed at ``loc`` (for 'did you mean' hints); [] when unknown."""
    current: Any = model
    for step in loc:
        current = _unwrap_optional(current)
        if get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == step), None)
            if field is None:
                return []
            current = field.annotation
        else:
            return []
    current = _unwrap_optional(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items() if not f.exclude]
    return []


def _unwrap_optional(annotation: Any) -> Any:
    """``X | None`` → ``X``; anything else unchanged."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _pydantic_problems(err: ValidationError, data: Any, locator: Locator) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str | int, ...]] = set()
    for error in err.errors(include_url=False):
        loc = _strip_tags(tuple(error["loc"]), data)
        if loc in seen:
            continue
        seen.add(loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            allowed = _fields_at(Spec, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
            problems.append(locator.problem(loc, f"unknown key {loc[-1]!r}", hint, key=True))
        elif kind == "missing":
            problems.append(locator.problem(loc[:-1], f"missing key {loc[-1]!r}", "add it"))
        elif kind == "value_error":
            message = str(error["ctx"]["error"])
            what, _, hint = message.partition(": ")
            problems.append(locator.problem(loc, what, hint))
        else:
            where = f"{loc[-1]}: " if loc and isinstance(loc[-1], str) else ""
            problems.append(locator.problem(loc, f"{where}{error['msg'][0].lower()}{error['msg'][1:]}"))
    return problems


def _check_version(data: Any, locator: Locator) -> None:
    if not isinstance(data, dict):
        raise SpecError(
            [locator.problem((), "the spec must be a YAML mapping", f"start with 'version: {VERSION}'")]
        )
    if data.get("version") != VERSION:
        if "version" in data:
            message = f"unsupported version {data['version']!r}"
            raise SpecError([locator.problem(("version",), message, f"write 'version: {VERSION}'")])
        raise SpecError([locator.problem((), "missing 'version'", f"put 'version: {VERSION}' at the top")])


def _read_includes(spec: Spec, locator: Locator, base: Path) -> tuple[dict[str, str], list[Problem]]:
    included: dict[str, str] = {}
    problems: list[Problem] = []
    for i, full in enumerate(spec.includes):
        loc = ("includes", i)
        path = os.path.relpath(full, base) if Path(full).is_relative_to(base) else full
        try:
            text = Path(full).read_text(encoding="utf-8")
            document = YAML(typ="safe").load(text)
        except OSError as err:
            problems.append(
                locator.problem(loc, f"cannot read rule file {path}: {err.strerror}", "check the path")
            )
            continue
        except YAMLError:
            problems.append(
                locator.problem(loc, f"rule file {path} is not valid YAML", "run promtool check rules")
            )
            continue
        if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
            problems.append(
                locator.problem(loc, f"rule file {path} has no 'groups:' list", "is it a rule file?")
            )
            continue
        problems.extend(
            locator.problem(loc, message, hint) for message, hint in _included_rule_problems(path, document)
        )
        included[full] = text
    return included, problems


def _included_rule_problems(path: str, document: dict[str, Any]) -> list[tuple[str, str]]:
    """PromQL of a raw rule file, parsed now so the error points at the ``includes`` line."""
    found: list[tuple[str, str]] = []
    for group in document["groups"]:
        rules = group.get("rules") if isinstance(group, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if not isinstance(rule, dict) or not isinstance(rule.get("expr"), str):
                continue
            try:
                parse_promql(rule["expr"])
            except ValueError as err:
                name = rule.get("alert") or rule.get("record") or "?"
                detail = str(err).partition(": ")[2] or str(err)
                found.append((f"rule file {path}: {name!r} has invalid PromQL", detail))
    return found


def _logs_problems(data: dict[str, Any], file: Path, display: str) -> list[Problem]:
    """The ``logs:`` section checked by logwatch's own model, each problem at its line in the spec.

    Imported lazily (the watcher's package is ~0.1 s to import) and, as positions need the slow
    round-trip parse, the spec is re-read that way only when the section is wrong.
    """
    if data.get("logs") is None:
        return []
    from tocsin.logwatch.config import LogsConfig, validate_section

    try:
        LogsConfig.model_validate(data["logs"])
        return []
    except ValidationError:
        pass
    try:
        validate_section(YAML(typ="rt").load(file.read_text(encoding="utf-8")), display, ("logs",))
    except SpecError as err:
        return list(err.problems)
    return []


def _profile_overrides(data: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """A copy of the raw spec with the profile's durations written in."""
    data = {**data}
    scrape = {**data.get("scrape", {})}
    if profile.scrape_interval:
        scrape["interval"] = profile.scrape_interval
        scrape["timeout"] = profile.scrape_timeout or profile.scrape_interval
        data["services"] = {
            name: {**svc, **{k: profile.scrape_interval for k in ("interval", "timeout") if k in svc}}
            for name, svc in (data.get("services") or {}).items()
        }
    if profile.evaluation_interval:
        scrape["evaluation_interval"] = profile.evaluation_interval
    data["scrape"] = scrape
    if profile.for_:
        data["alerts"] = [{**a, "for": profile.for_} if a.get("for") else a for a in data.get("alerts") or []]
    if profile.target_down_for:
        data["services"] = {
            name: {**svc, "down": {**(svc.get("down") or {}), "for": profile.target_down_for}}
            for name, svc in (data.get("services") or {}).items()
        }
    routes = {**(data.get("routes") or {})}
    for key in ("group_wait", "group_interval", "repeat_interval"):
        value = getattr(profile, key)
        if value is None:
            continue
        routes[key] = value
        for name, route in routes.items():
            if isinstance(route, dict) and key in route:
                routes[name] = {**route, key: value}
    if profile.repeat_interval:
        routes = {
            name: {"receivers": route, "repeat_interval": profile.repeat_interval}
            if isinstance(route, list) and name in ("P1", "P2", "P3")
            else route
            for name, route in routes.items()
        }
    data["routes"] = routes
    return data


def _select_profile(spec: Spec, name: str, locator: Locator) -> Profile:
    profile = spec.profiles.get(name) or BUILTIN_PROFILES.get(name)
    if profile is None:
        known = ", ".join(sorted({*spec.profiles, *BUILTIN_PROFILES}))
        raise SpecError([locator.problem(("profiles",), f"unknown profile {name!r}", f"profiles: {known}")])
    return profile


def load_spec(path: str | Path, *, profile: str | None = None) -> Spec:
    """Load and validate the spec at ``path``; ``profile`` applies ``profiles.<name>`` (``fast`` is built in).

    Raises :class:`~tocsin.errors.SpecError` carrying every problem found, each at its ``file:line:col``.
    """
    file = Path(path)
    data, locator = read_yaml(file, str(path))
    _check_version(data, locator)
    data = _resolve_paths(data, file.resolve().parent)
    logs_problems = _logs_problems(data, file, str(path))
    if logs_problems:
        data = {k: v for k, v in data.items() if k != "logs"}  # report the rest of the spec's problems too
    try:
        spec = Spec.model_validate(data)
    except ValidationError as err:
        raise SpecError([*logs_problems, *_pydantic_problems(err, data, locator)]) from None
    problems = [locator.problem(loc, message, hint) for loc, message, hint in check_spec(spec)]
    problems += logs_problems
    included, include_problems = _read_includes(spec, locator, file.resolve().parent)
    if problems or include_problems:
        raise SpecError([*problems, *include_problems])
    if profile is not None:
        overridden = _profile_overrides(data, _select_profile(spec, profile, locator))
        try:
            spec = Spec.model_validate(overridden)
        except ValidationError as err:
            raise SpecError(_pydantic_problems(err, overridden, locator)) from None
    spec._source = str(path)
    spec._included = included
    spec._profile = profile
    spec._locator = locator
    spec._warnings = [
        locator.problem(loc, message, hint)
        for loc, message, hint in [*secret_warnings(spec), *lint_spec(spec)]
    ]
    return spec


def spec_problem(spec: Spec, loc: tuple[str | int, ...], message: str, hint: str = "") -> Problem:
    """A Problem at the YAML node ``loc`` of a loaded spec (for the compiler's own errors)."""
    if isinstance(spec._locator, Locator):
        return spec._locator.problem(loc, message, hint)
    return Problem(spec.source or "<spec>", 0, 0, message, hint)


def spec_warnings(spec: Spec) -> list[Problem]:
    """Things that will work but probably not as meant (missing secret files, lint findings)."""
    return list(spec._warnings)
