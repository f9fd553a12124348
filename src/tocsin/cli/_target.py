"""Which spec and which state dir a stack command is about: one rule for ``up``, ``status``, ``reload``,
``down``, ``alerts`` and ``logs``.

- the spec: the ``SPEC`` argument, else ``./tocsin.yaml`` when there is one;
- the state dir: ``--state-dir``, else the spec's ``stack.state_dir`` (relative to the spec file's
  directory, default ``.tocsin``), else ``./.tocsin``.

A spec that does not load (yet) still names its state dir, so ``down`` or ``logs`` never fail to find a
stack because of a typo in an alert.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tocsin.errors import SpecError, StackError, UsageError
from tocsin.stack.layout import StackLayout
from tocsin.stack.state import explain_os_error

__all__ = [
    "DEFAULT_SPEC",
    "Command",
    "StackTarget",
    "add_target_arguments",
    "find_spec",
    "no_traceback",
    "require",
    "resolve_target",
]

DEFAULT_SPEC = "tocsin.yaml"
DEFAULT_STATE_DIR = ".tocsin"
Command = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class StackTarget:
    """The spec file (None when there is none) and the state dir's layout."""

    spec: Path | None
    layout: StackLayout

    def require_spec(self) -> Path:
        return require(self.spec)


def require(spec: Path | None) -> Path:
    if spec is None:
        raise UsageError(f"no spec given and no {DEFAULT_SPEC} here (create one with `tocsin init`)")
    return spec


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """``SPEC`` and ``--state-dir``, with the same help everywhere."""
    parser.add_argument("spec", nargs="?", metavar="SPEC", help=f"the spec file (default: ./{DEFAULT_SPEC})")
    parser.add_argument(
        "--state-dir",
        help=f"the stack's state dir (default: the spec's stack.state_dir, else ./{DEFAULT_STATE_DIR})",
    )


def find_spec(args: argparse.Namespace) -> Path | None:
    """The ``SPEC`` argument (which must exist), else ``./tocsin.yaml`` if present, as an absolute path."""
    given = getattr(args, "spec", None)
    if given:
        path = Path(given)
        if not path.is_file():
            raise UsageError(f"{path}: no such spec file (create one with `tocsin init`)")
        return path.resolve()
    default = Path(DEFAULT_SPEC)
    return default.resolve() if default.is_file() else None


def resolve_target(args: argparse.Namespace, *, state_dir: str | None = None) -> StackTarget:
    """The target of a stack command; ``state_dir`` is the loaded spec's, when the caller has it."""
    spec = find_spec(args)
    if args.state_dir:
        return StackTarget(spec, StackLayout(Path(args.state_dir).resolve()))
    if spec is None:
        return StackTarget(None, StackLayout(Path(DEFAULT_STATE_DIR).resolve()))
    if state_dir is None:
        state_dir = _spec_state_dir(spec)
    return StackTarget(spec, StackLayout((spec.parent / state_dir).resolve()))


def _spec_state_dir(spec: Path) -> str:
    from tocsin.spec import load_spec

    try:
        return load_spec(spec).stack.state_dir
    except SpecError:  # a broken spec must not keep `down` or `logs` from finding the stack
        return _raw_state_dir(spec)


def _raw_state_dir(spec_path: Path) -> str:
    """``stack.state_dir`` read without validation, for a spec that does not load (yet)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        if spec_path.stat().st_size > 1_000_000:  # not a spec anyone wrote by hand
            return DEFAULT_STATE_DIR
        data = YAML(typ="safe").load(spec_path.read_text(encoding="utf-8"))
        value = data["stack"]["state_dir"]
    except (YAMLError, OSError, KeyError, TypeError, ValueError, RecursionError):
        return DEFAULT_STATE_DIR
    return value if isinstance(value, str) and value else DEFAULT_STATE_DIR


def no_traceback(func: Command) -> Command:
    """An OSError (disk full, read-only, vanished state dir) becomes one ``tocsin:`` line, exit 2."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except OSError as exc:
            raise StackError(explain_os_error(exc)) from None

    return run
