"""``tocsin up | status | reload | down | alerts``: the local stack from the command line.

``up`` compiles the spec, checks it with promtool/amtool and refuses to start on any problem, then runs
Prometheus, Alertmanager, Pushgateway, node-exporter and the receiver, waits until each is ready and
prints the scrape targets in plain words. ``--detach`` hands the stack to a background supervisor;
``status``/``reload``/``down`` find it through the state files in the spec's ``state_dir``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tocsin.errors import CheckError, SpecError, UsageError
from tocsin.promapi import PrometheusAPI, PrometheusAPIError
from tocsin.stack.components import StackLayout, StackSettings, build_plan, read_plan
from tocsin.stack.config import install_bundle
from tocsin.stack.targets import target_rows

__all__ = ["register"]

DEFAULT_SPEC = "tocsin.yaml"
_console = Console(highlight=False, soft_wrap=True)


def _spec_path(args: argparse.Namespace) -> Path | None:
    if args.spec:
        path = Path(args.spec)
        if not path.is_file():
            raise UsageError(f"{path}: no such spec file (create one with `tocsin init`)")
        return path.resolve()
    default = Path(DEFAULT_SPEC)
    return default.resolve() if default.is_file() else None


def _compile(spec_path: Path, profile: str | None, ha: bool) -> tuple[StackSettings, dict[str, str], Any]:
    """Spec → (stack settings, bundle files, checker); SpecError with file:line on any problem."""
    from tocsin.compile import check_bundle, compile_spec
    from tocsin.spec import load_spec

    spec = load_spec(spec_path, profile=profile)
    bundle = compile_spec(spec, ha=ha)

    def check(directory: Path) -> None:
        problems = check_bundle(directory, spec=spec)
        if problems:
            raise CheckError("generated config rejected:\n" + "\n".join(f"  {p}" for p in problems))

    logs_spec = spec_path if spec.logs is not None else None  # the watcher reads its logs: section there
    settings = StackSettings.from_spec(spec.stack, spec_path.parent, logs_spec=logs_spec)
    return settings, dict(bundle.files), check


def _layout(args: argparse.Namespace) -> StackLayout:
    """The state dir: --state-dir, else the spec's stack.state_dir, else ./.tocsin."""
    if args.state_dir:
        return StackLayout(Path(args.state_dir).resolve())
    spec_path = _spec_path(args)
    if spec_path is None:
        return StackLayout(Path(".tocsin").resolve())
    from tocsin.spec import load_spec

    try:
        state_dir = load_spec(spec_path).stack.state_dir
    except SpecError:  # a broken spec must not keep `down` or `reload` from finding the stack
        state_dir = _raw_state_dir(spec_path)
    return StackLayout((spec_path.parent / state_dir).resolve())


def _raw_state_dir(spec_path: Path) -> str:
    """``stack.state_dir`` read without validation, for a spec that does not load (yet)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(spec_path.read_text())
        value = data["stack"]["state_dir"]
    except (YAMLError, OSError, KeyError, TypeError):
        return ".tocsin"
    return value if isinstance(value, str) else ".tocsin"


# --- printing ----------------------------------------------------------------------------------------------


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
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
    rows = [[name, c["url"], str(c["pid"])] for name, c in components.items()]
    _table("components", ["component", "url", "pid"], rows)
    for url in _prometheus_urls(components)[:1]:
        print_targets(url)
    receiver = components.get("receiver")
    if receiver:
        _console.print(f"notifications: `tocsin alerts`, or {receiver['url']}/api/v1/notifications")


# --- commands ----------------------------------------------------------------------------------------------


def _up(args: argparse.Namespace) -> int:
    from tocsin.stack import control

    started = time.monotonic()
    spec_path = _spec_path(args)
    if spec_path is None:
        raise UsageError(f"no spec given and no {DEFAULT_SPEC} here (create one with `tocsin init`)")
    settings, files, check = _compile(spec_path, args.profile, args.ha)
    layout = (
        StackLayout(Path(args.state_dir).resolve()) if args.state_dir else StackLayout(settings.state_dir)
    )
    components = build_plan(
        settings, layout, ha=args.ha
    )  # finds the binaries: exit 2 with apt-get if missing
    control.ensure_not_running(layout)  # before the config swap: a running stack keeps its config
    install_bundle(layout, files, check)
    options = {"spec": str(spec_path), "profile": args.profile, "ha": args.ha}
    if args.detach:
        control.start(layout, components, options, detach=True)
        state = json.loads(layout.state_file.read_text())
        _print_ready(state["components"], started)
        _console.print(f"running in the background (state in {layout.root}); stop it with `tocsin down`")
        return 0

    def on_ready(supervisor: Any) -> None:
        state = json.loads(layout.state_file.read_text())
        _print_ready(state["components"], started)
        _console.print("press Ctrl-C to stop")

    control.start(layout, components, options, on_ready=on_ready)
    _console.print("stack stopped")
    return 0


def _reload(args: argparse.Namespace) -> int:
    from tocsin.stack import control

    layout = _layout(args)
    if not layout.plan_file.exists() or not control.running_processes(layout):
        raise UsageError(f"no stack is running from {layout.root} (start it with `tocsin up`)")
    running, options = read_plan(layout)
    spec_path = Path(args.spec).resolve() if args.spec else Path(options["spec"])
    ha = bool(options.get("ha"))
    settings, files, check = _compile(spec_path, args.profile or options.get("profile"), ha)
    wanted = {(c.name, c.ports) for c in build_plan(settings, layout, ha=ha)}
    if wanted != {(c.name, c.ports) for c in running}:
        raise UsageError(
            f"{spec_path}: the stack: section changed (ports or components); "
            "a reload cannot move a running process (run `tocsin down`, then `tocsin up`)"
        )
    reloaded = control.reload(layout, files, check)
    _console.print(f"reloaded {', '.join(reloaded)} from {spec_path}")
    return 0


def _down(args: argparse.Namespace) -> int:
    from tocsin.stack import control

    layout = _layout(args)
    stopped = control.down(layout, timeout=args.timeout)
    if stopped:
        _console.print(
            f"stopped {len(stopped)} processes: " + ", ".join(f"{r.name} ({r.pid})" for r in stopped)
        )
    else:
        _console.print(f"no stack was running from {layout.root}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from tocsin.stack.state import ProcessRef, read_state

    layout = _layout(args)
    state = read_state(layout)
    if state is None:
        _console.print(f"no stack has run from {layout.root} (start it with `tocsin up`)")
        return 3
    now = time.time()
    rows, alive = [], 0
    for name, c in state["components"].items():
        up = bool(c["pid"]) and ProcessRef(name, c["pid"], c["create_time"]).process() is not None
        alive += up
        uptime = f"{now - c['started_at']:.0f}s" if up else "-"
        rows.append(
            [name, "up" if up else "down", str(c["pid"] or "-"), uptime, str(c["restarts"]), c["url"]]
        )
    _console.print(f"stack {state['status']} ({layout.root})")
    sup = state.get("supervisor") or {}
    supervised = ProcessRef("supervisor", sup["pid"], sup["create_time"]).process() is not None
    if state["status"] == "ready" and not supervised:
        _console.print("the supervisor is gone: its components got SIGTERM with it (run tocsin up again)")
    _table("components", ["component", "state", "pid", "uptime", "restarts", "url"], rows)
    if not alive:
        return 3
    for url in _prometheus_urls(state["components"])[:1]:
        try:
            print_targets(url, settle=0)
            with PrometheusAPI(url) as prom:
                firing = [a for a in prom.alerts() if a["state"] == "firing"]
        except PrometheusAPIError as exc:
            _console.print(f"prometheus not answering: {exc}")
            return 1
        alert_rows = [
            [a["labels"].get("alertname", ""), a["labels"].get("severity", ""), a["activeAt"]] for a in firing
        ]
        _table(f"firing alerts ({len(firing)})", ["alert", "severity", "active since"], alert_rows)
    return 0


def _alerts(args: argparse.Namespace) -> int:
    from tocsin.stack.history import AlertHistory

    layout = _layout(args)
    if not layout.alerts_db.exists():
        _console.print(f"no alert history yet in {layout.alerts_db}")
        return 0
    history = AlertHistory(layout.alerts_db)
    try:
        rows = history.notifications(status=args.status, alertname=args.name, limit=args.limit)
    finally:
        history.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    _table(
        f"alert history ({layout.alerts_db})",
        ["received", "status", "alert", "severity", "summary"],
        [
            [
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["received_at"])),
                r["status"],
                r["alertname"],
                r["labels"].get("severity", ""),
                r["annotations"].get("summary", ""),
            ]
            for r in rows
        ],
    )
    return 0


def register(subparsers: Any) -> None:
    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help, description=help)
        parser.add_argument(
            "spec", nargs="?", metavar="SPEC", help=f"the spec file (default: ./{DEFAULT_SPEC})"
        )
        parser.add_argument(
            "--state-dir", help="where the stack keeps its state (default: the spec's state_dir)"
        )
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
    alerts = command("alerts", _alerts, "the history of notifications the local receiver got")
    alerts.add_argument("--status", choices=["firing", "resolved"], help="only this status")
    alerts.add_argument("--name", help="only this alert name")
    alerts.add_argument("--limit", type=int, default=50)
    alerts.add_argument("--json", action="store_true", help="print JSON instead of a table")
