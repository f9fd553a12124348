"""Runbooks kept next to the spec: ``runbook: runbooks/auth-failures.md``.

An alert's (an SLO's, a pack alert's) ``runbook`` is either a URL, used as it is, or the path of a
Markdown file relative to the spec's directory. A local runbook must exist (``tocsin check`` says so
at its line); the console serves it as a page, ``/runbooks/<stem>``, and the compiled
``runbook_url`` annotation links there when the spec runs a console (as ``dashboard_url`` does),
else it is the path as written. Two different files may not share a stem (one URL each).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tocsin.spec._model import Spec

__all__ = [
    "MAX_RUNBOOK_BYTES",
    "check_runbooks",
    "is_local_runbook",
    "runbook_file",
    "runbook_slug",
    "runbook_url",
    "spec_runbooks",
]

#: A runbook larger than this is refused (it is read into the console's view model).
MAX_RUNBOOK_BYTES = 1024 * 1024
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SUFFIXES = (".md", ".markdown")
_SLUG = re.compile(r"[^a-z0-9_-]+")

Loc = tuple[str | int, ...]


def is_local_runbook(runbook: str | None) -> bool:
    """A Markdown file next to the spec (not a URL such as ``https://...`` or ``mailto:``)."""
    return bool(runbook) and not _URL.match(runbook or "") and (runbook or "").lower().endswith(_SUFFIXES)


def runbook_slug(runbook: str) -> str:
    """A local runbook's page name: its file stem, lower case (``Auth Failures.md`` → ``auth-failures``)."""
    stem = Path(runbook).name.rsplit(".", 1)[0].lower()
    return _SLUG.sub("-", stem).strip("-") or "runbook"


def runbook_file(spec: Spec, runbook: str) -> Path:
    """Where a local runbook is: relative to the spec's directory (the working directory without one)."""
    base = Path(spec.source).parent if spec.source else Path.cwd()
    return (base / runbook).resolve()


def runbook_url(spec: Spec, runbook: str) -> str:
    """The link an alert carries: a URL as it is; a local runbook's console page when the spec runs a
    console, else its path as written."""
    if not is_local_runbook(runbook):
        return runbook
    console = spec.stack.console
    if console.enabled:
        return f"http://{spec.stack.host}:{console.port}/runbooks/{runbook_slug(runbook)}"
    return runbook


def _used(spec: Spec) -> Iterator[tuple[Loc, str, str]]:
    """``(where, runbook, alert or SLO name)`` for every runbook the spec names."""
    for index, alert in enumerate(spec.alerts):
        if alert.runbook:
            yield ("alerts", index, "runbook"), alert.runbook, alert.name
    for index, slo in enumerate(spec.slos):
        if slo.runbook:
            yield ("slos", index, "runbook"), slo.runbook, slo.name
    for name, service in spec.services.items():
        if service.down.runbook:
            yield ("services", name, "down", "runbook"), service.down.runbook, "TargetDown"


def spec_runbooks(spec: Spec) -> dict[str, tuple[Path, list[str]]]:
    """Every local runbook: ``{slug: (file, [the alerts and SLOs naming it])}``."""
    found: dict[str, tuple[Path, list[str]]] = {}
    for _loc, runbook, name in _used(spec):
        if is_local_runbook(runbook):
            _path, users = found.setdefault(runbook_slug(runbook), (runbook_file(spec, runbook), []))
            if name not in users:
                users.append(name)
    return found


def check_runbooks(spec: Spec) -> Iterator[tuple[Loc, str, str]]:
    """Every local runbook exists, is a readable UTF-8 file of at most 1 MiB (said once per file, at
    its first use); two different files never share a page name."""
    files: dict[str, Path] = {}
    for loc, runbook, _name in _used(spec):
        if not is_local_runbook(runbook):
            continue
        path = runbook_file(spec, runbook)
        slug = runbook_slug(runbook)
        if slug in files:
            if files[slug] != path:
                message = f"runbook {runbook!r} has the page name {slug!r} of another runbook"
                yield loc, message, "rename one of them"
            continue
        files[slug] = path
        problem = _readable(path)
        if problem:
            yield (
                loc,
                f"runbook {runbook!r} {problem}",
                "write that Markdown file, relative to the spec's directory, or give a URL such as https://...",
            )


def _readable(path: Path) -> str:
    """What is wrong with the file, in words that do not depend on where the checkout is."""
    try:
        if not path.is_file():
            return "is not a file" if path.exists() else "does not exist"
        size = path.stat().st_size
        if size > MAX_RUNBOOK_BYTES:
            return f"is {size} bytes, more than {MAX_RUNBOOK_BYTES}"
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    return ""
