"""Checks of this machine: binaries and their versions, ports, the components, the config, the disk."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tocsin.ops._format import format_bytes
from tocsin.ops.doctor._base import Context, Finding, error, ok, warning
from tocsin.stack.components import BINARIES, find_binary

__all__ = ["binaries", "components", "config", "disk", "ports"]

#: the versions tocsin is tested with (Debian bookworm's packages); older ones may lack flags it uses
TESTED = {
    "prometheus": "2.42",
    "alertmanager": "0.25",
    "pushgateway": "1.5",
    "node_exporter": "1.5",
    "promtool": "2.42",
    "amtool": "0.25",
    "long_term": "1.79",
}
_VERSION = re.compile(r"(?:version\s+|v)(\d+\.\d+(?:\.\d+)?)")


def _version(path: str, package: str) -> str:
    for flag in ("--version", "-version"):
        try:
            out = subprocess.run([path, flag], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        match = _VERSION.search(out.stdout + out.stderr)
        if match:
            return match.group(1)
    try:  # Debian's victoria-metrics prints no version: ask the package manager
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    except OSError:
        return ""
    match = re.match(r"(\d+\.\d+(?:\.\d+)?)", out.stdout)
    return match.group(1) if match else ""


def _older(found: str, tested: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split(".")[:2])

    return bool(found) and parts(found) < parts(tested)


def _wanted_kinds(ctx: Context) -> list[str]:
    kinds = {c.kind for c in ctx.components} or {"prometheus", "alertmanager", "pushgateway", "node_exporter"}
    if ctx.spec is not None and ctx.spec.stack.long_term is not None and ctx.spec.stack.long_term.local:
        kinds.add("long_term")
    return [k for k in BINARIES if k in kinds or k in ("promtool", "amtool")]


def binaries(ctx: Context) -> Iterator[Finding]:
    for kind in _wanted_kinds(ctx):
        names, package = BINARIES[kind]
        try:
            path = find_binary(kind)
        except Exception:  # StackError: not installed
            yield error(
                "binaries",
                names[0],
                f"{names[0]} is not installed",
                f"sudo apt-get update && sudo apt-get install -y {package}",
            )
            continue
        version = _version(path, package)
        tested = TESTED.get(kind, "")
        if _older(version, tested):
            yield warning(
                "binaries",
                names[0],
                f"{path} is version {version}; tocsin is tested with {tested}",
                f"upgrade {package} (flags tocsin passes may be unknown to {version})",
            )
        else:
            yield ok("binaries", names[0], f"{path} {version or '(version unknown)'}")


def _listener(port: int) -> str:
    import psutil

    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                try:
                    return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
                except psutil.Error:
                    return f"pid {conn.pid}"
    except (psutil.Error, OSError):
        pass
    return "another process"


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ports(ctx: Context) -> Iterator[Finding]:
    """A stopped stack's ports must be free for ``up``; a running one's must be its own processes'."""
    if ctx.running or not ctx.components:
        return
    for c in ctx.components:
        for port in c.ports:
            if not _bindable(c.host, port):
                yield error(
                    "ports",
                    f"{c.name} {c.host}:{port}",
                    f"port {port} is taken by {_listener(port)}: `tocsin up` cannot start {c.name}",
                    "stop what holds it, or move the component's port in the spec's stack: section",
                )


def components(ctx: Context) -> Iterator[Finding]:
    status = ctx.status
    if status is None or not status.running:
        yield warning("components", "stack", f"no stack runs from {ctx.layout.root}", "start it: tocsin up")
        return
    if status.supervisor in ("gone", "not responding"):
        yield error(
            "components",
            "supervisor",
            f"the supervisor is {status.supervisor}: nothing restarts a component that dies",
            "tocsin down, then tocsin up",
        )
    for c in status.components:
        if c.up:
            if c.restarts >= 3:
                yield warning(
                    "components",
                    c.name,
                    f"{c.name} was restarted {c.restarts} times ({c.note or 'see its log'})",
                    f"read {ctx.layout.log(c.name)}",
                )
            else:
                yield ok("components", c.name, f"{c.name} answers at {c.url}")
            continue
        yield error(
            "components",
            c.name,
            f"{c.name} is {c.state}{': ' + c.note if c.note else ''}",
            f"read {ctx.layout.log(c.name)}; `tocsin status` shows the stack",
        )
    for stray in status.strays:
        yield warning(
            "components",
            stray.name,
            f"{stray.name} (pid {stray.pid}) runs for this state dir but no state file names it",
            "tocsin down stops it",
        )


def config(ctx: Context) -> Iterator[Finding]:
    """The spec loads and its compiled config passes promtool and amtool, as ``tocsin check`` says."""
    if ctx.spec is None:
        if ctx.spec_error:
            yield error(
                "config", "spec", ctx.spec_error, "fix the spec at that line; `tocsin check` lists all"
            )
        return
    from tocsin.compile import check_bundle, compile_spec

    with tempfile.TemporaryDirectory(prefix="tocsin-doctor-") as tmp:
        try:
            compile_spec(ctx.spec, ha=any(c.name.endswith("-1") for c in ctx.components)).write(tmp)
        except Exception as exc:  # SpecError (an unset url_env), OSError
            yield error("config", "compile", str(exc), "tocsin check shows every problem")
            return
        problems = check_bundle(Path(tmp), spec=ctx.spec)
    for problem in problems:
        yield error(
            "config", problem.file, problem.message, problem.hint or "tocsin check shows it in context"
        )
    if not problems:
        yield ok("config", Path(ctx.spec.source).name, "the compiled config passes promtool and amtool")


def disk(ctx: Context) -> Iterator[Finding]:
    root = ctx.layout.root if ctx.layout.root.exists() else ctx.layout.root.parent
    try:
        usage = shutil.disk_usage(root)
    except OSError as exc:
        yield error("disk", str(root), f"cannot read its filesystem: {exc.strerror}", "check the path")
        return
    free = usage.free / usage.total if usage.total else 0.0
    words = f"{format_bytes(usage.free)} free of {format_bytes(usage.total)} ({free:.0%})"
    if free < ctx.min_free:
        growth = ctx.scalar("sum(deriv(prometheus_tsdb_storage_blocks_bytes[6h]))")
        days = ""
        if growth and growth > 0:
            left = usage.free / growth / 86400
            days = f"; the TSDB grows {format_bytes(growth * 86400)}/day: full in {left:.1f} days"
        yield error(
            "disk",
            str(ctx.layout.root),
            f"the state dir's filesystem is nearly full: {words}, "
            f"under the {ctx.min_free:.0%} threshold{days}",
            "free space, lower stack.prometheus.retention, or move stack.state_dir to a bigger disk",
        )
    else:
        yield ok("disk", str(ctx.layout.root), words)
