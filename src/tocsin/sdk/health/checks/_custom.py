"""Wrap any function as a check: async ones are awaited, sync ones run in a thread with the context copied."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from .._check import BaseCheck, CheckFailed, Observation
from .._threads import ThreadGate

__all__ = ["CustomCheck", "custom"]

#: What a custom check function may return: ``None``/``True`` (up), ``False`` (down), an
#: :class:`Observation`, or a number (reported as the observed value).
CheckReturn = Observation | bool | float | int | None


class CustomCheck(BaseCheck):
    """A user function as a check. Raising (or returning ``False``) fails it."""

    def __init__(
        self,
        name: str,
        fn: Callable[[], CheckReturn] | Callable[[], Awaitable[CheckReturn]],
        *,
        critical: bool,
        timeout: float | None,
        component_type: str,
        measurement: str,
        unit: str | None,
    ) -> None:
        super().__init__(name, critical=critical, timeout=timeout)
        self.fn = fn
        self.component_type = component_type
        self.measurement = measurement
        self.unit = unit
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
        )
        self._gate = ThreadGate(name)

    async def __call__(self) -> Observation | None:
        if self._is_async:
            value: Any = await self.fn()  # type: ignore[misc]
        else:
            # Blocking user code must not stall the event loop; the thread sees the caller's contextvars.
            value = await self._gate.run(self.fn)
            if inspect.isawaitable(value):
                value = await value
        if value is None or value is True:
            return None
        if value is False:
            raise CheckFailed("the check function returned False")
        if isinstance(value, Observation):
            return value
        if isinstance(value, int | float):
            return Observation(value, self.unit)
        raise TypeError(f"a check function returns None, a bool, a number or an Observation, not {value!r}")


def custom(
    name: str,
    fn: Callable[[], CheckReturn] | Callable[[], Awaitable[CheckReturn]],
    *,
    critical: bool = True,
    timeout: float | None = None,
    component_type: str = "component",
    measurement: str = "status",
    unit: str | None = None,
) -> CustomCheck:
    """A check from a sync or async function (e.g. "the job queue is consumed", "the model is loaded")."""
    return CustomCheck(
        name,
        fn,
        critical=critical,
        timeout=timeout,
        component_type=component_type,
        measurement=measurement,
        unit=unit,
    )
