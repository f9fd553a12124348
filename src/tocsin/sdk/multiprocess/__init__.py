"""Multiprocess metrics (gunicorn, ``uvicorn --workers``): exact sums, scrape cost bounded.

Each worker writes its values to its own files in ``$PROMETHEUS_MULTIPROC_DIR``
(prometheus_client's multiprocess mode); ``/metrics`` merges them. When a
worker dies, :func:`mark_process_dead` folds its counter, histogram and
summary files into one archive per type, so totals stay exact while the number
of files, and the scrape time, stays that of the live workers.

``gunicorn.conf.py``::

    from tocsin.sdk import multiprocess

    multiprocess.use_directory("/run/myapp/metrics")
    on_starting = multiprocess.on_starting
    child_exit = multiprocess.child_exit

The exposition (:mod:`tocsin.sdk.exposition`) switches to
:class:`MultiProcessCollector` by itself when ``PROMETHEUS_MULTIPROC_DIR`` is
set. Importing this package does not import prometheus_client.
"""

from __future__ import annotations

from ._collector import MultiProcessCollector, constant_labels_of
from ._compact import compact_dead_processes, mark_process_dead
from ._files import ENV_VAR
from ._setup import child_exit, clear_directory, on_starting, use_directory

__all__ = [
    "ENV_VAR",
    "MultiProcessCollector",
    "child_exit",
    "clear_directory",
    "compact_dead_processes",
    "constant_labels_of",
    "mark_process_dead",
    "on_starting",
    "use_directory",
]
