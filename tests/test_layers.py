"""Layers import downward only (docs: DESIGN.md): cli → views / history / ops → stack → compile → spec →
shared value types; ``sdk`` and ``logwatch`` run inside other processes and import none of those layers
(the log watcher's store is read from views and the CLI, never from the spec or the compiler).

Read from the source (AST) of every module under src/tocsin, so an import inside a function, under
``TYPE_CHECKING`` or through ``importlib.import_module("tocsin...")`` with a literal name counts as much
as one at the top: a lazy import is still an edge, only a later one. Also refused: reaching into another
package's private modules (``tocsin.spec._load`` from ``tocsin.compile``): import what it exports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tocsin"

#: layer of each top-level module or package of tocsin
LAYER = {
    "tocsin": "shared",  # the package root: __version__
    "tocsin.errors": "shared",
    "tocsin.ports": "shared",
    "tocsin.durations": "shared",
    "tocsin.signals": "shared",
    "tocsin.sdk": "sdk",
    "tocsin.testing": "testing",
    "tocsin.logwatch": "logwatch",
    "tocsin.spec": "spec",
    "tocsin.compile": "compile",
    "tocsin.promapi": "promapi",
    "tocsin.stack": "stack",
    "tocsin.history": "history",
    "tocsin.views": "views",
    "tocsin.ops": "ops",
    "tocsin.cli": "cli",
    "tocsin.__main__": "cli",
}

_BELOW_VIEWS = {"stack", "promapi", "logwatch", "compile", "spec", "sdk", "shared"}
#: what each layer may import (its own modules always)
ALLOWED = {
    "shared": {"shared"},
    "sdk": {"shared"},
    "testing": {"sdk", "shared"},  # helpers for users' tests of their instrumented code
    "logwatch": {"sdk", "shared"},
    "spec": {"shared"},
    "compile": {"spec", "shared"},
    "promapi": {"shared"},
    "stack": {"promapi", "compile", "spec", "sdk", "shared"},
    "history": _BELOW_VIEWS,
    "views": {"history", *_BELOW_VIEWS},  # the console shows reports and backtests
    "ops": {"history", *_BELOW_VIEWS},
    "cli": set(LAYER.values()),
}

#: Back-edges that exist and have an owner removing them (see /work/coord/NOTES.md). This list only
#: shrinks: a new edge fails the test, and so does a listed one that is gone (then delete its line).
KNOWN: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = ("tocsin", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _owner(module: str) -> str | None:
    """The key of LAYER a module belongs to (longest prefix)."""
    parts = module.split(".")
    for n in range(min(len(parts), 2), 0, -1):
        if ".".join(parts[:n]) in LAYER:
            return ".".join(parts[:n])
    return None


def _imports(source: str, module: str, *, is_package: bool = False) -> Iterator[tuple[str, int]]:
    """Every tocsin module ``source`` (the text of ``module``) imports, anywhere, with its line."""
    package = module if is_package else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # `from tocsin.stack import components` imports the module tocsin.stack.components
            names = [
                f"{target}.{alias.name}" if _is_module(f"{target}.{alias.name}") else target
                for alias in node.names
            ]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        else:
            continue
        for name in dict.fromkeys(names):
            if name == "tocsin" or name.startswith("tocsin."):
                yield name, node.lineno


def _is_module(name: str) -> bool:
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _edges() -> list[tuple[str, str, str]]:
    """(importer, imported, where) for every import that crosses a layer rule."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        owner = _owner(module)
        assert owner is not None, f"{module}: not in any layer (add its package to LAYER in {__file__})"
        source = path.read_text(encoding="utf-8")
        for target, line in _imports(source, module, is_package=path.name == "__init__.py"):
            target_owner = _owner(target)
            where = f"{path.relative_to(SRC.parents[1])}:{line}"
            assert target_owner is not None, f"{where}: imports {target}, which is in no layer"
            if target_owner == owner:
                continue
            if LAYER[target_owner] not in ALLOWED[LAYER[owner]] | {LAYER[owner]}:
                bad.append(
                    (module, target, f"{where}: {LAYER[owner]} imports {LAYER[target_owner]} ({target})")
                )
            elif any(part.startswith("_") and not part.startswith("__") for part in target.split(".")[2:3]):
                bad.append(
                    (module, target, f"{where}: {module} reaches into {target}, private to {target_owner}")
                )
    return bad


def test_layers_import_downward_only() -> None:
    found = _edges()
    new = [where for module, target, where in found if (module, target) not in KNOWN]
    assert not new, "imports against the layers (DESIGN.md):\n" + "\n".join(new)


def test_known_back_edges_are_still_there() -> None:
    """A fixed back-edge leaves KNOWN, so it can never come back unnoticed."""
    present = {(module, target) for module, target, _ in _edges()}
    fixed = sorted(KNOWN - present)
    assert not fixed, f"no longer imported, delete from KNOWN in {__file__}: {fixed}"


@pytest.mark.parametrize(
    ("source", "edge"),
    [
        ("def f():\n    from tocsin.cli import main\n", "tocsin.cli"),
        (
            "import typing\nif typing.TYPE_CHECKING:\n    import tocsin.stack.components\n",
            "tocsin.stack.components",
        ),
        ("import importlib\nimportlib.import_module('tocsin.views.console')\n", "tocsin.views.console"),
        ("from ..stack import control\n", "tocsin.stack.control"),
    ],
)
def test_every_kind_of_import_is_seen(source: str, edge: str) -> None:
    """The scanner itself: a lazy, a type-only, a dynamic and a relative import all count."""
    found = [name for name, _ in _imports(source, "tocsin.spec._example")]
    assert edge in found, found
