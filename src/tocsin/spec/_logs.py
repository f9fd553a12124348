"""The ``logs:`` section: which files the log watcher follows, which patterns count what, where lines go.

The same :class:`LogsSection` is the spec's ``logs:`` and the whole of a standalone
``logwatch.yaml``. Durations are the spec's own (``250ms``, ``30s``, ``1h30m``, ``7d``). The compiler
turns it into the watcher's plain JSON config (``tocsin.compile.logwatch``); the watcher never sees
this model. A complete example (seed 003, the MongoDB order archiver)::

    files:
      - path: logs/*.log
        source: archiver
        level: '\\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\\]'
    patterns:
      - {name: orders_archived, regex: '✅ Archived (?P<count>\\d+) orders', value: count}
      - {name: change_stream_opened, regex: '✅ Change Stream opened successfully'}
      - {name: connection_errors, regex: '❌ Failed to connect to MongoDB'}
    directories:
      - path: logs
    store: {retention: 7d}
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tocsin.spec._types import Duration, StrictModel

__all__ = [
    "LOG_LEVELS",
    "LogDirectory",
    "LogFile",
    "LogPattern",
    "LogStore",
    "LogsSection",
    "LokiShipping",
    "counter_name",
]

#: Log levels from least to most severe (the watcher also accepts WARN, FATAL, ... in lines).
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LEVEL_ALIASES = {
    "WARN": "WARNING",
    "FATAL": "CRITICAL",
    "ERR": "ERROR",
    "TRACE": "DEBUG",
    "CRIT": "CRITICAL",
}
_METRIC_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MAX_REGEX = 10_000  # characters: a regex is compiled by three engines, and by the watcher at start


def _compiled(value: str) -> re.Pattern[str]:
    if len(value) > _MAX_REGEX:
        raise ValueError(f"regular expression longer than {_MAX_REGEX} characters: split it into patterns")
    try:
        return re.compile(value)
    except (re.error, RecursionError, OverflowError) as err:
        raise ValueError(
            f"invalid regular expression ({err}): in YAML, write regexes in single quotes so backslashes "
            "stay as they are"
        ) from None


def counter_name(name: str, metric: str | None) -> str:
    """The counter a pattern exposes: ``<metric or name>`` with exactly one ``_total`` suffix."""
    base = metric or name
    return base if base.endswith("_total") else base + "_total"


class LogFile(StrictModel):
    """Files to follow: a path or glob, listed on every poll with its rotated siblings (``app.log.1``)."""

    path: str = Field(description="file or glob; relative paths are relative to the file that names them")
    exclude: list[str] = Field(default_factory=list, description="file-name globs to skip, e.g. ['*.tmp']")
    source: str = Field(
        "", description="the `source` label of this file's line counters (default: file stem)"
    )
    format: Literal["text", "json"] = "text"
    level: str | None = Field(
        None, description="text only: regex with a (?P<level>...) group finding the level"
    )
    level_key: str = Field("level", description="json only: key holding the level")
    message_key: str = Field("message", description="json only: key holding the message (for the store)")
    from_end: bool = Field(False, description="start files seen for the first time at their end")

    @field_validator("level")
    @classmethod
    def _level_has_group(cls, value: str | None) -> str | None:
        if value is not None and "level" not in _compiled(value).groupindex:
            raise ValueError("the level regex needs a named group (?P<level>...)")
        return value


class LogPattern(StrictModel):
    """A named regex: each matching line adds 1 (or the number captured by ``value``) to a counter.

    Named groups other than ``value`` become labels; past ``max_series`` label sets, new ones are
    counted in one ``overflow`` series.
    """

    name: str
    regex: str
    value: str | None = Field(None, description="named group whose number is added instead of 1")
    metric: str | None = Field(None, description="counter name (default: <name>_total)")
    help: str = ""
    sources: list[str] = Field(default_factory=list, description="only lines of these sources (default: all)")
    max_series: int = Field(1000, ge=1, le=1_000_000)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        _compiled(value)
        return value

    @field_validator("name", "metric")
    @classmethod
    def _snake(cls, value: str | None) -> str | None:
        if value is not None and not _METRIC_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a metric name: letters, digits and _, not starting with a digit"
            )
        return value

    @model_validator(mode="after")
    def _value_group_exists(self) -> LogPattern:
        if self.value is not None and self.value not in _compiled(self.regex).groupindex:
            raise ValueError(f"the regex has no named group {self.value!r}: add (?P<{self.value}>\\d+) to it")
        return self


class LogDirectory(StrictModel):
    """A directory whose total size is exposed as ``log_directory_size_bytes{path=...}``."""

    path: str


class LogStore(StrictModel):
    """The embedded searchable log store (SQLite + FTS5) queried by ``tocsin logs``."""

    enabled: bool = True
    path: str | None = Field(None, description="database file (default: <state-dir>/logs.db)")
    min_level: str = Field("DEBUG", description="keep lines at or above this level")
    retention: Duration = "7d"
    compact_every: Duration = "1h"

    @field_validator("min_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        level = _LEVEL_ALIASES.get(level, level)
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown level {value!r}: one of {', '.join(LOG_LEVELS)}")
        return level


class LokiShipping(StrictModel):
    """Optional shipping to Loki's HTTP push API, batched, retried with backoff."""

    url: str = Field(description="base URL, e.g. http://127.0.0.1:3100 (the push path is added)")
    labels: dict[str, str] = Field(default_factory=dict)
    batch_size: int = Field(1000, ge=1, le=1_000_000)
    batch_wait: Duration = "1s"
    tenant: str | None = None
    password_file: str | None = Field(None, description="basic-auth password read from this file")
    username: str | None = None


class LogsSection(StrictModel):
    """The whole ``logs:`` section (or a standalone ``logwatch.yaml``)."""

    files: list[LogFile]
    patterns: list[LogPattern] = Field(default_factory=list)
    directories: list[LogDirectory] = Field(default_factory=list)
    store: LogStore = LogStore()
    loki: LokiShipping | None = None
    poll_interval: Duration = "250ms"
    directory_size_interval: Duration | None = Field(
        None, description="at most this long between two measures (default: the scrape interval)"
    )

    @field_validator("files")
    @classmethod
    def _some_files(cls, value: list[LogFile]) -> list[LogFile]:
        if not value:
            raise ValueError("no files to follow: add at least one `- path: logs/*.log`")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> LogsSection:
        seen: set[str] = set()
        for pattern in self.patterns:
            name = counter_name(pattern.name, pattern.metric)
            if name in seen:
                raise ValueError(f"two patterns produce the counter {name!r}: rename one")
            seen.add(name)
        return self
