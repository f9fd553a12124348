"""Every package's ``__all__`` is sorted and lists exactly its public names (httpx habit)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import tocsin


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    return (1 if name[:1].isupper() else 2, name)


def _defined_in(value: object, package: str) -> bool:
    """Defined by the package itself or its private modules (not imported from elsewhere)."""
    module = getattr(value, "__module__", package)
    return module == package or module.startswith(package + "._")


def _packages() -> list[str]:
    names = ["tocsin"]
    for info in pkgutil.walk_packages(tocsin.__path__, "tocsin."):
        if info.ispkg and not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _packages())
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(getattr(module, "__all__", []))
    assert exported == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_") and not isinstance(value, types.ModuleType) and _defined_in(value, name)
    }
    assert set(exported) >= public, f"{name}: public names missing from __all__"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"
