"""``tocsin reset``: start one part of a stack's state over, never the spec nor the compiled config.

============  ======================================================================================
``metrics``   every series of every Prometheus (and the long-term VictoriaMetrics), pushed metrics.
              On a running stack through their admin APIs (``delete_series`` for every series, then
              ``clean_tombstones``; the Pushgateway's ``wipe``) while scrapes go on; on a stopped
              one the data directories are removed.
``alerts``    the receiver's history, the silences, Alertmanager's notification log (stopped stack).
``logs``      the log watcher's store and its checkpoint (positions and counters: files are read
              again from their start at the next ``up``) (stopped stack).
============  ======================================================================================

Seed 000 resets metrics by deleting Prometheus' data directory by hand, which is what this does on a
stopped stack, for every replica and without touching the rest.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterable
from pathlib import Path

from tocsin.errors import StackError
from tocsin.ops._http import CallFailed, call, call_json
from tocsin.ops.backup import logwatch_store
from tocsin.stack.components import read_plan
from tocsin.stack.control import running_processes
from tocsin.stack.layout import StackLayout

__all__ = ["PARTS", "reset", "reset_targets"]

PARTS = ("metrics", "alerts", "logs")
_EVERY_SERIES = '{__name__=~".+"}'


def _sqlite_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


def reset_targets(layout: StackLayout, part: str) -> list[Path]:
    """The files and directories a stopped-stack reset of ``part`` removes (those that exist)."""
    data = layout.root / "data"
    if part == "metrics":
        found = [d for d in data.glob("prometheus*") if d.is_dir()]
        found += [data / "victoriametrics", data / "pushgateway" / "metrics.data"]
    elif part == "alerts":
        found = [*_sqlite_files(layout.alerts_db), layout.silences_file]
        for manager in data.glob("alertmanager*"):
            found += [manager / "silences", manager / "nflog"]
    elif part == "logs":
        watch = layout.root / "logwatch"
        found = [*_sqlite_files(logwatch_store(layout)), *watch.glob("*checkpoint*.json")]
    else:
        raise ValueError(f"unknown part {part!r}")
    return [p for p in found if p.exists()]


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _group_path(labels: dict[str, str]) -> str:
    """A push group's URL path, every value base64 (``job@base64/...``) so ``/`` in it is safe."""

    def encoded(value: str) -> str:
        return base64.urlsafe_b64encode(value.encode()).decode() or "="

    rest = "".join(f"/{k}@base64/{encoded(v)}" for k, v in sorted(labels.items()) if k != "job")
    return f"/metrics/job@base64/{encoded(labels.get('job', ''))}{rest}"


def _wipe_pushgateway(url: str) -> int:
    """Delete every push group (the admin ``wipe`` needs a flag the stack does not set); returns how many."""
    groups = call_json("GET", f"{url}/api/v1/metrics")["data"]
    for group in groups:
        call("DELETE", url + _group_path(dict(group["labels"])))
    return len(groups)


def _live_metrics(layout: StackLayout) -> list[str]:
    components, _ = read_plan(layout)
    done = []
    # pushed metrics first: else the next scrape brings them straight back
    order = sorted(components, key=lambda c: c.kind != "pushgateway")
    try:
        for c in order:
            if c.kind == "pushgateway":
                done.append(f"{_wipe_pushgateway(c.url)} pushed metric groups deleted")
            elif c.kind in ("prometheus", "long_term"):
                params = {"match[]": _EVERY_SERIES}
                call("POST", f"{c.url}/api/v1/admin/tsdb/delete_series", params=params, timeout=300)
                if c.kind == "prometheus":
                    call("POST", f"{c.url}/api/v1/admin/tsdb/clean_tombstones", timeout=600)
                done.append(f"every series of {c.name} deleted")
    except CallFailed as exc:
        hint = " (the admin API is on only when stack.host is loopback)" if exc.status in (404, 405) else ""
        raise StackError(
            f"reset stopped half-way: {exc}{hint}; done: {', '.join(done) or 'nothing'}"
        ) from None
    return done


def reset(layout: StackLayout, parts: Iterable[str]) -> list[str]:
    """Reset ``parts`` of ``layout``'s state; returns what was done, in words."""
    wanted = [p for p in PARTS if p in set(parts)]
    running = bool(running_processes(layout))
    if running:
        live_only = [p for p in wanted if p != "metrics"]
        if live_only:
            raise StackError(
                f"resetting {' and '.join(live_only)} needs a stopped stack (the receiver and the log "
                "watcher hold those files): `tocsin down`, reset, `tocsin up`; --metrics alone works live"
            )
        return _live_metrics(layout)
    done = []
    for part in wanted:
        targets = reset_targets(layout, part)
        _remove(targets)
        done.append(
            f"{part}: removed {len(targets)} files/directories" if targets else f"{part}: nothing to remove"
        )
    return done
