"""``tocsin backup``: one consistent archive of a stack's state, taken without stopping anything.

What is consistent, and how:

- the TSDB: Prometheus' own snapshot (``POST /api/v1/admin/tsdb/snapshot``, the admin API the stack
  enables on loopback only): hard links to its immutable blocks plus the head written as a block, made
  in milliseconds while scrapes go on; the archive is written from the links, which are removed after.
  A stopped stack's TSDB is copied as it lies (nothing writes it).
- the receiver's history and the log store: SQLite's online backup API, a transaction-consistent copy
  while the receiver and the watcher keep writing (WAL mode).
- silences: Alertmanager's API (``GET /api/v2/silences``), or the supervisor's copy when stopped.
- the log watcher's checkpoint, the pushed metrics, the compiled config and the spec: copied.

The archive format is :mod:`tocsin.ops._archive` (manifest with a SHA-256 per file).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin import __version__
from tocsin.errors import SpecError, StackError
from tocsin.ops._archive import ArchiveWriter, Progress
from tocsin.ops._http import CallFailed, call_json
from tocsin.stack.components import Component, read_plan
from tocsin.stack.config import current_generation
from tocsin.stack.layout import StackLayout
from tocsin.stack.silences import saved_silences
from tocsin.stack.status import stack_status

__all__ = ["BackupResult", "backup", "default_archive_name", "logwatch_store"]

#: files of a stopped TSDB that are not data (Prometheus' lock, its query log, old snapshots)
_TSDB_SKIP = ("lock", "queries.active")


@dataclass
class BackupResult:
    path: Path
    bytes: int
    files: int
    seconds: float
    running: bool
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)


def default_archive_name(app: str, when: float | None = None) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    return f"tocsin-backup-{app}-{stamp}.tar"


def logwatch_store(layout: StackLayout) -> Path:
    """The log store the compiled config names (``logs.store.path``), else ``<state>/logwatch/logs.db``."""
    try:
        config = json.loads((layout.current / "logwatch" / "logwatch.json").read_text())
        return Path(config["store"]["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return layout.root / "logwatch" / "logs.db"


def _sqlite_copy(source: Path, target: Path) -> None:
    """A transaction-consistent copy of a live SQLite database (its writers go on meanwhile)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=4096)
        finally:
            dst.close()
    finally:
        src.close()


@dataclass
class _Plan:
    """What goes in the archive, as (source file, name in the archive), gathered before writing."""

    staging: Path
    entries: list[tuple[Path, str]] = field(default_factory=list)
    documents: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def tree(
        self,
        root: Path,
        prefix: str,
        skip: Callable[[Path], bool] = lambda p: False,
        *,
        follow: bool = False,
    ) -> int:
        """Add every file under ``root`` as ``prefix/<relative path>``; ``follow``: through symlinked
        directories too (a VictoriaMetrics snapshot is a tree of links into its partitions)."""
        before = len(self.entries)
        if follow:
            found = [Path(d) / f for d, _, files in os.walk(root, followlinks=True) for f in files]
        else:
            found = [p for p in root.rglob("*") if not p.is_symlink()]
        for path in sorted(found):
            if path.is_file() and not skip(path):
                self.entries.append((path, f"{prefix}/{path.relative_to(root).as_posix()}"))
        return len(self.entries) - before

    def staged(self, name: str) -> Path:
        path = self.staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def _first(components: list[Component], kind: str) -> Component | None:
    return next((c for c in components if c.kind == kind), None)


def _tsdb(plan: _Plan, layout: StackLayout, prometheus: Component | None, running: bool) -> None:
    if running and prometheus is not None:
        try:
            answer = call_json("POST", f"{prometheus.url}/api/v1/admin/tsdb/snapshot", timeout=600)
        except CallFailed as exc:
            hint = (
                "its admin API is off: tocsin up enables it only when stack.host is a loopback address"
                if exc.status in (404, 405) or "disabled" in str(exc).lower()
                else "is it answering? `tocsin status`"
            )
            raise StackError(f"cannot snapshot the TSDB of {prometheus.name}: {exc} ({hint})") from None
        snapshot = Path(prometheus.data_dir) / "snapshots" / answer["data"]["name"]
        plan.cleanup.append(lambda: shutil.rmtree(snapshot, ignore_errors=True))
        count = plan.tree(snapshot, "prometheus")
        plan.parts["prometheus"] = {"source": f"snapshot of {prometheus.name}", "files": count}
        return
    candidates = [layout.data("prometheus"), layout.data("prometheus-0"), layout.data("prometheus-1")]
    found = next((d for d in candidates if d.is_dir() and any(d.iterdir())), None)
    if found is None:
        return

    def skip(path: Path) -> bool:
        relative = path.relative_to(found)
        return relative.parts[0] == "snapshots" or path.name in _TSDB_SKIP

    count = plan.tree(found, "prometheus", skip)
    plan.parts["prometheus"] = {"source": f"copy of stopped {found.name}", "files": count}


#: parts of a stopped VictoriaMetrics data dir that are not data (its lock, caches rebuilt at start)
_VM_SKIP = ("flock.lock", "cache", "tmp", "snapshots")


def _long_term(plan: _Plan, layout: StackLayout, store: Component | None, running: bool) -> None:
    """The supervised VictoriaMetrics (``stack.long_term``): its own snapshot (``/snapshot/create``:
    hard links, taken while writes go on), archived through its links and deleted after."""
    if running and store is not None:
        try:
            answer = call_json("GET", f"{store.url}/snapshot/create", timeout=600)
        except CallFailed as exc:
            raise StackError(
                f"cannot snapshot {store.name}: {exc} (is it answering? `tocsin status`)"
            ) from None
        name = str(answer.get("snapshot", ""))
        if answer.get("status") != "ok" or not name or "/" in name:
            raise StackError(f"cannot snapshot {store.name}: it answered {answer!r}")

        def delete() -> None:
            try:
                call_json("GET", f"{store.url}/snapshot/delete?snapshot={name}", timeout=60)
            except CallFailed:  # hard links only: left for /snapshot/list, never worth failing a backup
                pass

        plan.cleanup.append(delete)
        count = plan.tree(Path(store.data_dir) / "snapshots" / name, "victoriametrics", follow=True)
        plan.parts["victoriametrics"] = {"source": f"snapshot of {store.name}", "files": count}
        return
    data = layout.data("victoriametrics")
    if not (data / "data").is_dir():
        return

    def skip(path: Path) -> bool:
        relative = path.relative_to(data).parts
        return relative[0] in _VM_SKIP or "snapshots" in relative

    count = plan.tree(data, "victoriametrics", skip)
    plan.parts["victoriametrics"] = {"source": "copy of stopped victoriametrics", "files": count}


def _silences(plan: _Plan, layout: StackLayout, alertmanager: Component | None, running: bool) -> None:
    silences: list[dict[str, Any]]
    if running and alertmanager is not None:
        try:
            silences = call_json("GET", f"{alertmanager.url}/api/v2/silences", timeout=30)
        except CallFailed as exc:
            raise StackError(f"cannot read the silences of {alertmanager.name}: {exc}") from None
        source = f"API of {alertmanager.name}"
    else:
        silences = list(saved_silences(layout.silences_file).values())
        source = "the supervisor's copy"
    plan.documents["alertmanager/silences.json"] = silences
    active = sum(1 for s in silences if s.get("status", {}).get("state") == "active")
    plan.parts["alertmanager"] = {"source": source, "silences": len(silences), "active": active}


def _databases(plan: _Plan, layout: StackLayout) -> None:
    if layout.alerts_db.is_file():
        copy = plan.staged("receiver/alerts.sqlite")
        _sqlite_copy(layout.alerts_db, copy)
        plan.entries.append((copy, "receiver/alerts.sqlite"))
        plan.parts["receiver"] = {"source": "online SQLite backup", "bytes": copy.stat().st_size}
    logwatch = layout.root / "logwatch"
    store = logwatch_store(layout)
    files = 0
    if store.is_file():
        copy = plan.staged("logwatch/logs.db")
        _sqlite_copy(store, copy)
        plan.entries.append((copy, "logwatch/logs.db"))
        files += 1
    if logwatch.is_dir():
        for path in sorted(logwatch.iterdir()):
            live = path.name.endswith((".lock", "-wal", "-shm")) or path.name == "logs.db" or path == store
            if path.is_file() and not live:  # the checkpoint (positions and counters)
                plan.entries.append((path, f"logwatch/{path.name}"))
                files += 1
    if files:
        plan.parts["logwatch"] = {"files": files, "store": str(store)}
    pushed = layout.data("pushgateway") / "metrics.data"
    if pushed.is_file():
        copy = plan.staged("pushgateway/metrics.data")
        shutil.copyfile(pushed, copy)  # rewritten every few seconds: copy first, then archive the copy
        plan.entries.append((copy, "pushgateway/metrics.data"))
        plan.parts["pushgateway"] = {"bytes": copy.stat().st_size}


def _config_and_spec(plan: _Plan, layout: StackLayout, spec: Path | None) -> None:
    generation = current_generation(layout)
    if generation is not None and generation.is_dir():
        plan.parts["config"] = {"generation": generation.name, "files": plan.tree(generation, "config")}
    if spec is not None and spec.is_file():
        plan.entries.append((spec, f"spec/{spec.name}"))
        includes = _includes(spec)
        for path in includes:
            plan.entries.append((path, f"spec/{path.relative_to(spec.parent).as_posix()}"))
        plan.parts["spec"] = {"path": str(spec), "name": spec.name, "includes": len(includes)}


def _includes(spec: Path) -> list[Path]:
    """The rule files a spec includes that live under its directory (restored beside it)."""
    try:
        from tocsin.spec import load_spec

        loaded = load_spec(spec)
    except SpecError:  # a spec that does not load is still backed up, without its includes
        return []
    found = [Path(p) for p in loaded.included_rules]
    return [p for p in found if p.is_file() and p.is_relative_to(spec.parent)]


def backup(
    layout: StackLayout,
    out: Path,
    *,
    spec: Path | None = None,
    app: str = "",
    progress: Progress | None = None,
    compress: bool = False,
) -> BackupResult:
    """Write the archive of ``layout``'s stack (running or stopped) to ``out``."""
    started = time.monotonic()
    status = stack_status(layout)
    running = bool(status and status.running and status.status == "ready")
    components: list[Component] = []
    options: dict[str, Any] = {}
    if layout.plan_file.is_file():
        components, options = read_plan(layout)
    if spec is None and options.get("spec"):
        spec = Path(options["spec"])
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tocsin-backup-", dir=out.parent))
    plan = _Plan(staging)
    try:
        _tsdb(plan, layout, _first(components, "prometheus"), running)
        _silences(plan, layout, _first(components, "alertmanager"), running)
        _long_term(plan, layout, _first(components, "long_term"), running)
        _databases(plan, layout)
        _config_and_spec(plan, layout, spec)
        header = {
            "created_at": time.time(),
            "tocsin_version": __version__,
            "host": socket.gethostname(),
            "app": app,
            "state_dir": str(layout.root),
            "running": running,
            "ha": bool(options.get("ha")),
            "parts": plan.parts,
        }
        total = sum(path.stat().st_size for path, _ in plan.entries)
        writer = ArchiveWriter(out, total, progress, compress)
        with writer.open(header):
            for path, name in plan.entries:
                writer.add_file(path, name)
            for name, document in plan.documents.items():
                writer.add_json(name, document)
    finally:
        for undo in plan.cleanup:
            undo()
        shutil.rmtree(staging, ignore_errors=True)
    return BackupResult(
        out, out.stat().st_size, len(writer.files), time.monotonic() - started, running, plan.parts
    )
