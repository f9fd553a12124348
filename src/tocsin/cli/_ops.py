"""Operating the monitoring itself: ``checklist``, ``routes``, ``doctor``, ``test-notify``, ``drill``,
``backup``, ``restore`` and ``reset`` (the work is in :mod:`tocsin.ops`; this parses and prints).

Every command finds its spec and state dir as the stack commands do (:mod:`tocsin.cli._target`), prints
a table for a person and ``--json`` for cron, and exits 0 only when everything it checked holds.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from tocsin.cli._backup import spec_or_none
from tocsin.cli._target import Command, StackTarget, add_target_arguments, no_traceback, resolve_target
from tocsin.errors import UsageError

__all__ = ["register"]

_out = Console(highlight=False, soft_wrap=True)
_MARK = {"pass": "[green]PASS[/]", "fail": "[red]FAIL[/]", "error": "[red]ERROR[/]"}


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    _out.print(table)


def _spec_and_target(args: argparse.Namespace) -> tuple[Any, StackTarget]:
    """The spec (with the profile the running stack was started with, unless --profile says) and target."""
    from tocsin.spec import load_spec
    from tocsin.stack.components import read_plan

    first = resolve_target(args)
    spec_path = first.require_spec()
    profile = getattr(args, "profile", None)
    if profile is None:
        target = resolve_target(args, state_dir=_raw_spec(spec_path).stack.state_dir)
        if target.layout.plan_file.is_file():
            profile = read_plan(target.layout)[1].get("profile")
    spec = load_spec(spec_path, profile=profile)
    return spec, resolve_target(args, state_dir=spec.stack.state_dir)


def _raw_spec(path: Any) -> Any:
    from tocsin.spec import load_spec

    return load_spec(path)


def _prometheus(args: argparse.Namespace, spec: Any) -> str:
    from tocsin.cli._history import prometheus_url

    return prometheus_url(args, spec)


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


# --- checklist ---------------------------------------------------------------------------------------------


@no_traceback
def _checklist(args: argparse.Namespace) -> int:
    """Exit 0 when every item passes, 1 when one fails or cannot be evaluated."""
    from tocsin.ops.checklist import run_checklist

    spec, _ = _spec_and_target(args)
    if not spec.checklist:
        raise UsageError(f"{spec.source}: no checklist: section (see docs/operations.md, 'checklist')")
    period = args.period or (None if args.item else "day")
    at = None
    if args.at:
        from tocsin.history import parse_time

        at = parse_time(args.at, what="--at")
    result = run_checklist(spec, _prometheus(args, spec), period=period, names=args.item or (), at=at)
    if not result.items:
        periods = sorted({i.period for i in spec.checklist})
        raise UsageError(f"no checklist item for period {period!r} (the spec has: {', '.join(periods)})")
    if args.json:
        _print_json(result.to_json())
        return 0 if result.passed else 1
    rows = [[_MARK[i.status], i.description, i.detail] for i in result.items]
    _table(f"checklist ({result.period}, {result.source})", ["", "item", "result"], rows)
    failed = [i for i in result.items if not i.passed]
    if failed:
        _out.print(f"{len(failed)} of {len(result.items)} failed: {', '.join(i.name for i in failed)}")
        for item in failed:
            if item.runbook:
                _out.print(f"  {item.name}: {item.runbook}")
        return 1
    _out.print(f"all {len(result.items)} passed")
    return 0


# --- routes ------------------------------------------------------------------------------------------------


def _when(text: str | None) -> Any:
    from datetime import UTC, datetime

    if not text:
        return datetime.now(UTC)
    from tocsin.history import parse_time

    return datetime.fromtimestamp(parse_time(text, what="--at"), UTC)


def _route_row(tree: Any, node: Any, instant: Any) -> dict[str, Any]:
    from tocsin.ops.routes import receiver_kinds

    targets = node.fan_out()
    held = {t.receiver: tree.held(t, instant) for t in targets}
    return {
        "route": node.label,
        "receivers": [
            {"name": t.receiver, "kinds": receiver_kinds(tree, t.receiver), "held": held[t.receiver]}
            for t in targets
        ],
        "group_wait": node.timings["group_wait"],
        "group_interval": node.timings["group_interval"],
        "repeat_interval": node.timings["repeat_interval"],
        "active": {n: tree.intervals.describe(n) for n in node.active},
        "mute": {n: tree.intervals.describe(n) for n in node.mute},
        "now": "; ".join(f"{r}: {h}" for r, h in held.items() if h) or "notifies",
    }


def _receiver_text(receiver: dict[str, Any]) -> str:
    kinds = ", ".join(receiver["kinds"]) or "drops everything"
    return f"{receiver['name']} ({kinds})"


@no_traceback
def _routes(args: argparse.Namespace) -> int:
    from tocsin.ops.routes import parse_labels, spec_route_tree

    spec, _ = _spec_and_target(args)
    tree = spec_route_tree(spec)
    instant = _when(args.at)
    stamp = instant.strftime("%Y-%m-%d %H:%M %Z")
    rows = [_route_row(tree, child, instant) for child in tree.root.children]
    if not tree.root.children or tree.root.receiver not in {
        r["name"] for row in rows for r in row["receivers"]
    }:
        rows.append({**_route_row(tree, tree.root, instant), "route": "(anything else)"})
    answer: dict[str, Any] | None = None
    if args.labels:
        try:
            labels = parse_labels(args.labels)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        answer = {
            "labels": labels,
            "deliveries": [
                {
                    "receiver": d.receiver,
                    "route": d.route.label,
                    "repeat_interval": d.route.timings["repeat_interval"],
                    "held": d.held,
                    "until": d.until.isoformat() if d.until else None,
                }
                for d in tree.deliveries(labels, instant)
            ],
        }
    if args.json:
        _print_json(
            {
                "at": instant.isoformat(),
                "group_by": tree.root.timings["group_by"],
                "routes": rows,
                **({"match": answer} if answer else {}),
            }
        )
        return 0
    table = [
        [
            row["route"],
            "\n".join(_receiver_text(r) for r in row["receivers"]),
            row["repeat_interval"],
            f"{row['group_wait']} / {row['group_interval']}",
            "\n".join(f"{n}: {d}" for n, d in row["active"].items()) or "always",
            "\n".join(f"{n}: {d}" for n, d in row["mute"].items()) or "-",
            row["now"],
        ]
        for row in rows
    ]
    columns = ["route", "receivers", "repeat", "wait / interval", "active", "muted", f"now ({stamp})"]
    _table(f"routes ({spec.source})", columns, table)
    _out.print(f"grouped by: {', '.join(tree.root.timings['group_by']) or '(nothing)'}")
    if answer is not None:
        text = " ".join(f"{k}={v}" for k, v in answer["labels"].items())
        for d in answer["deliveries"]:
            note = f", held now ({d['held']})" if d["held"] else ", notifies now"
            if d["until"]:
                note += f" until {d['until']}"
            _out.print(f"{text} -> {d['receiver']} via {d['route']} (repeat {d['repeat_interval']}{note})")
    return 0


# --- doctor ------------------------------------------------------------------------------------------------

_SEVERITY = {"error": "[red]ERROR[/]", "warning": "[yellow]WARN[/]", "ok": "[green]ok[/]"}


def _fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction (0.1) or a percentage (10%)") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 100 %")
    return value


@no_traceback
def _doctor(args: argparse.Namespace) -> int:
    """0: no error found; 1: errors; 3: no stack runs (machine checks still printed)."""
    from tocsin.ops.doctor import diagnose, doctor_context

    target = resolve_target(args)
    spec = spec_or_none(target)
    if spec is not None:
        target = resolve_target(args, state_dir=spec.stack.state_dir)
    ctx = doctor_context(target.layout, target.spec, min_free=args.min_free, timeout=args.timeout)
    findings = diagnose(ctx)
    errors = [f for f in findings if f.severity == "error"]
    code = 1 if errors else (3 if not ctx.running else 0)
    if args.json:
        _print_json({"state_dir": str(target.layout.root), "findings": [f.to_json() for f in findings]})
        return code
    shown = findings if args.verbose else [f for f in findings if f.severity != "ok"]
    rows = [[_SEVERITY[f.severity], f.area, f.subject, f.problem, f.fix] for f in shown]
    if rows:
        _table(f"doctor ({target.layout.root})", ["", "area", "what", "found", "fix"], rows)
    warnings = sum(1 for f in findings if f.severity == "warning")
    passed = sum(1 for f in findings if f.severity == "ok")
    _out.print(
        f"{len(errors)} errors, {warnings} warnings, {passed} checks passed"
        + ("" if args.verbose else " (-v lists them)")
    )
    return code


# --- test-notify -------------------------------------------------------------------------------------------

_RESULT = {"delivered": "[green]delivered[/]", "failed": "[red]FAILED[/]", "held": "[yellow]held[/]"}


def _running_plan(layout: Any) -> list[Any]:
    from tocsin.stack.components import read_plan
    from tocsin.stack.control import running_processes

    if not layout.plan_file.is_file() or not running_processes(layout):
        raise UsageError(f"no stack is running from {layout.root} (start it with `tocsin up`)")
    return read_plan(layout)[0]


def _label_sets(args: argparse.Namespace, tree: Any) -> list[dict[str, str]]:
    from tocsin.ops.notify import labels_for
    from tocsin.ops.routes import parse_labels

    try:
        given = parse_labels(args.labels or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.receiver or args.priority or args.labels:
        return [labels_for(tree, receiver=args.receiver, priority=args.priority, labels=given)]
    sets = []  # every route of the tree, once
    for node in tree.root.children or [tree.root]:
        sets.append(
            labels_for(
                tree, receiver=None, priority=None, labels={n: v for n, op, v in node.matchers if op == "="}
            )
        )
    return sets


@no_traceback
def _test_notify(args: argparse.Namespace) -> int:
    """0 when every receiver confirmed; 1 when one failed, was held or did not confirm in time."""
    from tocsin.ops.notify import run_test_notify
    from tocsin.ops.routes import spec_route_tree

    spec, target = _spec_and_target(args)
    components = _running_plan(target.layout)
    tree = spec_route_tree(spec)
    tests = []
    for labels in _label_sets(args, tree):
        if not args.json:
            shown = " ".join(f"{k}={v}" for k, v in labels.items())
            _out.print(f"sending a synthetic alert ({shown}) through Alertmanager…")
        tests.append(run_test_notify(tree, components, target.layout.logs, labels, timeout=args.timeout))
    failed = [c for t in tests for c in t.confirmations if c.status != "delivered"]
    if args.json:
        _print_json(
            {
                "passed": not failed,
                "failed": sorted({c.receiver for c in failed}),
                "tests": [
                    {
                        "alertname": t.alertname,
                        "labels": t.labels,
                        "confirmations": [vars(c) for c in t.confirmations],
                    }
                    for t in tests
                ],
            }
        )
        return 1 if failed else 0
    rows = [
        [
            c.receiver,
            c.kind,
            _RESULT.get(c.status, c.status),
            f"{c.seconds:.1f}s" if c.seconds is not None else "-",
            c.via,
            c.detail,
        ]
        for t in tests
        for c in t.confirmations
    ]
    _table("test-notify", ["receiver", "kind", "result", "after", "confirmed by", "detail"], rows)
    if failed:
        names = ", ".join(sorted({f"{c.receiver} ({c.kind}: {c.status})" for c in failed}))
        _out.print(f"not delivered: {names}")
        return 1
    _out.print(f"delivered to all {len(rows)} receivers")
    return 0


# --- drill -------------------------------------------------------------------------------------------------

_STEP = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "skip": "[dim]skip[/]", "pending": "-"}


def _restart_command(text: str) -> list[str]:
    """``--restart`` as argv, its program found now: a drill must not kill a service it cannot restart."""
    import shlex
    import shutil

    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"--restart {text!r}: {exc}") from None
    if not argv:
        raise UsageError("--restart: give the command that starts the service again")
    if shutil.which(argv[0]) is None:
        raise UsageError(
            f"--restart: {argv[0]!r} is not a program on PATH (the command runs without a shell; "
            "for shell syntax write --restart \"sh -c 'cd /srv/app && ./start'\")"
        )
    return argv


@no_traceback
def _drill(args: argparse.Namespace) -> int:
    """0 when every step happened in time; 1 when one did not (the table says which and why)."""
    import signal

    from tocsin.ops.drill import drill
    from tocsin.ops.routes import spec_route_tree

    restart = _restart_command(args.restart) if args.restart else None  # before anything is killed
    spec, target = _spec_and_target(args)
    components = _running_plan(target.layout)
    report = drill(
        spec,
        components,
        target.layout.logs,
        spec_route_tree(spec),
        service=args.service,
        component=args.component,
        alert=args.alert,
        sig=getattr(signal, f"SIG{args.signal}") if args.signal else None,
        restart=restart,
        timeout=args.timeout,
        layout=target.layout,
    )
    if args.json:
        _print_json(
            {
                "target": report.target,
                "alert": report.alert,
                "passed": report.passed,
                "steps": [vars(s) for s in report.steps],
                "deliveries": [vars(c) for c in report.deliveries],
                "notes": report.notes,
            }
        )
        return 0 if report.passed else 1
    rows = [
        [s.name, _STEP[s.status], f"{s.at:.1f}s" if s.at is not None else "-", s.detail] for s in report.steps
    ]
    title = f"drill: {report.target}" + (f", alert {report.alert}" if report.alert else "")
    _table(title, ["step", "result", "after kill", "detail"], rows)
    if report.deliveries:
        rows = [
            [c.receiver, c.kind, c.status, f"{c.seconds:.1f}s" if c.seconds is not None else "-", c.via]
            for c in report.deliveries
        ]
        _table("notifications", ["receiver", "kind", "result", "after firing", "confirmed by"], rows)
    for note in report.notes:
        _out.print(f"note: {note}")
    failed = [s for s in report.steps if s.status == "fail"]
    _out.print("drill passed" if report.passed else f"drill FAILED at {failed[0].name}: {failed[0].detail}")
    return 0 if report.passed else 1


def register(subparsers: Any) -> None:
    def command(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help, description=help)
        add_target_arguments(parser)
        parser.set_defaults(func=func)
        return parser

    checklist = command("checklist", _checklist, "evaluate the spec's health checklist: pass/fail per item")
    checklist.add_argument("--period", choices=["day", "week", "month"], help="items of this period (day)")
    checklist.add_argument("--item", action="append", metavar="NAME", help="only this item (repeatable)")
    checklist.add_argument("--at", metavar="TIME", help="evaluate at this time (RFC 3339, 24h ago...; now)")
    checklist.add_argument("--json", action="store_true", help="JSON on stdout (for cron)")
    checklist.add_argument("--prometheus", metavar="URL", help="Prometheus to query (default: the stack's)")
    routes = command(
        "routes", _routes, "the alert route tree: receivers, repeat, active/mute times per route"
    )
    routes.add_argument(
        "--labels", nargs="+", metavar="NAME=VALUE", help="where an alert with these labels goes"
    )
    routes.add_argument("--at", metavar="TIME", help="whether routes notify at this time (default: now)")
    routes.add_argument("--json", action="store_true", help="JSON on stdout")
    notify = command("test-notify", _test_notify, "send a synthetic alert and confirm it at each receiver")
    choose = notify.add_mutually_exclusive_group()
    choose.add_argument("--receiver", metavar="NAME", help="through the route that notifies this receiver")
    choose.add_argument("--priority", choices=["P1", "P2", "P3"], help="through this priority's route")
    choose.add_argument("--labels", nargs="+", metavar="NAME=VALUE", help="with these labels")
    notify.add_argument(
        "--timeout", type=float, help="seconds to wait (default: the route's group_wait + 60)"
    )
    notify.add_argument("--json", action="store_true", help="JSON on stdout")
    drill = command(
        "drill", _drill, "recovery test: kill a service or component, time fired/delivered/restarted/resolved"
    )
    which = drill.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--service", metavar="NAME", help="a service of the spec (its process is found by port)"
    )
    which.add_argument(
        "--component", metavar="NAME", help="a component of the stack (prometheus, receiver, ...)"
    )
    drill.add_argument(
        "--alert", metavar="NAME", help="the alert that must fire (default: the service's TargetDown)"
    )
    drill.add_argument(
        "--signal",
        choices=["KILL", "TERM"],
        help="how to stop it (default KILL; TERM for the components a kill would lose data of: "
        "the long-term store, the Pushgateway, a single Alertmanager)",
    )
    drill.add_argument(
        "--restart", metavar="CMD", help="run CMD once the alert is delivered (no supervisor of its own)"
    )
    drill.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per step (default 120)")
    drill.add_argument("--json", action="store_true", help="JSON on stdout")
    doctor = command("doctor", _doctor, "diagnose the stack: each problem in plain words, with its fix")
    doctor.add_argument(
        "--min-free", type=_fraction, default=0.1, metavar="PCT", help="free space wanted (10%%)"
    )
    doctor.add_argument("--timeout", type=float, default=5.0, help="seconds per probe (default 5)")
    doctor.add_argument("-v", "--verbose", action="store_true", help="list the checks that passed too")
    doctor.add_argument("--json", action="store_true", help="JSON on stdout")
