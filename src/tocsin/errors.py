"""The one exception hierarchy of tocsin.

Every error a user can cause is a :class:`TocsinError`; the CLI prints it as
``tocsin: <message>`` and exits with its :attr:`~TocsinError.exit_code`
(2 for usage, configuration and spec errors) without a traceback unless
``--debug`` is given.

::

    TocsinError
    ├── ConfigurationError     misuse of the SDK (configure() too late, bad names, ...)
    ├── UsageError             bad command-line arguments or environment
    ├── SpecError              one or more problems in a spec or config file, each with file:line
    ├── CheckError             a generated artefact rejected by promtool/amtool
    └── StackError             a component could not start, a port is taken, ...
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "CheckError",
    "ConfigurationError",
    "Problem",
    "SpecError",
    "StackError",
    "TocsinError",
    "UsageError",
    "brief",
]


def brief(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters with an ellipsis: a message quotes what was wrong
    without pasting a 60 MB value (or a 5,000-term expression) into the terminal."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


class TocsinError(Exception):
    """Base class: something the user can fix. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1


class ConfigurationError(TocsinError, ValueError):
    """The SDK was configured or used in a way that cannot work."""

    exit_code = 2


class UsageError(TocsinError):
    """Bad command-line arguments, missing binaries or environment."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One problem at one place: ``file:line:column: message (hint)``.

    ``line`` and ``column`` are 1-based; 0 means unknown.
    """

    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class SpecError(TocsinError):
    """A spec (or logwatch/config) file has problems; all of them are carried, sorted by position."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = sorted(problems)
        super().__init__("\n".join(f"{p}" for p in self.problems))

    def lines(self) -> list[str]:
        """One ``tocsin: file:line: message`` line per problem, as the CLI prints them."""
        return [f"tocsin: {p}" for p in self.problems]


class CheckError(TocsinError):
    """A generated artefact was rejected by Prometheus's own tools (promtool, amtool)."""

    exit_code = 2


class StackError(TocsinError):
    """The local stack could not do what was asked (port in use, binary missing, not ready in time)."""

    exit_code = 2
