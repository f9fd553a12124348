"""The ``logs:`` model: which files to follow, which patterns count what, where lines are kept.

The same :class:`LogsConfig` is the spec's ``logs:`` section and the whole of a
standalone ``logwatch.yaml``; :func:`load_config` reads the latter with line
numbers so every mistake is reported as ``file:line:col: what (how to fix)``,
all of them at once, as :class:`~tocsin.errors.SpecError`.

A complete example (seed 003, the MongoDB order archiver)::

    files:
      - path: logs/*.log
        source: archiver
        level: '\\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\\]'
    patterns:
      - {name: orders_archived, regex: '✅ Archived (?P<count>\\d+) orders', value: count}
      - {name: change_stream_opened, regex: '✅ Change Stream opened successfully'}
      - {name: database_connected, regex: '✅ Connected to database'}
      - {name: orders_incomplete, regex: '⚠️  Order .+ is incomplete'}
      - {name: orders_duplicates, regex: '⚠️  Order .+ already archived'}
      - {name: resume_token_load_failures, regex: '⚠️  Could not load resume token'}
      - {name: connection_errors, regex: '❌ Failed to connect to MongoDB'}
      - {name: order_enrich_errors, regex: '❌ Error enriching order'}
      - {name: change_stream_errors, regex: '❌ Change Stream error'}
    directories:
      - path: logs
    store: {retention: 7d}
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tocsin.errors import Problem, SpecError

from ._yaml import plain, position, problems

__all__ = [
    "LEVELS",
    "DirectoryConfig",
    "FileConfig",
    "LogsConfig",
    "LokiConfig",
    "PatternConfig",
    "StoreConfig",
    "level_rank",
    "load_config",
    "normalize_level",
    "parse_duration",
    "validate_section",
]

#: Log levels from least to most severe; aliases (WARN, FATAL, lower case) are normalised to these.
LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LEVEL_ALIASES = {
    "WARN": "WARNING",
    "FATAL": "CRITICAL",
    "ERR": "ERROR",
    "TRACE": "DEBUG",
    "CRIT": "CRITICAL",
}
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str | float) -> float:
    """``"250ms"``, ``"1h"``, ``"7d"`` (or a number of seconds) → seconds."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (write e.g. 250ms, 30s, 5m, 1h, 7d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def normalize_level(text: str) -> str:
    """``warn`` → ``WARNING``; unknown names are kept upper-cased (they rank as INFO)."""
    upper = text.strip().upper()
    return _LEVEL_ALIASES.get(upper, upper)


def level_rank(level: str) -> int:
    """Position of ``level`` in :data:`LEVELS` (unknown levels rank as INFO)."""
    try:
        return LEVELS.index(level)
    except ValueError:
        return 1


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as err:
        raise ValueError(f"invalid regular expression: {err}") from None
    return value


def _valid_duration(value: str) -> str:
    parse_duration(value)
    return value


#: A duration written as ``250ms``, ``30s``, ``5m``, ``1h``, ``7d`` (checked, kept as written).
Duration = Annotated[str, AfterValidator(_valid_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileConfig(_Model):
    """Files to follow: one path or glob, re-expanded on every poll so files appearing later are picked up."""

    path: str = Field(description="file or glob; relative paths are relative to the config file")
    exclude: tuple[str, ...] = Field((), description="file-name globs to skip, e.g. ['*.gz']")
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
        if value is not None and "level" not in re.compile(_check_regex(value)).groupindex:
            raise ValueError("the level regex needs a named group (?P<level>...)")
        return value


class PatternConfig(_Model):
    """A named regex: each line it matches adds 1 (or the number captured by ``value``) to a counter.

    Named groups other than ``value`` become labels; past ``max_series`` label sets, new ones are
    counted in one ``overflow`` series.
    """

    name: str
    regex: str
    value: str | None = Field(None, description="named group whose number is added instead of 1")
    metric: str | None = Field(None, description="counter name (default: <name>_total)")
    help: str = ""
    sources: tuple[str, ...] = Field((), description="only lines of these sources (default: all)")
    max_series: int = Field(1000, ge=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return _check_regex(value)

    @field_validator("name", "metric")
    @classmethod
    def _snake(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError(
                f"{value!r} is not a metric name (letters, digits and _; not starting with a digit)"
            )
        return value

    @model_validator(mode="after")
    def _value_group_exists(self) -> PatternConfig:
        if self.value is not None and self.value not in re.compile(self.regex).groupindex:
            raise ValueError(
                f"value: the regex has no named group {self.value!r} (add (?P<{self.value}>\\d+))"
            )
        return self

    @cached_property
    def counter_name(self) -> str:
        """The exposed counter: ``<metric or name>`` with exactly one ``_total`` suffix."""
        base = self.metric or self.name
        return base if base.endswith("_total") else base + "_total"

    @cached_property
    def label_names(self) -> tuple[str, ...]:
        groups = re.compile(self.regex).groupindex
        return tuple(sorted((g for g in groups if g != self.value), key=groups.__getitem__))


class DirectoryConfig(_Model):
    """A directory whose total size is exposed (seed 003 alerts when ``logs/`` passes 1 GB)."""

    path: str


class StoreConfig(_Model):
    """The embedded searchable log store (SQLite + FTS5) queried by ``tocsin logs``."""

    enabled: bool = True
    path: str | None = Field(None, description="database file (default: <state-dir>/logs.db)")
    min_level: str = Field("DEBUG", description="keep lines at or above this level")
    retention: Duration = "7d"
    compact_every: Duration = "1h"

    @field_validator("min_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = normalize_level(value)
        if level not in LEVELS:
            raise ValueError(f"unknown level {value!r} (one of {', '.join(LEVELS)})")
        return level


class LokiConfig(_Model):
    """Optional shipping to Loki's HTTP push API, batched, retried with backoff."""

    url: str = Field(description="base URL, e.g. http://127.0.0.1:3100 (the push path is added)")
    labels: dict[str, str] = Field(default_factory=dict)
    batch_size: int = Field(1000, ge=1)
    batch_wait: Duration = "1s"
    tenant: str | None = None
    password_file: str | None = Field(None, description="basic-auth password read from this file")
    username: str | None = None


class LogsConfig(_Model):
    """The whole ``logs:`` section (or standalone ``logwatch.yaml``)."""

    files: tuple[FileConfig, ...]
    patterns: tuple[PatternConfig, ...] = ()
    directories: tuple[DirectoryConfig, ...] = ()
    store: StoreConfig = StoreConfig()
    loki: LokiConfig | None = None
    poll_interval: Duration = "250ms"
    directory_size_interval: Duration = "15s"

    @field_validator("files")
    @classmethod
    def _some_files(cls, value: tuple[FileConfig, ...]) -> tuple[FileConfig, ...]:
        if not value:
            raise ValueError("no files to follow (add at least one - path: logs/*.log)")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> LogsConfig:
        seen: set[str] = set()
        for pattern in self.patterns:
            if pattern.counter_name in seen:
                raise ValueError(f"two patterns produce the counter {pattern.counter_name!r} (rename one)")
            seen.add(pattern.counter_name)
        return self


def load_config(path: str | Path, section: str | None = None) -> LogsConfig:
    """Read a standalone ``logwatch.yaml`` (or the ``section`` key of a bigger file) into :class:`LogsConfig`.

    Raises :class:`~tocsin.errors.SpecError` listing every problem with its line and column.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(
            [Problem(file, 0, 0, f"cannot read: {err.strerror}", "check the --config path")]
        ) from None
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise SpecError(
            [Problem(file, line, col, f"not valid YAML: {err.problem}", "fix the YAML syntax")]
        ) from None
    if section is None:
        return validate_section(data, file)
    if not isinstance(data, dict) or section not in data:
        raise SpecError([Problem(file, 1, 1, f"no {section!r} section", f"add {section}:")])
    return validate_section(data, file, (section,))


def validate_section(root: Any, file: str, path: tuple[int | str, ...] = ()) -> LogsConfig:
    """Validate ``root[path...]`` of a document loaded with ruamel.yaml's round-trip loader.

    This is how the spec embeds the model: ``validate_section(spec_doc, "tocsin.yaml", ("logs",))``
    reports problems at their line and column in the spec file itself.
    """
    node = root
    for key in path:
        node = node[key]
    if not isinstance(node, dict):
        line, col = position(root, path)
        raise SpecError(
            [Problem(file, line, col, "expected a mapping with files: and patterns:", "see docs/logwatch.md")]
        )
    try:
        return LogsConfig.model_validate(plain(node))
    except ValidationError as err:
        raise SpecError(problems(file, root, err, path, LogsConfig)) from None
