"""``load_spec``: YAML file → validated :class:`Spec`, or a SpecError listing every problem.

The pipeline reads top to bottom: read the file safely with positions → check the
version → resolve relative file paths → pydantic → whole-spec checks → read
included rule files → apply the profile → collect warnings (secrets, lint).
``load_document`` is the same first steps for any other YAML file tocsin reads
into a model (a standalone ``logwatch.yaml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tocsin.errors import Problem, SpecError
from tocsin.spec._checks import expand_spec, spec_checks, spec_warning_checks
from tocsin.spec._gc import paused_gc
from tocsin.spec._includes import read_includes
from tocsin.spec._model import Spec
from tocsin.spec._positions import Locator, read_yaml
from tocsin.spec._problems import pydantic_problems
from tocsin.spec._profiles import apply_overrides, apply_profile, select_profile

__all__ = ["load_document", "load_spec", "spec_problem", "spec_warnings"]

VERSION = "tocsin/v1"
#: Keys holding file paths, resolved against the spec's directory (besides every ``*_file`` key).
PATH_KEYS = frozenset({"file_sd", "includes"})
#: Sections whose paths their own consumer resolves (the log watcher: against the spec's directory too).
_OWN_PATHS = frozenset({"logs"})

Model = TypeVar("Model", bound=BaseModel)


def _resolve_paths(node: Any, base: Path) -> Any:
    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value and value.isprintable():  # else the model refuses it as it is
            return str((base / value).resolve())
        return value

    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            if key in _OWN_PATHS:
                out[key] = value
            elif isinstance(key, str) and key.endswith("_file"):
                out[key] = resolve(value)
            elif key in PATH_KEYS and isinstance(value, list):
                out[key] = [resolve(v) for v in value]
            else:
                out[key] = _resolve_paths(value, base)
        return out
    if isinstance(node, list):
        return [_resolve_paths(v, base) for v in node]
    return node


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


def _validate(data: dict[str, Any], locator: Locator) -> Spec:
    """The model, with every expansion applied (generated entries located at their origin)."""
    try:
        spec = Spec.model_validate(data)
    except ValidationError as err:
        raise SpecError(pydantic_problems(err, data, locator, Spec)) from None
    spec, origins = expand_spec(spec)
    locator.origins.update(origins)
    return spec


def load_spec(path: str | Path, *, profile: str | None = None) -> Spec:
    """Load and validate the spec at ``path``; ``profile`` applies ``profiles.<name>`` (``fast`` is built in).

    Raises :class:`~tocsin.errors.SpecError` carrying every problem found, each at its ``file:line:col``.
    """
    with paused_gc():
        return _load_spec(path, profile)


def _load_spec(path: str | Path, profile: str | None) -> Spec:
    file = Path(path)
    data, locator = read_yaml(file, str(path))
    _check_version(data, locator)
    base = file.resolve().parent
    data = _resolve_paths(data, base)
    spec = _validate(data, locator)
    spec._source = str(path)  # checks resolve files next to the spec (runbooks)
    problems = [locator.problem(loc, message, hint) for loc, message, hint in spec_checks(spec)]
    included, include_problems = read_includes(spec.includes, locator, base)
    if problems or include_problems:
        raise SpecError([*problems, *include_problems])
    if profile is not None:
        chosen = select_profile(spec, profile, locator)
        profiled = _validate(apply_profile(data, chosen, profile), locator)
        spec = apply_overrides(profiled, profile, chosen, locator)
    spec._source = str(path)
    spec._included = included
    spec._profile = profile
    spec._locator = locator
    spec._warnings = [locator.problem(loc, message, hint) for loc, message, hint in spec_warning_checks(spec)]
    return spec


def load_document(path: str | Path, model: type[Model], *, what: str = "the file") -> Model:
    """Read the YAML file at ``path`` as safely as a spec and validate it as ``model``.

    Raises :class:`~tocsin.errors.SpecError` listing every problem at its ``file:line:col``
    (as ``load_spec`` does). Relative paths in the file are left as written.
    """
    data, locator = read_yaml(path, str(path), what=what)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise SpecError(pydantic_problems(err, data, locator, model)) from None


def spec_problem(spec: Spec, loc: tuple[str | int, ...], message: str, hint: str = "") -> Problem:
    """A Problem at the YAML node ``loc`` of a loaded spec (for the compiler's own errors)."""
    if spec._locator is not None:
        return spec._locator.problem(loc, message, hint)
    return Problem(spec.source or "<spec>", 0, 0, message, hint)


def spec_warnings(spec: Spec) -> list[Problem]:
    """Things that will work but probably not as meant (missing secret files, lint findings)."""
    return list(spec._warnings)
