"""Keep Alertmanager silences across a crash.

Alertmanager snapshots silences to disk every 15 minutes and at a clean shutdown only, so a ``kill -9``
loses every silence created since the last snapshot (a silenced page would fire again after a restart).
The supervisor therefore copies the silences to ``.tocsin/silences.json`` about once a second and,
before restarting a lone Alertmanager, writes them back as its snapshot file, so they return with their
ids. Anything still missing once it is ready is re-created through the API (with a new id). Clustered
Alertmanagers get them back from their peer by gossip, so neither happens while a peer is alive.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tocsin.stack._amsnapshot import encode_snapshot
from tocsin.stack._http import json_request
from tocsin.stack.state import write_json_atomic

__all__ = ["SilenceKeeper", "saved_silences"]

_POSTABLE = ("matchers", "startsAt", "endsAt", "createdBy", "comment")
_KEPT = ("id", "status", "updatedAt", *_POSTABLE)


def _active(silence: dict[str, Any]) -> bool:
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    return silence["status"]["state"] != "expired" and ends > datetime.now(UTC)


def saved_silences(path: Path) -> dict[str, dict[str, Any]]:
    """The silences last copied from Alertmanager (expired ones too), by id."""
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


class SilenceKeeper:
    """Copies silences to a file and gives them back to a restarted Alertmanager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved = saved_silences(path)

    def _live(self, url: str) -> list[dict[str, Any]]:
        return json_request("GET", f"{url}/api/v2/silences")  # type: ignore[no-any-return]

    def snapshot(self, url: str) -> None:
        """Save what this Alertmanager holds now."""
        live = {s["id"]: {k: s[k] for k in _KEPT if k in s} for s in self._live(url)}
        if live != self._saved:
            self._saved = live
            write_json_atomic(self.path, live)

    def write_snapshot_file(self, data_dir: Path) -> int:
        """Replace Alertmanager's ``silences`` file (before it starts); returns how many it holds."""
        if not self._saved:
            return 0
        data_dir.mkdir(parents=True, exist_ok=True)
        target = data_dir / "silences"
        tmp = target.with_name(f".silences.{os.getpid()}.tmp")
        tmp.write_bytes(encode_snapshot(self._saved.values()))
        tmp.replace(target)
        return len(self._saved)

    def restore(self, url: str) -> int:
        """Re-create active saved silences this Alertmanager lacks (new ids); returns how many."""
        present = {s["id"] for s in self._live(url)}
        restored = 0
        for sid, silence in list(self._saved.items()):
            if sid in present or not _active(silence):
                continue
            created = json_request("POST", f"{url}/api/v2/silences", {k: silence[k] for k in _POSTABLE})
            self._saved.pop(sid)
            self._saved[created["silenceID"]] = {**silence, "id": created["silenceID"]}
            restored += 1
        if restored:
            write_json_atomic(self.path, self._saved)
        return restored
