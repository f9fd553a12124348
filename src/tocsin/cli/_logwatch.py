"""``tocsin logwatch``: follow log files, serve /metrics (``tocsin logs`` is in :mod:`tocsin.cli._logs`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tocsin.errors import UsageError

__all__ = ["add_watch_arguments", "register", "watch_config"]


def add_watch_arguments(watch: argparse.ArgumentParser) -> None:
    """The options of ``tocsin logwatch``: the watcher's own, plus ``--section``."""
    from tocsin.logwatch import add_watch_arguments as watcher_arguments

    watcher_arguments(watch, "logwatch.yaml, the compiled logwatch.json, or the spec with --section logs")
    watch.add_argument("--section", help="read this top-level key of --config (e.g. logs, in tocsin.yaml)")
    watch.set_defaults(func=_logwatch)


def register(subparsers: Any) -> None:
    watch = subparsers.add_parser("logwatch", help="follow log files: patterns → metrics, lines → log store")
    add_watch_arguments(watch)


def watch_config(path: str, section: str | None = None) -> Any:
    """The watcher's config from ``path``: the compiled JSON as it is; a YAML file validated by the
    spec's model (every mistake at its line): a standalone ``logwatch.yaml``, or with ``--section logs``
    the spec's section (its scrape interval and profile-free values, as ``tocsin up`` compiles them)."""
    from tocsin.compile.logwatch import watch_config as compile_watch_config
    from tocsin.logwatch import config_from_dict, load_config
    from tocsin.spec import LogsSection, load_document, load_spec

    if section is None and path.endswith(".json"):
        return load_config(path)
    base_dir = str(Path(path).resolve().parent)
    if section is None:
        logs = load_document(path, LogsSection, what="the logwatch config")
        return config_from_dict(compile_watch_config(logs, base_dir=base_dir))
    if section != "logs":
        raise UsageError(f"--section {section}: only the spec's `logs` section is read (--section logs)")
    spec = load_spec(path)
    if spec.logs is None:
        raise UsageError(f"{path}: the spec has no logs: section (add one, see docs/logwatch.md)")
    return config_from_dict(
        compile_watch_config(spec.logs, base_dir=base_dir, scrape_interval=spec.scrape.interval)
    )


def _logwatch(args: argparse.Namespace) -> int:
    from tocsin.logwatch import run, watch_options

    return run(watch_config(args.config, args.section), args.state_dir, **watch_options(args))
