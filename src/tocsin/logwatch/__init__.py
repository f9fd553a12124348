"""Log files → metrics and a searchable log store (mtail/grok_exporter-like, rotation-safe, exact).

::

    from tocsin.logwatch import load_config, run

    run("logwatch.yaml", state_dir=".tocsin/logwatch", port=9465)   # blocks; SIGTERM stops it

or from a shell: ``tocsin logwatch --config logwatch.yaml``; search with ``tocsin logs --level ERROR``.
"""

from __future__ import annotations

from ._match import ENGINES, Matcher
from ._run import DEFAULT_PORT, run
from ._watcher import CHECKPOINT_NAME, Watcher
from .config import LogsConfig, load_config
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
    "load_config",
    "run",
]
