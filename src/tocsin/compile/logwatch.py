"""The spec's ``logs:`` section → ``logwatch/logwatch.json``, the plain config the log watcher runs on.

Durations become seconds; relative paths stay relative to the spec's directory (``base_dir``).
``directory_size_interval`` defaults to the scrape interval, so a profile that scrapes every second
(``fast``) measures log directories every second too. The format is documented in
:mod:`tocsin.logwatch.config`, which reads it; this module does not import the watcher.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tocsin.spec import LogsSection, Spec, duration_seconds

__all__ = ["CONFIG_PATH", "emit", "watch_config"]

#: Where the watcher's config sits in the bundle.
CONFIG_PATH = "logwatch/logwatch.json"


def _section(spec: Spec) -> LogsSection | None:
    logs: Any = spec.logs
    if logs is None or isinstance(logs, LogsSection):
        return logs
    return LogsSection.model_validate(logs)


def watch_config(section: LogsSection, *, base_dir: str, scrape_interval: str = "15s") -> dict[str, Any]:
    """The watcher's JSON config for ``section``, whose relative paths are relative to ``base_dir``."""
    data = section.model_dump(mode="json")
    store = data["store"]
    store["retention"] = duration_seconds(section.store.retention)
    store["compact_every"] = duration_seconds(section.store.compact_every)
    if section.loki is not None:
        data["loki"]["batch_wait"] = duration_seconds(section.loki.batch_wait)
    data["poll_interval"] = duration_seconds(section.poll_interval)
    data["directory_size_interval"] = duration_seconds(section.directory_size_interval or scrape_interval)
    return {"version": 1, "base_dir": base_dir, **data}


def emit(spec: Spec, *, ha: bool = False) -> dict[str, str]:
    """``{CONFIG_PATH: json}`` when the spec has a ``logs:`` section, else nothing."""
    section = _section(spec)
    if section is None:
        return {}
    base_dir = os.path.abspath(os.path.dirname(spec.source) or ".")
    config = watch_config(section, base_dir=base_dir, scrape_interval=spec.scrape.interval)
    return {CONFIG_PATH: json.dumps(config, indent=2, ensure_ascii=False) + "\n"}
