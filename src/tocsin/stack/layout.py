"""Where a stack keeps its state: ``.tocsin/`` by default, kept across ``down``/``up``.

::

    .tocsin/
      config/current -> gen-…   the active generated configs
      data/<component>/         TSDB, silences, pushed metrics
      logs/<component>.log      each process's output
      run/                      plan.json, state.json, one pid file per process
      alerts.sqlite             the receiver's history
      silences.json             the supervisor's copy of the live silences
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["StackLayout"]


@dataclass(frozen=True)
class StackLayout:
    """The paths of one state dir (``root``); nothing here touches the disk but :meth:`make`."""

    root: Path

    @property
    def config_root(self) -> Path:
        return self.root / "config"

    @property
    def current(self) -> Path:
        """Symlink to the active config generation, swapped atomically on reload."""
        return self.config_root / "current"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def state_file(self) -> Path:
        return self.run / "state.json"

    @property
    def plan_file(self) -> Path:
        return self.run / "plan.json"

    @property
    def alerts_db(self) -> Path:
        return self.root / "alerts.sqlite"

    @property
    def silences_file(self) -> Path:
        return self.root / "silences.json"

    def data(self, name: str) -> Path:
        return self.root / "data" / name

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def make(self) -> None:
        for path in (self.config_root, self.logs, self.run, self.root / "data"):
            path.mkdir(parents=True, exist_ok=True)
