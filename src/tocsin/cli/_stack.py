"""``tocsin up | status | reload | down``: the local stack from the command line (``alerts``: _alerts).

``up`` compiles the spec, checks it with promtool/amtool and refuses to start on any problem, then runs
Prometheus, Alertmanager, Pushgateway, node-exporter and the receiver, waits until each is ready and
prints the scrape targets in plain words. ``--detach`` hands the stack to a background supervisor;
``status``/``reload``/``down`` find it through the state dir (:mod:`tocsin.cli._target`: one rule for
every command). A full disk, a read-only or vanished state dir is one ``tocsin:`` line, never a
traceback.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tocsin.cli._target import Command, add_target_arguments, find_spec, no_traceback, require, resolve_target
from tocsin.errors import CheckError, UsageError
from tocsin.promapi import PrometheusAPI, PrometheusAPIError
from tocsin.stack.components import StackSettings, build_plan, read_plan
from tocsin.stack.state import ProcessRef
from tocsin.stack.targets import target_rows

__all__ = ["register"]

_console = Console(highlight=False, soft_wrap=True)


def _compile(
    spec_path: Path, profile: str | None, ha: bool, state_dir: Path | None = None
) -> tuple[StackSettings, dict[str, str], Any, Callable[[], None]]:
    """Spec → (stack settings, bundle files, checker, secret writer); SpecError with file:line on any
    problem; nothing written yet.

    The writer puts ``*_env`` secrets from the environment into ``<state dir>/secrets`` (0600), which
    the compiled alertmanager.yml names; an unset variable is a SpecError at its line. ``up`` calls it
    only once it holds the state dir's lock, so a refused second ``up`` writes nothing there.
    """
    import os

    from tocsin.compile import check_bundle, compile_spec
    from tocsin.compile.secrets import SECRETS_DIR, secret_values
    from tocsin.spec import load_spec
    from tocsin.stack.secrets import write_secrets

    spec = load_spec(spec_path, profile=profile)
    secrets = secret_values(spec, os.environ)
    root = state_dir or (spec_path.parent / spec.stack.state_dir).resolve()
    bundle = compile_spec(spec, ha=ha, secrets_dir=root / SECRETS_DIR)

    def check(directory: Path) -> None:
        problems = check_bundle(directory, spec=spec)
        if problems:
            raise CheckError("generated config rejected:\n" + "\n".join(f"  {p}" for p in problems))

    logs_spec = spec_path if spec.logs is not None else None  # the watcher reads its logs: section there
    settings = StackSettings.from_spec(spec.stack, spec_path.parent, logs_spec=logs_spec)
    files = dict(bundle.files)
    from tocsin.views.model import model_files, stack_model

    files.update(model_files(stack_model(spec, ha=ha)))  # what the console and `tocsin top` read
    if spec.stack.console.enabled:
        settings = settings.with_options("console", view_model=True, auth=_console_auth(spec, spec_path))
    return settings, files, check, lambda: write_secrets(root / SECRETS_DIR, secrets)


def _console_auth(spec: Any, spec_path: Path) -> dict[str, str] | None:
    """The console's auth with its secret files made absolute (relative ones are relative to the spec)."""
    auth = spec.stack.console.auth
    if auth is None:
        return None
    values = {k: v for k, v in auth.model_dump().items() if v is not None}
    for key in ("password_file", "bearer_token_file"):
        if key in values:
            values[key] = str((spec_path.parent / values[key]).resolve())
    return values


# --- printing ----------------------------------------------------------------------------------------------


#: columns a person copies or clicks: never folded, the free-text ones give up the width instead
_WHOLE = frozenset({"url", "instance"})


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in _WHOLE)
    for row in rows:
        table.add_row(*row)
    _console.print(table)


def _prometheus_urls(components: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [c["url"] for c in components.values() if c["kind"] == "prometheus"]


def print_targets(prometheus_url: str, settle: float = 8.0) -> None:
    """The target table; waits up to ``settle`` s for first scrapes so fresh targets are not "unknown".

    Prometheus hands discovered targets to its scrapers on a fixed 5 s tick, so right after start the
    target list is empty for up to 5 s whatever the scrape interval.
    """
    if settle:
        _console.print("waiting for the first scrapes…")
    deadline = time.monotonic() + settle
    with PrometheusAPI(prometheus_url) as prom:
        targets = prom.targets()
        while (not targets or any(t["health"] == "unknown" for t in targets)) and time.monotonic() < deadline:
            time.sleep(0.1)
            targets = prom.targets()
    rows = [[r.job, r.instance, r.state, r.error] for r in target_rows(targets)]
    _table(f"targets ({prometheus_url})", ["target", "instance", "state", "last error"], rows)


def _print_ready(components: Mapping[str, Mapping[str, Any]], started: float) -> None:
    _console.print(f"stack ready in {time.monotonic() - started:.2f}s")
    rows = [
        [name, c["url"], f"{c['pid']} (the {c['hosted_by']}'s)" if c.get("hosted_by") else str(c["pid"])]
        for name, c in components.items()
    ]
    _table("components", ["component", "url", "pid"], rows)
    for url in _prometheus_urls(components)[:1]:
        try:
            print_targets(url)
        except PrometheusAPIError as exc:
            _console.print(f"prometheus not answering: {exc}")
    receiver = components.get("receiver")
    if receiver:
        _console.print(f"notifications: `tocsin alerts`, or {receiver['url']}/api/v1/notifications")


def _print_leftovers(refs: list[ProcessRef]) -> None:
    names = ", ".join(f"{r.name} (pid {r.pid})" for r in refs)
    _console.print(
        f"stopped {len(refs)} process(es) left over from an earlier stack of this state dir: {names}"
    )


# --- commands ----------------------------------------------------------------------------------------------


@no_traceback
def _up(args: argparse.Namespace) -> int:
    from tocsin.stack import control
    from tocsin.stack.state import read_state

    started = time.monotonic()
    spec_path = require(find_spec(args))
    state_dir = Path(args.state_dir).resolve() if args.state_dir else None
    settings, files, check, write_secrets = _compile(spec_path, args.profile, args.ha, state_dir)
    layout = resolve_target(args, state_dir=str(settings.state_dir)).layout
    # finds the binaries: exit 2 with the apt-get line when one is missing
    components = build_plan(settings, layout, ha=args.ha)
    options = {"spec": str(spec_path), "profile": args.profile, "ha": args.ha}

    def ready_components() -> dict[str, Any]:
        return dict((read_state(layout) or {}).get("components") or {})

    start = functools.partial(
        control.up,
        layout,
        components,
        files,
        check,
        options,
        prepare=write_secrets,
        on_leftovers=_print_leftovers,
    )
    if args.detach:
        start(detach=True)
        _print_ready(ready_components(), started)
        _console.print(f"running in the background (state in {layout.root}); stop it with `tocsin down`")
        return 0

    def on_ready(supervisor: Any) -> None:
        _print_ready(ready_components(), started)
        _console.print("press Ctrl-C to stop")

    start(on_ready=on_ready)
    _console.print("stack stopped")
    return 0


def _where_served(components: list[Any]) -> dict[str, str]:
    return {c.name: c.hosted_by for c in components}


def _refuse_a_new_layout(spec_path: Path, running: list[Any], planned: list[Any]) -> None:
    """A reload cannot move a component into another process (or out of one): say so, change nothing."""
    before, after = _where_served(running), _where_served(planned)
    moved = sorted(name for name in before.keys() & after.keys() if before[name] != after[name])
    if not moved:
        return

    def process(name: str, host: str) -> str:
        return f"the {host}'s process" if host else "its own process"

    changes = "; ".join(f"{n}: from {process(n, before[n])} to {process(n, after[n])}" for n in moved)
    raise UsageError(
        f"{spec_path}: the reload would move a component to another process ({changes}: "
        "stack.receiver.process, or the console switched on or off); a reload cannot do that without "
        "restarting them (run `tocsin down`, then `tocsin up`)"
    )


@no_traceback
def _reload(args: argparse.Namespace) -> int:
    from tocsin.stack import control

    target = resolve_target(args)
    layout = target.layout
    if not layout.plan_file.exists() or not control.running_processes(layout):
        raise UsageError(f"no stack is running from {layout.root} (start it with `tocsin up`)")
    running, options = read_plan(layout)
    spec_path = target.spec if args.spec and target.spec else Path(options["spec"])
    ha = bool(options.get("ha"))
    settings, files, check, write_secrets = _compile(
        spec_path, args.profile or options.get("profile"), ha, layout.root
    )
    write_secrets()
    planned = build_plan(settings, layout, ha=ha)
    _refuse_a_new_layout(spec_path, running, planned)
    wanted = {(c.name, c.ports) for c in planned}
    if wanted != {(c.name, c.ports) for c in running}:
        raise UsageError(
            f"{spec_path}: the stack: section changed (ports or components); "
            "a reload cannot move a running process (run `tocsin down`, then `tocsin up`)"
        )
    reloaded = control.reload(layout, files, check)
    _console.print(f"reloaded {', '.join(reloaded)} from {spec_path}")
    return 0


@no_traceback
def _down(args: argparse.Namespace) -> int:
    from tocsin.stack import control

    layout = resolve_target(args).layout
    stopped = control.down(layout, timeout=args.timeout)
    if stopped:
        _console.print(
            f"stopped {len(stopped)} processes: " + ", ".join(f"{r.name} ({r.pid})" for r in stopped)
        )
    else:
        _console.print(f"no stack was running from {layout.root}")
    return 0


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


@no_traceback
def _status(args: argparse.Namespace) -> int:
    """Exit 0 when every component answers, 1 when something is wrong, 3 when nothing runs."""
    from tocsin.stack.status import stack_status

    layout = resolve_target(args).layout
    status = stack_status(layout)
    if status is None:
        _console.print(f"no stack has run from {layout.root} (start it with `tocsin up`)")
        return 3
    if status.strays:
        names = ", ".join(f"{r.name} (pid {r.pid})" for r in status.strays)
        _console.print(
            f"processes of a stack from {layout.root} run that its state files do not name "
            f"(the state dir was deleted or rewritten under it?): {names}; `tocsin down` stops them"
        )
    if not status.components:
        return 1 if status.running else 3
    _console.print(f"stack {status.status} ({layout.root})")
    if status.error and status.status == "failed":
        _console.print(f"last error: {status.error}")
    if status.supervisor == "gone" and status.status == "ready":
        _console.print("the supervisor is gone: its components got SIGTERM with it (run tocsin up again)")
    elif status.supervisor == "not responding":
        _console.print("the supervisor is not responding (stopped or hung): `tocsin down` stops the stack")
    rows = [
        [c.name, c.state, str(c.pid or "-"), _uptime(c.uptime), str(c.restarts), c.url, c.note]
        for c in status.components
    ]
    _table("components", ["component", "state", "pid", "uptime", "restarts", "url", "note"], rows)
    if not status.running:
        return 3
    code = 0 if status.healthy else 1
    for c in status.components:
        if c.kind == "prometheus" and c.up:
            try:
                print_targets(c.url, settle=0)
                with PrometheusAPI(c.url) as prom:
                    firing = [a for a in prom.alerts() if a["state"] == "firing"]
            except PrometheusAPIError as exc:
                _console.print(f"prometheus not answering: {exc}")
                return 1
            alert_rows = [
                [a["labels"].get("alertname", ""), a["labels"].get("severity", ""), a["activeAt"]]
                for a in firing
            ]
            _table(f"firing alerts ({len(firing)})", ["alert", "severity", "active since"], alert_rows)
            break
    return code


def register(subparsers: Any) -> None:
    def command(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help, description=help)
        add_target_arguments(parser)
        parser.set_defaults(func=func)
        return parser

    up = command("up", _up, "compile, check and run the local stack (Ctrl-C stops it)")
    up.add_argument("--profile", help="spec profile to apply, e.g. fast (1 s scrape/evaluation)")
    up.add_argument("--detach", action="store_true", help="run in the background; stop with `tocsin down`")
    up.add_argument(
        "--ha", action="store_true", help="two Prometheus replicas and two clustered Alertmanagers"
    )
    reload = command("reload", _reload, "recompile and check the spec, then hot-reload the running stack")
    reload.add_argument("--profile", help="spec profile (default: the one `up` used)")
    down = command("down", _down, "stop the stack: SIGTERM, then SIGKILL after a timeout")
    down.add_argument("--timeout", type=float, default=10.0, help="seconds before SIGKILL (default 10)")
    command("status", _status, "components, pids, uptime, targets and firing alerts")
