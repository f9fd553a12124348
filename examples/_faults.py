"""What every example's fault injector shares: run one named fault until SIGTERM or Ctrl-C.

A fault applies itself, waits with :func:`until_stopped` (or on :data:`stop` itself) and undoes
itself in a ``finally``; :func:`run` parses ``NAME`` and the example's own options, lets ``prepare``
derive what the options imply (a DSN from ``--db``), turns SIGTERM and SIGINT into ``stop``, and
calls the fault::

    FAULTS = {"cache-bypass": cache_bypass, ...}

    def main(argv=None) -> int:
        return run(FAULTS, "python -m examples.ocr_service.faults", __doc__, argv, options=_options)

:func:`suspended` is the "process hung" fault of several examples: SIGSTOP until stopped, then SIGCONT.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence

from tocsin.signals import on_signals

__all__ = ["Fault", "run", "stop", "suspended", "until_stopped"]

Fault = Callable[[argparse.Namespace], None]

#: set when the fault is to be undone
stop = threading.Event()


def until_stopped(every: float = 0.5, step: Callable[[], None] | None = None) -> None:
    """Wait for :data:`stop`, calling ``step`` every ``every`` seconds meanwhile (a burst, a probe)."""
    while not stop.is_set():
        if step is not None:
            step()
        stop.wait(every)


def suspended(pid: int, what: str) -> None:
    """Hang process ``pid`` (SIGSTOP: it holds its sockets and answers nothing) until stopped, then
    let it go on (SIGCONT) — a hung process, not a dead one."""
    os.kill(pid, signal.SIGSTOP)
    print(f"stopped {what} {pid} (SIGSTOP)", flush=True)
    try:
        until_stopped()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def run(
    faults: Mapping[str, Fault],
    prog: str,
    doc: str | None,
    argv: Sequence[str] | None = None,
    *,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    prepare: Callable[[argparse.Namespace], None] | None = None,
) -> int:
    """Parse ``NAME`` and the options, then run that fault until SIGTERM or SIGINT; 0 when undone."""
    parser = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("fault", choices=sorted(faults))
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    if prepare is not None:
        prepare(args)
    on_signals(stop.set, (signal.SIGTERM, signal.SIGINT))
    faults[args.fault](args)
    return 0
