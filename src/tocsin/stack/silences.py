"""Keep Alertmanager silences across a crash.

Alertmanager snapshots silences to disk every 15 minutes and at a clean shutdown only, so a ``kill -9``
loses every silence created since the last snapshot (a silenced page would fire again after a restart).
The supervisor therefore copies the live silences to ``.tocsin/silences.json`` about once a second and,
when a lone Alertmanager comes back, re-creates the ones it lost. Clustered Alertmanagers get them back
from their peer by gossip, so nothing is re-created while a peer is alive. A re-created silence keeps its
matchers, times, author and comment; Alertmanager gives it a new id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tocsin.stack._http import json_request
from tocsin.stack.state import write_json_atomic

__all__ = ["SilenceKeeper", "saved_silences"]

_FIELDS = ("matchers", "startsAt", "endsAt", "createdBy", "comment")


def _ends_in_future(silence: dict[str, Any]) -> bool:
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    return ends > datetime.now(UTC)


def saved_silences(path: Path) -> dict[str, dict[str, Any]]:
    """The silences last copied from Alertmanager, by id."""
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


class SilenceKeeper:
    """Copies live silences to a file and restores the lost ones into a restarted Alertmanager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved = saved_silences(path)

    def _live(self, url: str) -> list[dict[str, Any]]:
        return [s for s in json_request("GET", f"{url}/api/v2/silences") if s["status"]["state"] != "expired"]

    def snapshot(self, url: str) -> None:
        """Save what this Alertmanager holds now (expired ones are dropped)."""
        live = {s["id"]: {k: s[k] for k in _FIELDS} for s in self._live(url)}
        if live != self._saved:
            self._saved = live
            write_json_atomic(self.path, live)

    def restore(self, url: str) -> int:
        """Re-create saved silences this Alertmanager lacks; returns how many."""
        present = {s["id"] for s in self._live(url)}
        restored = 0
        for sid, silence in list(self._saved.items()):
            if sid in present or not _ends_in_future(silence):
                continue
            created = json_request("POST", f"{url}/api/v2/silences", silence)
            self._saved.pop(sid)
            self._saved[created["silenceID"]] = silence
            restored += 1
        if restored:
            write_json_atomic(self.path, self._saved)
        return restored
