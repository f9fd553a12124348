"""What refreshing the health gauges at scrape time costs a ``/metrics`` scrape.

One in-process scrape (``Exposition.respond``: refresh, render the text page of 200 series), timed
in the process's CPU time, variants interleaved in the same rounds. Phase 1, no ``Health`` in the
process: the render alone (``refresh=False``: what a scrape cost before scrapes refreshed anything)
against a full scrape. Phase 2, against the render alone again: one ``Health`` whose check is
inside ``refresh_min_interval`` (the usual case: nothing to run), one whose check is due but served
from ``cache_ttl`` (a round trip to the runner's loop thread). Also the async twin
(``await Exposition.refresh()``, as the ASGI app does), without the render.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

from _common import counter_registry, write_results

from tocsin.sdk.exposition import Exposition
from tocsin.sdk.health import Health, checks
from tocsin.sdk.metrics import Metrics

ROUNDS, CALLS = 11, 100


def _per_call(fn: Callable[[], object]) -> float:
    started = time.process_time()
    for _ in range(CALLS):
        fn()
    return (time.process_time() - started) / CALLS * 1e6


def _rounds(variants: dict[str, Callable[[], object]]) -> dict[str, float]:
    rounds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, fn in variants.items():
            rounds[name].append(_per_call(fn))
    return {name: round(statistics.median(values), 2) for name, values in rounds.items()}


def main() -> None:
    bare, skipped, cached = counter_registry(), counter_registry(), counter_registry()
    plain = Exposition(bare)
    loop = asyncio.new_event_loop()
    render: Callable[[], object] = lambda: plain.respond(refresh=False)  # noqa: E731
    no_health = _rounds(
        {
            "render_only": render,
            "scrape": plain.respond,
            "async_refresh": lambda: loop.run_until_complete(plain.refresh()),
            "async_nothing": lambda: loop.run_until_complete(asyncio.sleep(0)),  # run_until_complete itself
        }
    )
    db = checks.custom("db", lambda: True)
    interval = Health(
        [db], live=[], cache_ttl=3600, refresh_min_interval=3600, metrics=Metrics(None, registry=skipped)
    )
    due = Health(
        [db], live=[], cache_ttl=3600, refresh_min_interval=0, metrics=Metrics(None, registry=cached)
    )
    interval.check_sync("ready"), due.check_sync("ready")  # warm: results exist, loop threads started
    one_health = _rounds(
        {
            "render_only": lambda: Exposition(skipped).respond(refresh=False),  # the same page as below
            "scrape_within_min_interval": Exposition(skipped).respond,
            "scrape_cached_result": Exposition(cached).respond,
            "async_refresh_within_min_interval": lambda: loop.run_until_complete(
                Exposition(skipped).refresh()
            ),
            "async_refresh_cached_result": lambda: loop.run_until_complete(Exposition(cached).refresh()),
        }
    )
    loop.close()
    interval.close(), due.close()

    def ratios(medians: dict[str, float]) -> dict[str, float]:
        return {k: round(v / medians["render_only"], 3) for k, v in medians.items() if k.startswith("scrape")}

    results = {
        "what": __doc__,
        "unit": "µs CPU per call (median of rounds)",
        "series": 200,
        "no_health_us": no_health,
        "no_health_over_render_only": ratios(no_health),
        "one_health_us": one_health,
        "one_health_over_render_only": ratios(one_health),
    }
    print(write_results("scrape_refresh", results).read_text())


if __name__ == "__main__":
    main()
