"""``tocsin init``, ``tocsin check`` and ``tocsin compile``: the spec's commands."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from tocsin.errors import CheckError, UsageError

__all__ = ["register"]

DEFAULT_SPEC = "tocsin.yaml"


def _add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ha", action="store_true", help="compile an HA pair (two Prometheus, two Alertmanagers)"
    )
    parser.add_argument("spec", nargs="?", default=DEFAULT_SPEC, help=f"spec file (default: {DEFAULT_SPEC})")
    parser.add_argument("--profile", help="apply profiles.NAME (fast: 1 s intervals, for demos and tests)")


def _load(args: argparse.Namespace) -> Any:
    from tocsin.spec import load_spec, spec_warnings

    spec = load_spec(args.spec, profile=args.profile)
    for problem in spec_warnings(spec):
        print(f"tocsin: warning: {problem}", file=sys.stderr)
    return spec


def _init(args: argparse.Namespace) -> int:
    from tocsin.spec import STARTER_SPEC

    path = Path(args.spec)
    if path.exists() and not args.force:
        raise UsageError(f"{path} already exists (pass --force to overwrite it)")
    path.write_text(STARTER_SPEC, encoding="utf-8")
    print(f"wrote {path}: edit it, then run `tocsin check {path}`")
    return 0


def _compile(spec: Any, args: argparse.Namespace) -> Any:
    from tocsin.compile import compile_spec

    return compile_spec(spec, ha=args.ha)


def _check(args: argparse.Namespace) -> int:
    from tocsin.compile import check_bundle

    spec = _load(args)
    counts = f"{len(spec.services)} services, {len(spec.alerts)} alerts, {len(spec.slos)} SLOs"
    if args.no_tools:
        print(f"{args.spec}: ok ({counts}; promtool/amtool not run)")
        return 0
    bundle = _compile(spec, args)
    with tempfile.TemporaryDirectory(prefix="tocsin-check-") as out:
        bundle.write(out)
        problems = check_bundle(out, spec=spec)
    if problems:
        raise CheckError("\ntocsin: ".join(f"compiled {p}" for p in problems))
    tests = sum(1 for path in bundle.paths("prometheus/tests/") if path.endswith("_test.yml"))
    print(f"{args.spec}: ok ({counts}; promtool check config/rules, {tests} unit test files and amtool pass)")
    return 0


def _compile_command(args: argparse.Namespace) -> int:
    spec = _load(args)
    bundle = _compile(spec, args)
    bundle.write(args.output)
    print(f"wrote {len(bundle.files)} files to {args.output}")
    return 0


def register(subparsers: Any) -> None:
    """Add init, check and compile to the ``tocsin`` command."""
    init = subparsers.add_parser("init", help="write a commented starter spec")
    init.add_argument("spec", nargs="?", default=DEFAULT_SPEC, help="where to write it")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=_init)

    check = subparsers.add_parser("check", help="validate a spec; check its output with promtool/amtool")
    _add_spec_arguments(check)
    check.add_argument("--no-tools", action="store_true", help="validate the spec only (no promtool/amtool)")
    check.set_defaults(func=_check)

    comp = subparsers.add_parser("compile", help="write Prometheus/Alertmanager configs, rules and tests")
    _add_spec_arguments(comp)
    comp.add_argument("-o", "--output", required=True, help="directory to write into (created if missing)")
    comp.set_defaults(func=_compile_command)
