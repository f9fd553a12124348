"""A real Prometheus over known history: OpenMetrics written here, backfilled with promtool.

Shared by the history tests and ``benchmarks/export.py`` / ``benchmarks/backtest.py``.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

Labels = dict[str, str]
#: (metric name, labels, value at unix second t)
SeriesDef = tuple[str, Labels, Callable[[int], float | None]]


#: URL → pid of each Prometheus started by :func:`prometheus` (benchmarks read its CPU time).
PIDS: dict[str, int] = {}


def _port() -> int:
    from tests.conftest import free_port  # outside the ephemeral range, a slice per xdist worker

    return free_port()


def _labels(labels: Labels) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}" if inner else ""


def write_openmetrics(
    path: Path, series: Iterable[SeriesDef], start: int, end: int, interval: int, kind: str = "gauge"
) -> int:
    """One OpenMetrics file, samples every ``interval`` s in [start, end]; returns the sample count."""
    by_name: dict[str, list[tuple[Labels, Callable[[int], float]]]] = {}
    for name, labels, fn in series:
        by_name.setdefault(name, []).append((labels, fn))
    count = 0
    with path.open("w") as out:
        for name, members in by_name.items():
            out.write(f"# TYPE {name} {kind}\n")
            for labels, fn in members:
                text = _labels(labels)
                for t in range(start, end + 1, interval):
                    value = fn(t)
                    if value is not None:  # None: the series is absent at t
                        out.write(f"{name}{text} {value!r} {t}\n")
                        count += 1
        out.write("# EOF\n")
    return count


def backfill(openmetrics: Path, tsdb: Path) -> None:
    """``promtool tsdb create-blocks-from openmetrics`` into ``tsdb``."""
    tsdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(tsdb)],
        check=True,
        capture_output=True,
    )


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"Prometheus at {url} not ready in {timeout}s")


@contextmanager
def prometheus(
    tsdb: Path, config: str = "global: {}\n", *, port: int | None = None, extra: Iterable[str] = ()
) -> Iterator[str]:
    """A Prometheus on 127.0.0.1 over ``tsdb``; yields its URL and stops it (by pid) on exit."""
    port = port or _port()
    config_path = tsdb.parent / f"prometheus-{port}.yml"
    config_path.write_text(config)
    argv = [
        "prometheus",
        f"--config.file={config_path}",
        f"--storage.tsdb.path={tsdb}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=30d",
        "--web.enable-lifecycle",
        *extra,
    ]
    log = (tsdb.parent / f"prometheus-{port}.log").open("w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    PIDS[url] = proc.pid
    try:
        wait_ready(url)
        yield url
    finally:
        PIDS.pop(url, None)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def bench_value(series: int, t: int) -> float:
    """A deterministic gauge in [0, 100), constant for 5 minutes at a time; over 90 in about 1 of 10."""
    block = t // 300
    return float((block * (series + 7) + (block // 7) * 13) % 100)


def bench_week(root: Path, series: int = 50, days: int = 7) -> tuple[Path, int, int]:
    """A TSDB under ``root`` with ``bench_value{series="sNN"}`` every minute for ``days`` days, ending an
    hour ago; returns (tsdb dir, start, end). Reused when already built."""
    root = root / f"v2-{series}x{days}"  # bump when bench_value changes
    root.mkdir(parents=True, exist_ok=True)
    tsdb = root / "tsdb"
    end = (int(time.time()) // 3600) * 3600 - 3600
    start = end - days * 86_400
    stamp = root / "range.txt"
    if stamp.is_file():
        start, end = (int(x) for x in stamp.read_text().split())
        return tsdb, start, end
    defs = [
        ("bench_value", {"series": f"s{i:02d}"}, functools.partial(bench_value, i)) for i in range(series)
    ]
    write_openmetrics(root / "bench.om", defs, start, end, 60)
    backfill(root / "bench.om", tsdb)
    (root / "bench.om").unlink()
    stamp.write_text(f"{start} {end}")
    return tsdb, start, end
