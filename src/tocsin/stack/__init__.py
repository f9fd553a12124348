"""Running the compiled spec on this machine: Prometheus, Alertmanager, Pushgateway, node-exporter and
tocsin's receiver as supervised child processes, state under ``.tocsin/``.

The CLI (``tocsin up | status | reload | down | alerts``) is the one obvious way in; these are its parts::

    settings = StackSettings(state_dir=Path(".tocsin").resolve())
    layout = StackLayout(settings.state_dir)
    install_bundle(layout, compiled.files, check)          # checked generation, then the symlink swap
    Supervisor(build_plan(settings, layout), layout).serve()  # locks the state dir; until SIGINT/SIGTERM
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

if typing.TYPE_CHECKING:
    from tocsin.stack.components import KINDS, Component, Kind, StackSettings, build_plan, find_binary
    from tocsin.stack.config import install_bundle
    from tocsin.stack.history import AlertHistory
    from tocsin.stack.layout import StackLayout
    from tocsin.stack.lock import StateLock
    from tocsin.stack.status import StackStatus, stack_status
    from tocsin.stack.supervisor import Liveness, Supervisor
    from tocsin.stack.targets import explain_scrape_error

__all__ = [
    "KINDS",
    "AlertHistory",
    "Component",
    "Kind",
    "Liveness",
    "StackLayout",
    "StackSettings",
    "StackStatus",
    "StateLock",
    "Supervisor",
    "build_plan",
    "explain_scrape_error",
    "find_binary",
    "install_bundle",
    "stack_status",
]

# Imported on first use: the supervisor runs as long as the stack and imports this package, so it
# must not pay for SQLite, the receiver or the compiler it never uses (every MB counts: see
# benchmarks/stack_startup.py).
_WHERE = {
    "KINDS": "components",
    "AlertHistory": "history",
    "Component": "components",
    "Kind": "components",
    "Liveness": "supervisor",
    "StackLayout": "layout",
    "StackSettings": "components",
    "StackStatus": "status",
    "StateLock": "lock",
    "Supervisor": "supervisor",
    "stack_status": "status",
    "build_plan": "components",
    "explain_scrape_error": "targets",
    "find_binary": "components",
    "install_bundle": "config",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tocsin.stack' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tocsin.stack.{_WHERE[name]}"), name)
