"""What a check is and what it returns: :class:`Check`, :class:`Observation`, :class:`CheckResult`.

A check is an async callable with a name, a timeout and a ``critical`` flag.
It *passes* by returning (an :class:`Observation` or ``None``) and *fails* by
raising: any exception, :class:`CheckFailed` when the check itself decided
(a threshold crossed). The runner turns every outcome, including a timeout or
a crash, into a :class:`CheckResult`, so a broken check is a failed check and
never a 500 nor a 200 with a stack trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_TIMEOUT",
    "BaseCheck",
    "Check",
    "CheckFailed",
    "CheckResult",
    "CheckStatus",
    "Observation",
]

#: Seconds a check may take before it counts as failed (the issue's default).
DEFAULT_TIMEOUT = 2.0

#: ``up``: fine; ``warn``: works but close to a limit; ``down``: failed.
CheckStatus = Literal["up", "warn", "down"]


@dataclass(frozen=True)
class Observation:
    """What a passing check saw: an optional value with its unit, and ``warn`` when near a limit."""

    value: float | str | None = None
    unit: str | None = None
    status: Literal["up", "warn"] = "up"
    output: str | None = None


class CheckFailed(Exception):
    """Raised by a check that ran fine but found its dependency unhealthy (a threshold crossed).

    ``value``/``unit`` are still reported, so a dashboard shows *how* bad.
    """

    def __init__(self, message: str, *, value: float | str | None = None, unit: str | None = None) -> None:
        super().__init__(message)
        self.value = value
        self.unit = unit


@runtime_checkable
class Check(Protocol):
    """The check protocol. ``component_type`` and ``measurement`` name it in ``application/health+json``.

    ``secrets`` are literal strings (a DSN password) the check knows it handles:
    they are cut out of any error text before it leaves the process.
    """

    name: str
    critical: bool
    timeout: float | None
    component_type: str
    measurement: str
    secrets: tuple[str, ...]

    async def __call__(self) -> Observation | None: ...


class BaseCheck:
    """Common fields of the built-in checks; subclass and implement :meth:`__call__`.

    ``timeout=None`` takes the runner's default. ``connect_timeout`` is given to
    drivers that can bound connection set-up separately: a dependency that
    accepts TCP but never answers must not hold a thread or a socket for minutes.
    """

    component_type = "component"
    measurement = "status"

    def __init__(
        self,
        name: str,
        *,
        critical: bool = True,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        if not name:
            raise ValueError("a check needs a non-empty name")
        self.name = name
        self.critical = critical
        self.timeout = timeout
        self._connect_timeout = connect_timeout
        self.secrets = tuple(s for s in secrets if s)

    def connect_timeout(self) -> float:
        """The connect timeout: the explicit one, else the check timeout, else the default."""
        if self._connect_timeout is not None:
            return self._connect_timeout
        return self.timeout if self.timeout is not None else DEFAULT_TIMEOUT

    async def __call__(self) -> Observation | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        # Never the DSN or the client: reprs end up in logs and tracebacks.
        return f"<{type(self).__name__} {self.name!r} critical={self.critical}>"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check run. ``output`` is redacted; ``error`` is the raw text, for logs only."""

    name: str
    status: CheckStatus
    critical: bool
    duration_seconds: float
    time: str
    component_type: str = "component"
    measurement: str = "status"
    value: float | str | None = None
    unit: str | None = None
    output: str | None = None
    error: str | None = field(default=None, repr=False)
    cached: bool = False

    @property
    def up(self) -> bool:
        """``True`` unless the check failed (``warn`` counts as up)."""
        return self.status != "down"
