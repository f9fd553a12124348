"""Log files → metrics and a searchable log store (mtail/grok_exporter-like, rotation-safe, exact).

::

    from tocsin.logwatch import load_config, run

    run(load_config("logwatch.json"), state_dir=".tocsin/logwatch", port=9465)  # blocks; SIGTERM stops it

or from a shell: ``tocsin logwatch --config logwatch.yaml``; search with ``tocsin logs --level ERROR``.
Names are imported on first use, so ``import tocsin.logwatch.store`` (the console reads the store)
loads neither the watcher nor its matching engines.
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from ._args import DEFAULT_PORT, add_watch_arguments, watch_options
    from ._match import ENGINES, Matcher
    from ._run import run
    from ._watcher import CHECKPOINT_NAME, Watcher
    from .config import LogsConfig, config_from_dict, load_config
    from .store import LogStore, StoredLine

__all__ = [
    "CHECKPOINT_NAME",
    "DEFAULT_PORT",
    "ENGINES",
    "LogStore",
    "LogsConfig",
    "Matcher",
    "StoredLine",
    "Watcher",
    "add_watch_arguments",
    "config_from_dict",
    "load_config",
    "run",
    "watch_options",
]

_WHERE = {
    "CHECKPOINT_NAME": "._watcher",
    "DEFAULT_PORT": "._args",
    "ENGINES": "._match",
    "LogStore": ".store",
    "LogsConfig": ".config",
    "Matcher": "._match",
    "StoredLine": ".store",
    "Watcher": "._watcher",
    "add_watch_arguments": "._args",
    "config_from_dict": ".config",
    "load_config": ".config",
    "run": "._run",
    "watch_options": "._args",
}


def __getattr__(name: str) -> typing.Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
