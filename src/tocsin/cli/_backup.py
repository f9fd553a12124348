"""``tocsin backup | restore | reset``: a stack's state archived, put back, or started over (the work is
in :mod:`tocsin.ops.backup`, :mod:`tocsin.ops.restore` and :mod:`tocsin.ops.reset`).

All three are made for cron as much as for a person: a progress bar only on a terminal, one line on
success (none with ``--quiet``), the reason and a non-zero exit on failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from tocsin.cli._target import Command, StackTarget, add_target_arguments, no_traceback, resolve_target
from tocsin.errors import UsageError

__all__ = ["register", "spec_or_none"]

_out = Console(highlight=False, soft_wrap=True)


def spec_or_none(target: StackTarget) -> Any:
    """The loaded spec, or None when there is none or it does not load (a broken spec must not stop a
    backup or a diagnosis)."""
    from tocsin.errors import SpecError
    from tocsin.spec import load_spec

    if target.spec is None:
        return None
    try:
        return load_spec(target.spec)
    except SpecError:
        return None


# --- backup, restore, reset --------------------------------------------------------------------------------

_err = Console(stderr=True, highlight=False)


@contextmanager
def _bytes_bar(description: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar (bytes, speed, time left) on stderr when it is a terminal; nothing for cron."""
    if quiet or not _err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=_err, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _size(count: float) -> str:
    from tocsin.ops import format_bytes

    return format_bytes(count)


def _keep_newest(folder: Path, app: str, keep: int) -> list[Path]:
    archives = sorted(folder.glob(f"tocsin-backup-{app}-*.tar*"), key=lambda p: p.name, reverse=True)
    removed = archives[keep:]
    for old in removed:
        old.unlink(missing_ok=True)
    return removed


@no_traceback
def _backup(args: argparse.Namespace) -> int:
    from tocsin.ops.backup import backup, default_archive_name

    first = resolve_target(args)
    spec = spec_or_none(first)
    target = resolve_target(args, state_dir=spec.stack.state_dir) if spec is not None else first
    app = spec.app if spec is not None else target.layout.root.parent.name
    if not target.layout.root.is_dir():
        raise UsageError(f"{target.layout.root}: no state dir to back up (has `tocsin up` run here?)")
    out = Path(args.out or ".")
    if out.is_dir() or str(args.out or "").endswith("/"):
        out = out / default_archive_name(app)
    compress = args.gzip or out.name.endswith((".gz", ".tgz"))
    with _bytes_bar("backup", args.quiet) as bar:
        result = backup(
            target.layout,
            out.resolve(),
            spec=target.spec,
            app=app,
            progress=bar,
            compress=compress,
        )
    removed = _keep_newest(result.path.parent, app, args.keep) if args.keep else []
    if not args.quiet:
        how = "running stack, TSDB snapshot" if result.running else "stopped stack"
        parts = ", ".join(result.parts)
        _out.print(
            f"backup written: {result.path} ({_size(result.bytes)}, {result.files} files, {how}; {parts}) "
            f"in {result.seconds:.1f}s"
        )
        if removed:
            _out.print(f"removed {len(removed)} older backups (--keep {args.keep})")
    return 0


@no_traceback
def _restore(args: argparse.Namespace) -> int:
    from tocsin.ops import ArchiveReader
    from tocsin.ops.restore import restore
    from tocsin.stack.layout import StackLayout

    archive = Path(args.archive)
    if not archive.is_file():
        raise UsageError(f"{archive}: no such backup file")
    first = resolve_target(args)
    spec = spec_or_none(first)
    if args.state_dir or spec is not None:
        target = resolve_target(args, state_dir=spec.stack.state_dir) if spec is not None else first
        layout, spec_path = target.layout, target.spec
    else:  # no spec here: back where it was taken from, as the archive says
        header = ArchiveReader(archive).header()
        layout = StackLayout(Path(header["state_dir"]))
        spec_path = None
    with _bytes_bar("restore", args.quiet) as bar:
        result = restore(archive, layout, spec=spec_path, force=args.force, ha=args.ha, progress=bar)
    if not args.quiet:
        _out.print(f"restored into {result.root} from {archive}:")
        for part, what in result.restored.items():
            _out.print(f"  {part}: {what}")
        for note in result.notes:
            _out.print(f"  note: {note}")
        _out.print("start it with `tocsin up`")
    return 0


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise UsageError("not a terminal, so nobody can confirm: pass --yes to reset without asking")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


@no_traceback
def _reset(args: argparse.Namespace) -> int:
    from tocsin.ops.reset import PARTS, reset, reset_targets
    from tocsin.stack.control import running_processes

    parts = list(PARTS) if args.all else [p for p in PARTS if getattr(args, p)]
    if not parts:
        raise UsageError("say what to reset: --metrics, --alerts, --logs or --all")
    first = resolve_target(args)
    spec = spec_or_none(first)
    layout = (resolve_target(args, state_dir=spec.stack.state_dir) if spec is not None else first).layout
    running = bool(running_processes(layout))
    if not args.yes:
        if running:
            what = "every series of the running Prometheus (and pushed metrics)"
        else:
            paths = [p for part in parts for p in reset_targets(layout, part)]
            what = ", ".join(str(p.relative_to(layout.root)) for p in paths) or "nothing (already empty)"
        if not _confirm(f"reset {', '.join(parts)} in {layout.root}? This removes {what}; the spec stays."):
            _out.print("nothing reset")
            return 1
    for line in reset(layout, parts):
        _out.print(line)
    return 0


def register(subparsers: Any) -> None:
    def command(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help, description=help)
        add_target_arguments(parser)
        parser.set_defaults(func=func)
        return parser

    backup = command(
        "backup", _backup, "archive the stack's state: TSDB snapshot, silences, history, logs, config"
    )
    backup.add_argument(
        "--out", metavar="FILE|DIR", help="archive path (default: ./tocsin-backup-<app>-<time>.tar)"
    )
    backup.add_argument(
        "--keep", type=int, metavar="N", help="then delete all but the N newest backups there"
    )
    backup.add_argument(
        "--gzip",
        action="store_true",
        help="compress (also when FILE ends in .gz; ~1%% smaller on TSDB chunks, 10x slower)",
    )
    backup.add_argument("--quiet", action="store_true", help="print nothing on success (cron)")
    restore = subparsers.add_parser(
        "restore",
        help="put a backup back into a stopped stack",
        description="put a backup back into a stopped stack",
    )
    restore.add_argument("archive", metavar="FILE", help="a `tocsin backup` archive")
    add_target_arguments(restore)
    restore.set_defaults(func=_restore)
    restore.add_argument(
        "--force", action="store_true", help="replace the state dir's TSDB, history and logs"
    )
    restore.add_argument(
        "--ha", action=argparse.BooleanOptionalAction, default=None, help="for an --ha stack"
    )
    restore.add_argument("--quiet", action="store_true", help="print nothing on success")
    reset = command("reset", _reset, "delete metrics, alerts (history, silences) or logs; never the spec")
    for part, text in (
        ("metrics", "every series (also on a running stack) and pushed metrics"),
        ("alerts", "the alert history, silences and notification log"),
        ("logs", "the log store and the log watcher's positions"),
        ("all", "all three"),
    ):
        reset.add_argument(f"--{part}", action="store_true", help=text)
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
