"""What every example's fault injector shares: run one named fault until SIGTERM or Ctrl-C.

A fault applies itself, waits on :data:`stop` (``stop.wait()``, or a loop of ``stop.wait(step)``)
and undoes itself in a ``finally``; :func:`run` parses ``NAME`` and the example's own options, turns
SIGTERM and SIGINT into ``stop``, and calls the fault::

    FAULTS = {"cache-bypass": cache_bypass, ...}

    def main(argv=None) -> int:
        return run(FAULTS, "python -m examples.ocr_service.faults", __doc__, argv, options=_options)
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Mapping, Sequence

__all__ = ["Fault", "run", "stop"]

Fault = Callable[[argparse.Namespace], None]

#: set when the fault is to be undone
stop = threading.Event()


def run(
    faults: Mapping[str, Fault],
    prog: str,
    doc: str | None,
    argv: Sequence[str] | None = None,
    *,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Parse ``NAME`` and the options, then run that fault until SIGTERM or SIGINT; 0 when undone."""
    parser = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("fault", choices=sorted(faults))
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    faults[args.fault](args)
    return 0
