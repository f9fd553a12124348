"""Shared by every benchmark: timing helpers and the results file format.

Each benchmark compares tocsin with its peers in the same run (same machine,
same load) and writes ``benchmarks/results/<name>.json``: absolute figures are
machine-dependent, the ratios are what to read.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def best_of(fn: Callable[[], float], repeats: int = 5) -> float:
    """The median of ``repeats`` runs of ``fn`` (which returns one measurement)."""
    return statistics.median(fn() for _ in range(repeats))


def counter_registry(series: int = 200) -> Any:
    """A registry holding one counter with ``series`` label sets (a typical small app's page)."""
    from prometheus_client import CollectorRegistry, Counter

    registry = CollectorRegistry()
    counter = Counter("bench", "x", ["route"], registry=registry)
    for i in range(series):
        counter.labels(f"/r/{i}").inc(i)
    return registry


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` (with the machine facts) and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **results}, indent=2) + "\n")
    return path
