"""Are the plan's ports free, and if not, who holds them.

Checked before anything starts, so a taken port is one ``tocsin: port already in use`` line naming the
process that has it. A port can still be taken between this check and the component's own bind (no
component accepts a socket handed to it); the supervisor reports that case with the same words when the
component dies at start (:func:`explain_bind_failure`).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from tocsin.errors import StackError
from tocsin.stack.components import Component

__all__ = ["ensure_ports_free", "explain_bind_failure", "port_holder"]

_HINT = "stop what uses it, or choose other ports in the spec's stack: section"


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the Go servers do: TIME_WAIT is fine
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def port_holder(port: int) -> str:
    """``pid 123 (python3)`` for the process listening on ``port``, or '' when it cannot be told."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return ""
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return ""


def _where(host: str, port: int, name: str) -> str:
    held = port_holder(port)
    return f"{host}:{port} ({name})" + (f" held by {held}" if held else "")


def ensure_ports_free(components: Sequence[Component]) -> None:
    """Every port of the plan is distinct and free on its host, or one StackError naming all (exit 2)."""
    owners: dict[tuple[str, int], str] = {}
    clashes = []
    for c in components:
        for port in c.ports:
            if (c.host, port) in owners:
                clashes.append(f"{c.host}:{port} ({owners[c.host, port]} and {c.name})")
            owners.setdefault((c.host, port), c.name)
    if clashes:
        raise StackError(
            "two components on one port: " + ", ".join(clashes) + " (give each its own in the stack: section)"
        )
    taken = [_where(host, port, name) for (host, port), name in owners.items() if _port_taken(host, port)]
    if taken:
        raise StackError("port already in use: " + ", ".join(taken) + f" ({_HINT})")


def explain_bind_failure(components: Sequence[Component], log_tail: str) -> str:
    """The message for a process that died at start because one of its ports was taken after the check.

    ``components`` are what the process serves: one component, or the console and the receiver it hosts.
    '' when its log does not say so.
    """
    if "address already in use" not in log_tail.lower():
        return ""
    taken = [_where(c.host, p, c.name) for c in components for p in c.ports if _port_taken(c.host, p)]
    first = components[0]
    where = ", ".join(taken) or f"{first.host}:{first.port} ({first.name})"
    return f"port already in use: {where}, taken after tocsin checked it ({_HINT})"
