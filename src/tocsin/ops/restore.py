"""``tocsin restore FILE``: a backup put back into a stopped stack's state dir.

The archive is verified in full while it is extracted into a staging directory inside the state dir
(so the final moves are renames on one filesystem); only when every checksum matched are the parts
moved into place. The state dir is locked meanwhile, so a ``tocsin up`` cannot start on half a
restore. Silences come back with their ids (written as Alertmanager's own snapshot file, which it
loads at start); the TSDB goes to every Prometheus replica's data dir (hard links: no extra space).
The spec is written back only where no spec is; a different one is left alone and the archived copy
put beside the state, with a note.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.errors import StackError, UsageError
from tocsin.ops._archive import ArchiveReader, Progress
from tocsin.ops.backup import logwatch_store
from tocsin.stack.config import activate
from tocsin.stack.control import running_processes
from tocsin.stack.layout import StackLayout
from tocsin.stack.lock import StateLock
from tocsin.stack.silences import SilenceKeeper
from tocsin.stack.state import write_json_atomic

__all__ = ["RestoreResult", "existing_state", "restore"]

#: the fields of a silence the supervisor keeps (tocsin.stack.silences)
_SILENCE_FIELDS = ("id", "status", "updatedAt", "matchers", "startsAt", "endsAt", "createdBy", "comment")


@dataclass
class RestoreResult:
    root: Path
    manifest: dict[str, Any]
    restored: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def existing_state(layout: StackLayout) -> list[str]:
    """What a restore would replace in ``layout`` (empty for a fresh or wiped state dir)."""
    found = []
    for name in ("prometheus", "prometheus-0", "prometheus-1"):
        data = layout.data(name)
        if data.is_dir() and any(data.iterdir()):
            found.append(f"the TSDB in {data}")
    if (layout.data("victoriametrics") / "data").is_dir():
        found.append(f"the long-term store in {layout.data('victoriametrics')}")
    if layout.alerts_db.is_file():
        found.append(f"the alert history {layout.alerts_db}")
    store = logwatch_store(layout)
    if store.is_file():
        found.append(f"the log store {store}")
    if layout.silences_file.is_file():
        found.append(f"the silences {layout.silences_file}")
    return found


def _replace_dir(source: Path, target: Path, *, link: bool = False) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if link:
        shutil.copytree(source, target, copy_function=os.link)
    else:
        source.rename(target)


def _replace_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):  # a SQLite file's leftovers belong to the old one
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(source, target)


def _prometheus(staged: Path, layout: StackLayout, names: list[str], result: RestoreResult) -> None:
    if not (staged / "prometheus").is_dir():
        return
    first, *others = names
    for other in others:  # links to the files still in staging, before they move
        _replace_dir(staged / "prometheus", layout.data(other), link=True)
    _replace_dir(staged / "prometheus", layout.data(first))
    blocks = sum(1 for p in layout.data(first).iterdir() if (p / "meta.json").is_file())
    result.restored["prometheus"] = f"{blocks} TSDB blocks into {', '.join(names)}"


def _long_term(staged: Path, layout: StackLayout, result: RestoreResult) -> None:
    """A VictoriaMetrics snapshot, links followed, is a whole ``-storageDataPath``: moved into place."""
    if not (staged / "victoriametrics").is_dir():
        return
    _replace_dir(staged / "victoriametrics", layout.data("victoriametrics"))
    result.restored["victoriametrics"] = f"long-term store into {layout.data('victoriametrics')}"


def _silences(staged: Path, layout: StackLayout, names: list[str], result: RestoreResult) -> None:
    path = staged / "alertmanager" / "silences.json"
    if not path.is_file():
        return
    silences = json.loads(path.read_text())
    kept = {s["id"]: {k: s[k] for k in _SILENCE_FIELDS if k in s} for s in silences}
    write_json_atomic(layout.silences_file, kept)
    keeper = SilenceKeeper(layout.silences_file)
    for name in names:
        data = layout.data(name)
        (data / "nflog").unlink(missing_ok=True)  # notifications of the old state: let them go again
        keeper.write_snapshot_file(data)
    active = sum(1 for s in silences if s.get("status", {}).get("state") == "active")
    result.restored["silences"] = f"{len(silences)} ({active} active) into {', '.join(names)}"


def _moved_path(recorded: str, old_root: str, new_root: Path) -> Path:
    """A path that was inside the backed-up state dir, moved into this one (absolute ones elsewhere stay)."""
    path = Path(recorded)
    if old_root and path.is_relative_to(old_root):
        return new_root / path.relative_to(old_root)
    return path


def _databases(staged: Path, layout: StackLayout, manifest: dict[str, Any], result: RestoreResult) -> None:
    if (staged / "receiver" / "alerts.sqlite").is_file():
        _replace_file(staged / "receiver" / "alerts.sqlite", layout.alerts_db)
        result.restored["alert history"] = str(layout.alerts_db)
    logwatch = staged / "logwatch"
    if logwatch.is_dir():
        parts = manifest.get("parts", {}).get("logwatch", {})
        store = _moved_path(parts.get("store", ""), manifest.get("state_dir", ""), layout.root)
        if not parts.get("store"):
            store = layout.root / "logwatch" / "logs.db"
        for path in sorted(logwatch.iterdir()):
            target = store if path.name == "logs.db" else layout.root / "logwatch" / path.name
            _replace_file(path, target)
        result.restored["logwatch"] = f"store {store} and checkpoint"
    pushed = staged / "pushgateway" / "metrics.data"
    if pushed.is_file():
        _replace_file(pushed, layout.data("pushgateway") / "metrics.data")
        result.restored["pushgateway"] = "pushed metrics"


def _config(staged: Path, layout: StackLayout, result: RestoreResult) -> None:
    config = staged / "config"
    if config.is_dir():
        generation = layout.config_root / f"gen-{time.time_ns()}"
        _replace_dir(config, generation)
        activate(layout, generation)
        result.restored["config"] = f"compiled config as {generation.name} (tocsin up compiles the spec anew)"


def _spec(
    staged: Path, manifest: dict[str, Any], spec: Path | None, layout: StackLayout, result: RestoreResult
) -> None:
    parts = manifest.get("parts", {}).get("spec")
    folder = staged / "spec"
    if not parts or not folder.is_dir():
        return
    target = spec or Path(parts["path"])
    archived = folder / parts["name"]
    if target.is_file() and target.read_bytes() == archived.read_bytes():
        result.restored["spec"] = f"{target} (unchanged)"
        return
    destination = target.parent
    if target.exists():
        destination = layout.root / "restored-spec"
        result.notes.append(
            f"{target} differs from the spec in the archive: kept yours; the archived one is in {destination}"
        )
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out = destination / (target.name if path == archived else path.relative_to(folder))
            out.parent.mkdir(parents=True, exist_ok=True)
            if not out.exists() or destination != target.parent:
                shutil.copyfile(path, out)
    result.restored["spec"] = str(destination / target.name)


def restore(
    archive: Path,
    layout: StackLayout,
    *,
    spec: Path | None = None,
    force: bool = False,
    ha: bool | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    """Verify ``archive`` and put it into ``layout`` (which no stack may run from)."""
    if not archive.is_file():
        raise UsageError(f"{archive}: no such backup file")
    alive = running_processes(layout)
    if alive:
        names = ", ".join(f"{r.name} (pid {r.pid})" for r in alive[:4])
        raise StackError(f"a stack is running from {layout.root}: {names} (stop it with `tocsin down` first)")
    lock = StateLock.acquire(layout)
    staged = layout.root / f".restore-{os.getpid()}"
    try:
        replaced = existing_state(layout)
        if replaced and not force:
            raise UsageError(
                f"{layout.root} already holds {'; '.join(replaced)}: a restore replaces them "
                "(pass --force, or restore into an empty state dir)"
            )
        shutil.rmtree(staged, ignore_errors=True)
        manifest = ArchiveReader(archive, progress).extract(staged)
        pair = bool(manifest.get("ha")) if ha is None else ha
        result = RestoreResult(layout.root, manifest)
        _prometheus(staged, layout, ["prometheus-0", "prometheus-1"] if pair else ["prometheus"], result)
        _silences(staged, layout, ["alertmanager-0", "alertmanager-1"] if pair else ["alertmanager"], result)
        _long_term(staged, layout, result)
        _databases(staged, layout, manifest, result)
        _config(staged, layout, result)
        _spec(staged, manifest, spec, layout, result)
        return result
    finally:
        shutil.rmtree(staged, ignore_errors=True)
        lock.release()
