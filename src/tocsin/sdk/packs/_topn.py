"""Heavy hitters over a sliding window: the top-N keys (source IPs) as gauge series, the rest as ``other``.

One series per client IP is the classic cardinality explosion (one scan of the
internet is thousands of series). Counts are kept per minute, for ``window``
seconds, at most ``max_tracked`` distinct keys per minute: a new key past that
evicts the minute's smallest count into ``other`` (the Space-Saving idea, so a
heavy hitter arriving after a scan of a thousand addresses is still tracked,
and the total stays exact); at scrape time the window's counts are summed and
only the ``top`` largest are exposed, plus ``other`` for everything else. The
series set is therefore at most ``top + 1``, whatever the traffic.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["OTHER", "TopN"]

OTHER = "other"
_SLOT = 60.0


class TopN(Collector):
    """A collector exposing ``name{<label>}``: the top keys by count over the last ``window`` seconds."""

    def __init__(
        self,
        name: str,
        documentation: str,
        label: str,
        *,
        top: int = 10,
        window: float = 600.0,
        max_tracked: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if top < 1 or window < _SLOT or max_tracked <= top:
            raise ValueError("TopN needs top >= 1, window >= 60 s and max_tracked > top")
        self.name = name
        self.documentation = documentation
        self.label = label
        self.top = top
        self.window = window
        self.max_tracked = max_tracked
        self._clock = clock
        self._slots: dict[int, dict[str, float]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, amount: float = 1.0) -> None:
        """Count ``amount`` for ``key`` now."""
        slot = int(self._clock() // _SLOT)
        with self._lock:
            counts = self._slots.get(slot)
            if counts is None:
                counts = self._slots[slot] = {}
                self._expire(slot)
            if key not in counts and len(counts) >= self.max_tracked:
                smallest = min((k for k in counts if k != OTHER), key=counts.__getitem__)
                counts[OTHER] = counts.get(OTHER, 0.0) + counts.pop(smallest)
            counts[key] = counts.get(key, 0.0) + amount

    def _expire(self, now_slot: int) -> None:
        oldest = now_slot - int(self.window // _SLOT) + 1
        for slot in [s for s in self._slots if s < oldest]:
            del self._slots[slot]

    def totals(self) -> dict[str, float]:
        """Counts per key over the window: the top keys, and ``other`` for the rest."""
        with self._lock:
            self._expire(int(self._clock() // _SLOT))
            summed: dict[str, float] = {}
            for counts in self._slots.values():
                for key, value in counts.items():
                    summed[key] = summed.get(key, 0.0) + value
        other = summed.pop(OTHER, 0.0)
        best = heapq.nlargest(self.top, summed.items(), key=lambda item: item[1])
        other += sum(summed.values()) - sum(value for _, value in best)
        result = dict(best)
        if other:
            result[OTHER] = other
        return result

    def describe(self) -> Iterable[Any]:
        return [GaugeMetricFamily(self.name, self.documentation, labels=[self.label])]

    def collect(self) -> Iterable[Any]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=[self.label])
        for key, value in sorted(self.totals().items()):
            family.add_metric([key], value)
        return [family]
