"""Run ``tocsin check`` on many files in one child process, each under a hard time and memory limit.

One interpreter for the whole batch keeps a corpus of a hundred files fast (imports are paid
once); the limits are the kernel's, not Python's, so they hold even inside C code (libyaml,
promql-parser): ``RLIMIT_AS`` caps the address space and a ``SIGALRM`` left at its default
action kills the child when one file takes too long. The child reports each file as a JSON line
before and after checking it, so a hang or a crash names the file that caused it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Outcome", "check_isolated"]

#: Address space the child may map: a few times what loading the biggest accepted spec needs.
MEMORY_LIMIT = 2 * 1024**3
#: Seconds one file may take (generous: the machine is shared).
SECONDS_PER_FILE = 60

_CHILD = r"""
import contextlib, io, json, resource, signal, sys, time
from tocsin.cli import main
signal.signal(signal.SIGALRM, signal.SIG_DFL)
for path in sys.argv[2:]:
    print(json.dumps({"start": path}), flush=True)
    signal.alarm(int(sys.argv[1]))
    err = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(["check", "--no-tools", path])
        except SystemExit as exit:
            code = exit.code
        except BaseException as exc:  # a traceback: reported, never swallowed
            import traceback
            err.write("Traceback (most recent call last):\n" + traceback.format_exc())
            code = -1
    signal.alarm(0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"done": path, "code": code, "stderr": err.getvalue(),
                      "seconds": time.perf_counter() - started, "peak_kib": peak}), flush=True)
"""


@dataclass(frozen=True)
class Outcome:
    """How ``tocsin check --no-tools`` ended on one file."""

    path: str
    code: int | None  # None: the child died on this file (see ``death``)
    stderr: str
    seconds: float
    death: str = ""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def check_isolated(paths: list[Path], *, cwd: Path) -> list[Outcome]:
    """One :class:`Outcome` per path, in order; after a death the rest are run in a fresh child."""
    outcomes: list[Outcome] = []
    pending = [str(p) for p in paths]
    while pending:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(SECONDS_PER_FILE), *pending],
            cwd=cwd,
            capture_output=True,
            text=True,
            preexec_fn=_limit,
            timeout=SECONDS_PER_FILE * len(pending) + 120,
            check=False,
        )
        started = ""
        for line in done.stdout.splitlines():
            event = json.loads(line)
            if "start" in event:
                started = event["start"]
            else:
                outcomes.append(Outcome(event["done"], event["code"], event["stderr"], event["seconds"]))
                started = ""
        if done.returncode == 0 or not started:
            break
        death = f"exit status {done.returncode}: {done.stderr.strip()[-2000:]}"
        outcomes.append(Outcome(started, None, done.stderr, 0.0, death))
        pending = pending[pending.index(started) + 1 :]
    return outcomes
