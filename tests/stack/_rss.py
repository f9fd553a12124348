"""Resident memory of a running stack, process by process, from ``/proc/<pid>/smaps_rollup``.

One helper for every place that weighs the stack: ``tests/stack/test_footprint.py`` (the ≤ 180 MB
budget with the console), ``benchmarks/console.py`` and ``benchmarks/stack_startup.py``. The kernel's
``Rss:`` line of ``smaps_rollup`` is exact (``statm``, which ``psutil`` reads, is a per-thread cached
approximation). A component hosted by another's process (the receiver inside the console) has no
figure of its own: its memory is in its host's.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["rss_mb", "stack_rss_mb"]


def rss_mb(pid: int) -> float:
    """The resident set of one process, in MiB (0.0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Rss:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def stack_rss_mb(state_dir: Path) -> dict[str, float]:
    """MiB per process of the stack whose state is in ``state_dir`` (its ``run/state.json``): the
    supervisor and every component with a process of its own."""
    state = json.loads((state_dir / "run" / "state.json").read_text())
    pids = {
        name: c["pid"] for name, c in state["components"].items() if c.get("pid") and not c.get("hosted_by")
    }
    pids["supervisor"] = state["supervisor"]["pid"]
    return {name: rss_mb(pid) for name, pid in pids.items()}
