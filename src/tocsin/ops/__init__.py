"""Operating the monitoring itself: the chores around a running stack, as functions the CLI prints.

::

    tocsin checklist [--period day]     the spec's checklist: items, pass/fail (checklist)
    tocsin routes [--labels k=v ...]    the route tree and where a label set goes (routes)
    tocsin doctor                       what is wrong with the stack, in plain words (doctor)
    tocsin test-notify [--priority P1]  a synthetic alert confirmed at each receiver (notify)
    tocsin drill --service NAME         kill, fired, delivered, restarted, resolved (drill)
    tocsin backup / restore FILE        TSDB snapshot, silences, history, logs, config, spec (backup)
    tocsin reset --metrics|--alerts     start a part of the state over (reset)

Layer: imports the stack, the compiler, the spec and :mod:`tocsin.promapi`; never the views, the
history readers or the CLI.
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

if typing.TYPE_CHECKING:
    from tocsin.ops._archive import ArchiveError, ArchiveReader
    from tocsin.ops._format import format_bytes, format_value
    from tocsin.ops.checklist import run_checklist
    from tocsin.ops.routes import spec_route_tree

__all__ = [
    "ArchiveError",
    "ArchiveReader",
    "format_bytes",
    "format_value",
    "run_checklist",
    "spec_route_tree",
]

# Imported on first use: each command pays only for its own module. (backup, restore and reset are
# modules of the same names: import their functions from them, ``from tocsin.ops.backup import backup``.)
_WHERE = {
    "ArchiveError": "_archive",
    "ArchiveReader": "_archive",
    "format_bytes": "_format",
    "format_value": "_format",
    "run_checklist": "checklist",
    "spec_route_tree": "routes",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tocsin.ops' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tocsin.ops.{_WHERE[name]}"), name)
