"""The one helper every example's end-to-end test calls: run the example, play its scenario, record it.

``run_example("order_archiver", tmp_path)`` starts the example's processes, the real stack in the fast
profile and traffic (examples/_harness/run.py), plays the clean period and every fault
(examples/_harness/observe.py), writes ``docs/detection/<name>.json`` and rebuilds docs/detection.md,
then fails on any false alert and on any expected alert that did not fire in time or did not resolve.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from examples._harness import ExampleRun, Row, play
from examples._harness.detection import write_page, write_rows

__all__ = ["needs_stack", "run_example"]

needs_stack = pytest.mark.skipif(
    any(shutil.which(b) is None for b in ("prometheus", "prometheus-alertmanager", "promtool")),
    reason="needs Debian's prometheus and prometheus-alertmanager (make setup)",
)


def _explain(rows: list[Row]) -> str:
    lines = []
    for r in rows:
        if r.false_alert:
            where = ", ".join(r.receivers)
            lines.append(f"false alert during {r.phase}: {r.alert} ({r.severity}, {r.priority}) at {where}")
        elif not r.ok:
            lines.append(
                f"{r.phase}: {r.alert} ({r.severity}, {r.priority}) fired {r.fired_s} s "
                f"(budget {r.budget_s}), resolved {r.resolved_s} s: {r.note}"
            )
    return "\n".join(lines)


#: example runs at once on this machine: each runs services, a stack and traffic for minutes and
#: judges alerts by time; four at once on two cores (load 28) turned that into false alerts, up to
#: three at once on an otherwise quiet CI machine passed
SLOTS = 2


@contextmanager
def _a_free_slot() -> Iterator[None]:
    """Wait for one of :data:`SLOTS` machine-wide slots, whichever xdist worker asks."""
    while True:
        for slot in range(SLOTS):
            lock = open(Path(tempfile.gettempdir()) / f"tocsin-examples-e2e-{slot}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            try:
                yield
            finally:
                lock.close()
            return
        time.sleep(1)


def run_example(name: str, tmp_path: Path, faults: list[str] | None = None) -> list[Row]:
    with _a_free_slot():
        return _run_example(name, tmp_path, faults)


def _run_example(name: str, tmp_path: Path, faults: list[str] | None) -> list[Row]:
    started = time.monotonic()
    with ExampleRun.prepare(name, tmp_path) as run:
        run.start()
        rows = play(run, faults=faults)
    if faults is None:  # a partial run does not replace the record of the whole scenario
        write_rows(name, rows, wall_s=time.monotonic() - started, notes=run.notes)
        write_page()
    expected = [r for r in rows if not r.false_alert]
    assert expected, f"{name}: the scenario expects no alert"
    problems = _explain(rows)
    assert not problems, f"{name}:\n{problems}"
    return rows
