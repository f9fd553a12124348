"""The watcher's runtime configuration: plain frozen values, read from one JSON file.

The ``logs:`` section a person writes (in the spec, or in a standalone ``logwatch.yaml``) is
validated by the spec's model, :class:`tocsin.spec.LogsSection`, every mistake at its line. It is
then compiled into this plain form — durations in seconds, counter names resolved — which ``tocsin
up`` writes as ``logwatch/logwatch.json`` and starts ``python -m tocsin.logwatch --config`` on. So
the watcher process imports no pydantic and no YAML parser, and no layer above it.

The file, field by field (every key but ``files`` may be left out)::

    {"version": 1,
     "base_dir": "/srv/app",                      # relative paths below are relative to it
     "files": [{"path": "logs/*.log", "exclude": ["*.tmp"], "source": "archiver", "format": "text",
                "level": "\\\\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\\\\]",
                "level_key": "level", "message_key": "message", "from_end": false}],
     "patterns": [{"name": "orders_archived", "regex": "Archived (?P<count>\\\\d+) orders",
                   "value": "count", "metric": null, "help": "", "sources": [], "max_series": 1000}],
     "directories": [{"path": "logs"}],
     "store": {"enabled": true, "path": null, "min_level": "DEBUG",
               "retention": 604800, "compact_every": 3600},
     "loki": null,
     "poll_interval": 0.25, "directory_size_interval": 15}

A file that does not have this shape raises :class:`~tocsin.errors.UsageError` naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

from tocsin.errors import UsageError

from ._levels import LEVELS, level_rank, normalize_level

__all__ = [
    "LEVELS",
    "DirectoryConfig",
    "FileConfig",
    "LogsConfig",
    "LokiConfig",
    "PatternConfig",
    "StoreConfig",
    "config_from_dict",
    "level_rank",
    "load_config",
    "normalize_level",
]

#: The version of the JSON form this watcher reads.
VERSION = 1
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _regex(value: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except (re.error, RecursionError, OverflowError) as err:
        raise ValueError(f"{what}: invalid regular expression: {err}") from None


@dataclass(frozen=True)
class FileConfig:
    """Files to follow: one path or glob, listed again on every poll (with their rotated siblings)."""

    path: str
    exclude: tuple[str, ...] = ()
    source: str = ""
    format: Literal["text", "json"] = "text"
    level: str | None = None  # text: a regex with a (?P<level>...) group
    level_key: str = "level"
    message_key: str = "message"
    from_end: bool = False

    def __post_init__(self) -> None:
        if self.format not in ("text", "json"):
            raise ValueError(f"format: {self.format!r} is not text or json")
        if self.level is not None and "level" not in _regex(self.level, "level").groupindex:
            raise ValueError("level: the regex needs a named group (?P<level>...)")


@dataclass(frozen=True)
class PatternConfig:
    """A named regex: each line it matches adds 1 (or the number captured by ``value``) to a counter.

    Named groups other than ``value`` become labels; past ``max_series`` label sets, new ones are
    counted in one ``overflow`` series.
    """

    name: str
    regex: str
    value: str | None = None
    metric: str | None = None
    help: str = ""
    sources: tuple[str, ...] = ()
    max_series: int = 1000

    def __post_init__(self) -> None:
        for key in ("name", "metric"):
            value = getattr(self, key)
            if value is not None and not _NAME.match(value):
                raise ValueError(f"{key}: {value!r} is not a metric name")
        groups = _regex(self.regex, "regex").groupindex
        if self.value is not None and self.value not in groups:
            raise ValueError(f"value: the regex has no named group {self.value!r}")
        if self.max_series < 1:
            raise ValueError("max_series: must be at least 1")

    @cached_property
    def counter_name(self) -> str:
        """The exposed counter: ``<metric or name>`` with exactly one ``_total`` suffix."""
        base = self.metric or self.name
        return base if base.endswith("_total") else base + "_total"

    @cached_property
    def label_names(self) -> tuple[str, ...]:
        groups = re.compile(self.regex).groupindex
        return tuple(sorted((g for g in groups if g != self.value), key=groups.__getitem__))


@dataclass(frozen=True)
class DirectoryConfig:
    """A directory whose total size is exposed (seed 003 alerts when ``logs/`` passes 1 GB)."""

    path: str


@dataclass(frozen=True)
class StoreConfig:
    """The embedded searchable log store (SQLite + FTS5) queried by ``tocsin logs``."""

    enabled: bool = True
    path: str | None = None  # default: <state-dir>/logs.db
    min_level: str = "DEBUG"
    retention: float = 7 * 86400.0  # seconds
    compact_every: float = 3600.0

    def __post_init__(self) -> None:
        if normalize_level(self.min_level) not in LEVELS:
            raise ValueError(f"min_level: unknown level {self.min_level!r} (one of {', '.join(LEVELS)})")


@dataclass(frozen=True)
class LokiConfig:
    """Optional shipping to Loki's HTTP push API, batched, retried with backoff."""

    url: str
    labels: dict[str, str] = field(default_factory=dict)
    batch_size: int = 1000
    batch_wait: float = 1.0  # seconds
    tenant: str | None = None
    password_file: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class LogsConfig:
    """Everything the watcher runs on."""

    files: tuple[FileConfig, ...]
    patterns: tuple[PatternConfig, ...] = ()
    directories: tuple[DirectoryConfig, ...] = ()
    store: StoreConfig = StoreConfig()
    loki: LokiConfig | None = None
    poll_interval: float = 0.25  # seconds
    directory_size_interval: float = 15.0  # seconds between measures, at most (also on each scrape)
    base_dir: str = "."

    def __post_init__(self) -> None:
        if not self.files:
            raise ValueError("files: no files to follow")
        seen: set[str] = set()
        for pattern in self.patterns:
            if pattern.counter_name in seen:
                raise ValueError(f"patterns: two patterns produce the counter {pattern.counter_name!r}")
            seen.add(pattern.counter_name)


T = TypeVar("T")


def _value(annotation: Any, data: object, where: str) -> Any:
    """``data`` checked against ``annotation`` (the few types the config uses), built into it."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(annotation)
        if data is None and type(None) in options:
            return None
        (inner,) = (a for a in options if a is not type(None))
        return _value(inner, data, where)
    if origin is Literal:
        if data not in typing.get_args(annotation):
            raise ValueError(f"{where}: {data!r} is not one of {typing.get_args(annotation)}")
        return data
    if origin is tuple:
        if not isinstance(data, list | tuple):
            raise ValueError(f"{where}: expected a list, not {type(data).__name__}")
        inner = typing.get_args(annotation)[0]
        return tuple(_value(inner, item, f"{where}[{i}]") for i, item in enumerate(data))
    if origin is dict:
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{where}: expected an object of strings")
        return {str(k): v for k, v in data.items()}
    if dataclasses.is_dataclass(annotation):
        return _build(typing.cast(type[Any], annotation), data, where)
    if annotation is float:
        if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data) or data < 0:
            raise ValueError(f"{where}: expected a number of seconds, not {data!r}")
        return float(data)
    if annotation is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError(f"{where}: expected an integer, not {data!r}")
        return data
    if not isinstance(data, annotation):
        raise ValueError(f"{where}: expected {annotation.__name__}, not {type(data).__name__}")
    return data


def _build(cls: type[T], data: object, where: str) -> T:
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'the config'}: expected an object, not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known - ({"version"} if not where else set()))
    if unknown:
        raise ValueError(f"{where or 'the config'}: unknown key {unknown[0]!r}")
    values = {k: _value(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items() if k in known}
    try:
        return cls(**values)
    except TypeError as err:  # a required key is missing
        raise ValueError(f"{where or 'the config'}: {err}") from None
    except ValueError as err:
        raise ValueError(f"{where}.{err}" if where else str(err)) from None


def config_from_dict(data: object) -> LogsConfig:
    """The JSON form (see the module docstring) → :class:`LogsConfig`; ValueError naming the key."""
    if isinstance(data, dict) and data.get("version", VERSION) != VERSION:
        raise ValueError(f"version: {data.get('version')!r} (this watcher reads version {VERSION})")
    return _build(LogsConfig, data, "")


def config_to_dict(config: LogsConfig) -> dict[str, Any]:
    """:class:`LogsConfig` → its JSON form."""
    return {"version": VERSION, **dataclasses.asdict(config)}


def load_config(path: str | Path) -> LogsConfig:
    """Read the compiled JSON config; :class:`~tocsin.errors.UsageError` if it is not one."""
    try:
        text = Path(path).read_bytes()
    except OSError as err:
        raise UsageError(f"{path}: cannot read the logwatch config: {err.strerror}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise UsageError(
            f"{path}: not a compiled logwatch config (JSON); a YAML file is read by "
            "`tocsin logwatch --config FILE`"
        ) from None
    try:
        config = config_from_dict(data)
    except (ValueError, RecursionError) as err:
        raise UsageError(f"{path}: {err} (see docs/logwatch.md, 'The compiled config')") from None
    if config.base_dir == ".":
        config = dataclasses.replace(config, base_dir=str(Path(path).resolve().parent))
    return config
