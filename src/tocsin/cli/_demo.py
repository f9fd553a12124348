"""``tocsin demo [NAME] [--fault FAULT]``: a seed example with traffic, the stack and the console.

The examples (``examples/<name>/``: a service, its spec, traffic, faults and ``scenario.yaml``) live in
tocsin's repository, not in the installed package: this command finds the checkout this tocsin runs
from (an editable install), else the current directory's, and hands over to its harness
(``examples/_harness/demo.py``), which prints the console first, then every page to open and the
commands that break the example. ``--fault F`` runs one break of a running demo until Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from tocsin.errors import UsageError

__all__ = ["find_examples", "register"]

_HARNESS = Path("examples", "_harness", "demo.py")


def find_examples() -> Path:
    """The repository root holding ``examples/_harness`` (this install's checkout, else the cwd's)."""
    here = Path(__file__).resolve()
    for root in (*here.parents, Path.cwd().resolve(), *Path.cwd().resolve().parents):
        if (root / _HARNESS).is_file():
            return root
    raise UsageError(
        "the examples are not installed with the package: run `tocsin demo` from a checkout of tocsin's "
        "repository (git clone, then `make venv`)"
    )


def _harness(root: Path) -> Any:
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("examples._harness.demo")


def _demo(args: argparse.Namespace) -> int:
    root = find_examples()
    harness = _harness(root)
    run_module = importlib.import_module("examples._harness.run")
    names: list[str] = run_module.example_names()
    if not args.name:
        print("examples (run one with `tocsin demo NAME`):")
        for name in names:
            print(f"  {name}")
        return 0
    if args.name not in names:
        raise UsageError(f"no example {args.name!r} (examples: {', '.join(names)})")
    state_dir = Path(args.state_dir) if args.state_dir else None
    if args.fault:
        return int(harness.run_fault(args.name, args.fault, state_dir))
    return int(harness.run_demo(args.name, state_dir, any_ports=args.any_ports, once=args.once))


def register(subparsers: Any) -> None:
    help = "run a seed example with traffic, the stack and the console (no NAME: list them)"
    parser: argparse.ArgumentParser = subparsers.add_parser("demo", help=help, description=help)
    parser.add_argument("name", nargs="?", metavar="NAME", help="the example, e.g. order_archiver")
    parser.add_argument(
        "--state-dir", help="where the run lives (default: ./.tocsin/demo/NAME; the same for --fault)"
    )
    parser.add_argument("--fault", metavar="FAULT", help="break a running demo this way until Ctrl-C")
    parser.add_argument(
        "--any-ports", action="store_true", help="never the usual ports (when another stack holds them)"
    )
    parser.add_argument("--once", action="store_true", help="stop as soon as everything is up (for tests)")
    parser.set_defaults(func=_demo)
