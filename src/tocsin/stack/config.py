"""Config generations: write a bundle to a new directory, check it, then swap one symlink.

Prometheus and Alertmanager read ``config/current/...``; ``current`` points at ``config/gen-<n>``. A new
bundle is written and checked beside the running one and only then swapped in with ``rename(2)``, so a
bundle that fails promtool/amtool never touches what is running, and a reload that Prometheus itself
rejects is rolled back to the previous generation.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tocsin.stack.components import StackLayout
from tocsin.stack.secrets import private_dir

__all__ = ["Checker", "activate", "current_generation", "install_bundle", "stage_bundle"]

Checker = Callable[[Path], None]
KEEP_GENERATIONS = 3


def current_generation(layout: StackLayout) -> Path | None:
    """The directory ``current`` points at, if any."""
    try:
        return layout.config_root / os.readlink(layout.current)
    except OSError:
        return None


def stage_bundle(layout: StackLayout, files: Mapping[str, str], check: Checker | None = None) -> Path:
    """Write ``files`` to a fresh generation directory and check it; removed again if the check raises."""
    private_dir(layout.root)  # 0700: alertmanager.yml may hold a webhook URL inline (stack.secrets)
    layout.config_root.mkdir(parents=True, exist_ok=True)
    gen = layout.config_root / f"gen-{time.time_ns()}"
    for relative, content in files.items():
        path = gen / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(content)
    if check is not None:
        try:
            check(gen)
        except BaseException:
            shutil.rmtree(gen, ignore_errors=True)
            raise
    return gen


def activate(layout: StackLayout, gen: Path) -> Path | None:
    """Point ``current`` at ``gen`` atomically; returns the previous generation (for a rollback)."""
    previous = current_generation(layout)
    tmp = layout.config_root / f".current-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(gen.name, tmp)
    os.replace(tmp, layout.current)
    _prune(layout, keep={gen, *([previous] if previous else [])})
    return previous


def install_bundle(layout: StackLayout, files: Mapping[str, str], check: Checker | None = None) -> Path:
    """stage + activate: the one call ``up`` makes before starting anything."""
    gen = stage_bundle(layout, files, check)
    activate(layout, gen)
    return gen


def _prune(layout: StackLayout, keep: set[Path]) -> None:
    gens = sorted(layout.config_root.glob("gen-*"), key=lambda p: int(p.name[4:]))
    for old in gens[:-KEEP_GENERATIONS]:
        if old not in keep:
            shutil.rmtree(old, ignore_errors=True)
