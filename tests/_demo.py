"""A ``tocsin demo`` run for tests: started, read until it is ready, stopped with Ctrl-C, and checked to
have stopped cleanly (exit 0, no process of its stack left behind)."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tocsin.stack.state import marked_processes

READY = "Ctrl-C to stop"
URL = re.compile(r"https?://[^\s'\")]+")


def read_until(lines: queue.Queue[str], marker: str, timeout: float) -> list[str]:
    """The lines up to the first one holding ``marker``; the test fails with them after ``timeout``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not seen or marker not in seen[-1]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"no {marker!r} within {timeout:.0f}s; the demo printed:\n" + "".join(seen))
        try:
            seen.append(lines.get(timeout=remaining))
        except queue.Empty:
            continue
    return seen


def printed_urls(output: Sequence[str]) -> list[tuple[str, str]]:
    """(label, URL) of each line that offers one, in order: the first URL on a line (later ones
    belong to a command)."""
    return [(line[: m.start()].strip(), m.group(0)) for line in output if (m := URL.search(line))]


@contextmanager
def demo_running(argv: Sequence[str], cwd: Path, state_dir: Path) -> Iterator[list[str]]:
    """Run ``argv`` (a ``tocsin demo ... --state-dir state_dir``) and yield what it printed until ready."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        yield read_until(lines, READY, timeout=300)
    finally:
        proc.send_signal(signal.SIGINT)
        tail = "".join(read_until(lines, "demo stopped", timeout=120))
        code = proc.wait(timeout=60)
        stdout.close()
    assert code == 0, tail
    assert marked_processes(state_dir / "stack") == []
