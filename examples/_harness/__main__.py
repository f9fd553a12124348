"""``python -m examples._harness``: ``demo NAME [--fault F]``, ``play NAME [FAULT...]``, ``page``,
``list``."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples._harness")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run an example with traffic, the stack and the console")
    demo.add_argument("name")
    demo.add_argument("--state-dir", type=Path)
    demo.add_argument("--fault", help="run this fault of a running demo until Ctrl-C")
    demo.add_argument("--any-ports", action="store_true")
    demo.add_argument("--once", action="store_true")
    play = sub.add_parser("play", help="play an example's scenario and print its detection rows")
    play.add_argument("name")
    play.add_argument("faults", nargs="*")
    play.add_argument("--write", action="store_true", help="write docs/detection/<name>.json and the page")
    sub.add_parser("page", help="rebuild docs/detection.md from docs/detection/*.json")
    sub.add_parser("list", help="the examples")
    args = parser.parse_args(argv)

    from . import demo as demos
    from .detection import write_page, write_rows
    from .observe import play as play_scenario
    from .run import ExampleRun, example_names

    if args.command == "list":
        print("\n".join(example_names()))
        return 0
    if args.command == "page":
        print(write_page())
        return 0
    if args.command == "demo":
        if args.fault:
            return demos.run_fault(args.name, args.fault, args.state_dir)
        return demos.run_demo(args.name, args.state_dir, any_ports=args.any_ports, once=args.once)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix=f"tocsin-{args.name}-") as tmp,
        ExampleRun.prepare(args.name, Path(tmp)) as run,
    ):
        run.start()
        rows = play_scenario(run, faults=args.faults or None)
    if args.write:
        write_rows(args.name, rows, wall_s=time.monotonic() - started, notes=run.notes)
        write_page()
    return 0 if all(r.ok for r in rows if not r.false_alert) and not any(r.false_alert for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
