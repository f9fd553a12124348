"""``tocsin export | report | backtest``: reading what Prometheus stored.

Every command finds Prometheus the same way: ``--prometheus URL``, else ``$TOCSIN_PROMETHEUS_URL``, else the
stack run from the spec's state dir (its recorded URL), else the spec's configured port on 127.0.0.1. Without
either option, a range starting further back than the spec's Prometheus keeps samples
(``stack.prometheus.retention``) is read from its ``stack.long_term`` store when it has one. They
are cron-friendly: results go to ``--out`` (written whole, then renamed into place) or stdout, progress
only to a terminal, and the exit code says what happened (0 done, 1 Prometheus unreachable or failing,
2 bad arguments, query or spec).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tocsin.errors import UsageError

__all__ = ["register"]

DEFAULT_SPEC = "tocsin.yaml"
#: Steps per series one export may ask for (a year at 5 s): past it, a typo in --step would queue
#: hundreds of thousands of requests and hold every point in memory.
MAX_EXPORT_STEPS = 6_400_000
_err = Console(stderr=True, highlight=False, soft_wrap=True)


# --- shared ----------------------------------------------------------------------------------------------


def _load_spec(args: argparse.Namespace) -> Any:
    from tocsin.cli._target import find_spec, require
    from tocsin.spec import load_spec

    return load_spec(require(find_spec(args)), profile=getattr(args, "profile", None))


def state_layout(args: argparse.Namespace, spec: Any) -> Any:
    """The stack's state dir, resolved as every stack command does (``--state-dir``, else the spec's)."""
    from tocsin.cli._target import resolve_target

    return resolve_target(args, state_dir=spec.stack.state_dir if spec is not None else None).layout


def prometheus_url(args: argparse.Namespace, spec: Any = None) -> str:
    """Where to read history from (see the module docstring for the order)."""
    if getattr(args, "prometheus", None):
        return str(args.prometheus).rstrip("/")
    if os.environ.get("TOCSIN_PROMETHEUS_URL"):
        return os.environ["TOCSIN_PROMETHEUS_URL"].rstrip("/")
    from tocsin.cli._target import find_spec

    if spec is None and find_spec(args) is not None:
        spec = _load_spec(args)
    if spec is None:
        raise UsageError(
            "no Prometheus to read: give --prometheus URL, set TOCSIN_PROMETHEUS_URL, or run where "
            f"{DEFAULT_SPEC} is"
        )
    from tocsin.stack.state import read_state

    state = read_state(state_layout(args, spec))
    for component in (state or {}).get("components", {}).values():
        if component.get("kind") == "prometheus" and component.get("url"):
            return str(component["url"]).rstrip("/")
    return f"http://{spec.stack.host}:{spec.stack.prometheus.port}"


def read_url(args: argparse.Namespace, spec: Any, since: float) -> str:
    """Where to read samples from ``since`` (Unix seconds) on: :func:`prometheus_url`, or the spec's
    long-term store when the range reaches past Prometheus' retention (said on stderr)."""
    if getattr(args, "prometheus", None) or os.environ.get("TOCSIN_PROMETHEUS_URL"):
        return prometheus_url(args, spec)
    from tocsin.cli._target import find_spec

    if spec is None and find_spec(args) is not None:
        spec = _load_spec(args)
    if spec is not None:
        import time

        from tocsin.spec import long_term_reads

        url = long_term_reads(spec.stack, since, time.time())
        if url is not None:
            engine, keeps = spec.stack.long_term.engine, spec.stack.prometheus.retention
            _err.print(f"reading {engine} at {url}: the range starts before Prometheus' {keeps} retention")
            return url
    return prometheus_url(args, spec)


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """stdout, or ``path`` written to a temporary file renamed over it only when everything was written:
    a cron job never leaves half a file where yesterday's whole one was."""
    if not path or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as out:
            yield out
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; the result is an ordinary file
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr when it is a terminal; a no-op callback otherwise (cron, pipes)."""
    if not _err.is_terminal:
        yield lambda done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=_err, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _add_source(parser: argparse.ArgumentParser, *, spec_option: bool = True) -> None:
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus to read (default: the spec's stack)")
    if spec_option:
        parser.add_argument("--spec", metavar="FILE", help=f"the spec (default: ./{DEFAULT_SPEC})")
    parser.add_argument("--state-dir", help="the stack's state dir (default: the spec's stack.state_dir)")


# --- export ----------------------------------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    from tocsin.history import MAX_POINTS, TimeRange, parse_duration, parse_time
    from tocsin.history.export import export_range, write_csv, write_json
    from tocsin.spec import parse_promql

    query, since, until, step, fmt = args.query, args.since, args.until, args.step, args.format
    spec = None
    if args.spec_export:
        spec = _load_spec(args)
        from tocsin.spec import find_export

        declared = find_export(spec, args.spec_export)
        query = declared.query
        since, until = since or declared.since, until or declared.until
        step, fmt = step or declared.step, fmt or declared.format
    if not query:
        raise UsageError("give a PromQL QUERY or --spec-export NAME")
    if args.query and args.spec_export:
        raise UsageError("give a QUERY or --spec-export NAME, not both")
    try:
        parse_promql(query)
    except ValueError as err:
        raise UsageError(f"{err} (check the expression in Prometheus' /classic/graph)") from None
    span = TimeRange(
        parse_time(since or "24h", what="--since"),
        parse_time(until or "now", what="--until"),
        parse_duration(step or "1m", "--step"),
    )
    if not 1 <= args.max_points <= MAX_POINTS:
        raise UsageError(
            f"--max-points {args.max_points} must be between 1 and {MAX_POINTS} (Prometheus' limit)"
        )
    if span.points > MAX_EXPORT_STEPS:
        raise UsageError(
            f"{span.points:,} steps per series ({span.describe()}) is more than {MAX_EXPORT_STEPS:,}: "
            "use a larger --step or a shorter range"
        )
    url = read_url(args, spec, span.start)
    with progress_bar(f"export {span.points} steps") as progress:
        series = export_range(
            url,
            query,
            span,
            concurrency=args.concurrency,
            max_points=args.max_points,
            progress=progress,
        )
    with _output(args.out) as out:
        if (fmt or "csv") == "json":
            count = write_json(series, out)
        else:
            count = write_csv(series, out, time_format=args.time_format)
    where = args.out if args.out and args.out != "-" else "stdout"
    _err.print(f"{count} points of {len(series)} series ({span.describe()}) to {where}")
    return 0


def _register_export(subparsers: Any) -> None:
    from tocsin.history import DEFAULT_CONCURRENCY, MAX_POINTS

    p = subparsers.add_parser(
        "export",
        help="a range query of any length to CSV or JSON",
        description="Run a range query of any length (split under Prometheus' 11,000-point limit and "
        "fetched in parallel) and write every point as CSV or JSON. Times: 24h (ago), now, now-2h, "
        "2025-01-06, 2025-01-06T08:00:00Z, Unix seconds.",
    )
    p.add_argument("query", nargs="?", help="PromQL expression")
    p.add_argument("--spec-export", metavar="NAME", help="an export declared in the spec's exports:")
    p.add_argument("--since", help="start (default 24h ago)")
    p.add_argument("--until", help="end (default now)")
    p.add_argument("--step", help="resolution (default 1m)")
    p.add_argument("--format", choices=("csv", "json"), help="output format (default csv)")
    p.add_argument("--time-format", choices=("iso", "unix"), default="iso", help="CSV timestamps")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="requests in flight")
    p.add_argument("--max-points", type=int, default=MAX_POINTS, help="points per request (≤ 11000)")
    _add_source(p)
    p.set_defaults(func=_export)


# --- backtest --------------------------------------------------------------------------------------------


def _human(seconds: float) -> str:
    from tocsin.spec import format_duration

    return format_duration(round(seconds)) if seconds else "-"


def _backtest_one(args: argparse.Namespace, spec: Any, url: str, start: float, end: float, label: str) -> Any:
    from tocsin.history.backtest import backtest_spec

    with progress_bar(f"backtest {label}") as progress:
        try:
            return backtest_spec(
                url,
                spec,
                start=start,
                end=end,
                alert=args.alert,
                progress=progress,
                concurrency=args.concurrency,
            )
        except ValueError as err:
            raise UsageError(str(err)) from None


def _summary_rows(result: Any) -> list[dict[str, Any]]:
    return [
        {
            "alert": s.alert,
            "severity": s.severity,
            "fired": s.fired,
            "firing_seconds": round(s.firing_seconds, 3),
            "longest_seconds": round(s.longest_seconds, 3),
            "flaps": s.flaps,
            "near_misses": s.near_misses,
            "firing_at_end": s.firing_at_end,
            "notifications": s.notifications,
            "instances": s.instances,
        }
        for s in result.summaries
    ]


def _print_backtest(result: Any, title: str) -> None:
    from rich.table import Table

    out = Console(highlight=False, soft_wrap=True)
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in ("alert", "severity", "fired", "firing", "longest", "flaps", "near misses", "notified"):
        table.add_column(column, justify="left" if column in ("alert", "severity") else "right")
    for s in result.summaries:
        table.add_row(
            s.alert, s.severity, str(s.fired), _human(s.firing_seconds), _human(s.longest_seconds),
            str(s.flaps), str(s.near_misses), str(s.notifications),
        )  # fmt: skip
    out.print(table)
    per_receiver: dict[str, int] = {}
    for n in result.notifications:
        per_receiver[n.receiver] = per_receiver.get(n.receiver, 0) + 1
    if per_receiver:
        text = ", ".join(f"{name} {count}" for name, count in sorted(per_receiver.items()))
        out.print(f"Alertmanager would have sent {len(result.notifications)} notifications: {text}")
    else:
        out.print("Alertmanager would have sent no notification")
    for note in result.backtest.notes:
        out.print(f"note: {note}")


def _print_diff(old: Any, new: Any, old_name: str, new_name: str) -> None:
    from rich.table import Table

    from tocsin.history.backtest import diff_summaries

    out = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"{old_name} → {new_name}", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("alert", "severity", "fired", "firing", "flaps", "notified"):
        table.add_column(column, justify="left" if column in ("alert", "severity") else "right")

    def pair(a: Any, b: Any, fmt: Callable[[Any], str] = str) -> str:
        if a == b:
            return fmt(a)
        return f"{fmt(a) if a is not None else '-'} → {fmt(b) if b is not None else '-'}"

    def get(summary: Any, name: str) -> Any:
        return getattr(summary, name) if summary is not None else None

    for d in diff_summaries(old.summaries, new.summaries):
        ref: Any = d.new or d.old
        table.add_row(
            ref.alert, ref.severity, pair(get(d.old, "fired"), get(d.new, "fired")),
            pair(get(d.old, "firing_seconds"), get(d.new, "firing_seconds"), lambda v: _human(v or 0)),
            pair(get(d.old, "flaps"), get(d.new, "flaps")),
            pair(get(d.old, "notifications"), get(d.new, "notifications")),
        )  # fmt: skip
    out.print(table)
    before, after = len(old.notifications), len(new.notifications)
    pages_before = sum(1 for n in old.notifications if n.kind != "resolved")
    pages_after = sum(1 for n in new.notifications if n.kind != "resolved")
    if pages_after < pages_before:
        verdict = f"{new_name} removes {pages_before - pages_after} of {pages_before} pages"
    elif pages_after > pages_before:
        verdict = f"{new_name} adds {pages_after - pages_before} pages to {pages_before}"
    else:
        verdict = f"{new_name} sends as many pages ({pages_after})"
    out.print(f"{verdict} (notifications including resolved: {before} → {after})")


def _backtest(args: argparse.Namespace) -> int:
    import json

    from tocsin.history import parse_time
    from tocsin.spec import load_spec

    spec = _load_spec(args)
    start = parse_time(args.since, what="--since")
    end = parse_time(args.until, what="--until")
    if end <= start:
        raise UsageError(f"--until {args.until} is not after --since {args.since}")
    from tocsin.history.backtest import spec_rules

    if not spec_rules(spec):
        raise UsageError(
            f"{spec.source}: the spec has no alerting rule to backtest (add alerts:, slos: or services:)"
        )
    old_spec = None
    if args.against:  # read before any query: a wrong path must not wait for a long backtest to be said
        path = Path(args.against)
        if not path.is_file():
            raise UsageError(f"{path}: no such spec file (--against wants the other version of the spec)")
        old_spec = load_spec(path, profile=args.profile)
    url = read_url(args, spec, start)
    result = _backtest_one(args, spec, url, start, end, Path(spec.source).name)
    old = None
    if old_spec is not None:
        old = _backtest_one(args, old_spec, url, start, end, Path(args.against).name)
    if args.format == "json":
        document: dict[str, Any] = {"start": start, "end": end, "alerts": _summary_rows(result),
                                    "notifications": len(result.notifications)}  # fmt: skip
        if old is not None:
            document["against"] = {"alerts": _summary_rows(old), "notifications": len(old.notifications)}
        print(json.dumps(document, indent=2))
        return 0
    from tocsin.history import TimeRange

    title = (
        f"backtest of {Path(spec.source).name}, {TimeRange(start, end, 1).describe().rsplit(' every', 1)[0]}"
    )
    _print_backtest(result, title)
    if old is not None:
        _print_diff(old, result, Path(args.against).name, Path(spec.source).name)
    return 0


def _register_backtest(subparsers: Any) -> None:
    from tocsin.history import DEFAULT_CONCURRENCY

    p = subparsers.add_parser(
        "backtest",
        help="would the spec's alerts have fired, how often, and who would have been told",
        description="Replay the spec's alerts over what Prometheus stored, with Prometheus' alert state "
        "machine (for, keep_firing_for, at each rule group's own evaluation times), and Alertmanager's "
        "routes, grouping, repeat intervals and inhibitions over the result.",
    )
    p.add_argument("spec", nargs="?", metavar="SPEC", help=f"the spec (default ./{DEFAULT_SPEC})")
    p.add_argument("--alert", metavar="NAME", help="only this alert")
    p.add_argument("--since", default="7d", help="start (default 7d ago)")
    p.add_argument("--until", default="now", help="end (default now)")
    p.add_argument("--against", metavar="OLD_SPEC", help="another version of the spec to compare with")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--profile", help="apply a spec profile (e.g. fast)")
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="requests in flight")
    _add_source(p, spec_option=False)
    p.set_defaults(func=_backtest)


# --- report ----------------------------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    from tocsin.history import parse_time
    from tocsin.history.report import DEFAULT_BUILTINS, build_report, render_html, render_markdown
    from tocsin.spec import Report, find_report

    spec = _load_spec(args)
    if args.name:
        report = find_report(spec, args.name)
    else:
        builtins = [*DEFAULT_BUILTINS] if spec.alerts or spec.slos or spec.services or spec.checklist else []
        report = Report(name="report", builtins=builtins)
    end = parse_time(args.until, what="--until")
    from tocsin.history.report import PERIODS

    url = read_url(args, spec, end - PERIODS[args.period or report.period])
    from tocsin.stack.layout import StackLayout

    root = Path(spec.source).parent if spec.source else Path.cwd()
    layout = StackLayout(
        Path(args.state_dir).resolve() if args.state_dir else (root / spec.stack.state_dir).resolve()
    )
    with progress_bar("report") as progress:
        progress(0, 1)
        doc = build_report(
            url, spec, report, end=end, period=args.period, history=layout.alerts_db,
            http_prefixes=args.http_prefix,
        )  # fmt: skip
        progress(1, 1)
    fmt = args.format or ("md" if args.out and args.out.endswith(".md") else "html")
    if fmt == "md":
        if not args.out or args.out == "-":
            raise UsageError("--format md writes PNG charts beside the Markdown: give --out FILE.md")
        out_path = Path(args.out)
        images = out_path.with_name(out_path.stem + "-charts")
        text = render_markdown(doc, images, link_prefix=f"{images.name}/")
    else:
        text = render_html(doc)
    with _output(args.out) as out:
        out.write(text)
    where = args.out if args.out and args.out != "-" else "stdout"
    _err.print(f"{doc.title}: {len(doc.sections)} sections to {where}")
    for problem in doc.problems:
        _err.print(f"tocsin: warning: query failed: {problem}")
    return 1 if doc.problems else 0


def _register_report(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="a day/week/month report as self-contained HTML or Markdown with PNG charts",
        description="Build a report from what Prometheus and the receiver stored: built-in sections "
        "(traffic, errors, latency, SLOs, alerts, alert noise, ...) and the spec's reports:. Exit 0 when "
        "written, 1 when Prometheus is unreachable or a query failed (the report is still written), 2 for "
        "bad arguments or spec.",
    )
    p.add_argument("name", nargs="?", help="a report of the spec's reports: (default: the built-ins)")
    p.add_argument("--period", choices=("day", "week", "month"), help="default: the report's (week)")
    p.add_argument("--until", default="now", help="end of the period (default now)")
    p.add_argument("--format", choices=("html", "md"), help="default html (md when --out ends in .md)")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout (md: charts in FILE-charts/)")
    p.add_argument(
        "--http-prefix",
        action="append",
        metavar="PREFIX",
        help="an application's metric prefix for the HTTP sections (repeatable; '-' for none). "
        "Default: the report's http_prefix param, else every prefix found in Prometheus",
    )
    _add_source(p)
    p.set_defaults(func=_report)


def register(subparsers: Any) -> None:
    _register_export(subparsers)
    _register_backtest(subparsers)
    _register_report(subparsers)
