"""The console in Debian Chromium: JavaScript shipped, time to the last panel painted, stack memory.

1. **JS shipped (gzip)**: every script the dashboard page loads (uPlot + console.js), as the console
   sends them (gzip). Goal ≤ 100 KB (Grafana's front end is several MB).
2. **Time to the last panel painted**: a 12-panel dashboard (8 timeseries, 2 stats, a gauge, bars)
   over 6 h of data at 15 s resolution, backfilled into a real Prometheus with ``promtool tsdb
   create-blocks-from openmetrics``. Chromium opens the page; the figure is ``performance.now()`` in
   the frame after every panel is drawn (navigation start = 0). Goal ≤ 1 s. Reference in the same run:
   the same dashboard's queries sent one after the other from Python (what a naive backend does).
3. **Stack RSS with the console**: ``tocsin up --detach`` on a spec with every component, RSS of all
   processes after 2 s of scraping (``/proc/<pid>/smaps_rollup``, tests/stack/_rss.py). Goal ≤ 180 MB.
   Both layouts in the same run, interleaved: the receiver hosted by the console's process (the
   default) and in its own (``stack.receiver.process: own``, the layout before).
"""

from __future__ import annotations

import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from _common import write_results
from stack_startup import SPEC as STARTUP_SPEC
from stack_startup import _port

from tocsin.spec import load_spec
from tocsin.stack.components import find_binary
from tocsin.views._time import choose_step, parse_time
from tocsin.views.model import build_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.stack._rss import rss_mb, stack_rss_mb  # noqa: E402

REPEATS = 5
HOURS, RESOLUTION = 6, 15
ROUTES = ("/", "/api/books", "/api/search", "/api/download", "/health")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_RATE, _ERR = "sum(rate(bench_requests_total[{w}]))", "sum(rate(bench_errors_total[{w}]))"
PANELS: list[dict[str, Any]] = [
    {
        "title": "Requests/s by route",
        "expr": "sum by (route) (rate(bench_requests_total[1m]))",
        "unit": "reqps",
        "legend": "{{route}}",
    },
    {
        "title": "Errors/s by route",
        "expr": "sum by (route) (rate(bench_errors_total[1m]))",
        "unit": "reqps",
        "legend": "{{route}}",
    },
    {"title": "Error ratio", "expr": f"{_ERR} / {_RATE}".format(w="5m"), "unit": "percentunit"},
    {
        "title": "Latency by route",
        "expr": "max by (route) (bench_latency_seconds)",
        "unit": "s",
        "legend": "{{route}}",
    },
    {"title": "Queue depth", "expr": "sum by (route) (bench_queue)", "legend": "{{route}}"},
    {"title": "Requests/s total", "expr": _RATE.format(w="1m"), "unit": "reqps"},
    {"title": "Latency max", "expr": "max(bench_latency_seconds)", "unit": "s"},
    {"title": "Queue total", "expr": "sum(bench_queue)"},
    {"title": "Requests/s now", "kind": "stat", "expr": _RATE.format(w="1m"), "unit": "reqps"},
    {
        "title": "Error ratio now",
        "kind": "stat",
        "expr": f"{_ERR} / {_RATE}".format(w="5m"),
        "unit": "percentunit",
    },
    {
        "title": "Latency now",
        "kind": "gauge",
        "expr": "max(bench_latency_seconds)",
        "unit": "s",
        "min": 0,
        "max": 1,
    },
    {
        "title": "Requests by route",
        "kind": "bars",
        "expr": "sum by (route) (increase(bench_requests_total[1h]))",
    },
]


def _openmetrics(end: int) -> str:
    """6 h of samples every 15 s for 5 routes x (2 counters, 2 gauges), ending at ``end``."""
    import math

    start = end - HOURS * 3600
    out: list[str] = []
    families = [
        ("bench_requests", "counter"),
        ("bench_errors", "counter"),
        ("bench_latency_seconds", "gauge"),
        ("bench_queue", "gauge"),
    ]
    for name, kind in families:
        out.append(f"# TYPE {name} {kind}")
        for i, route in enumerate(ROUTES):
            total = 0.0
            for t in range(start, end + 1, RESOLUTION):
                wave = 1 + 0.5 * math.sin((t / 3600 + i) * 1.3)
                if kind == "counter":
                    total += RESOLUTION * (20 if name == "bench_requests" else 0.3) * wave * (i + 1)
                    out.append(f'{name}_total{{route="{route}"}} {total:.1f} {t}')
                else:
                    value = 0.05 * wave * (i + 1) if "latency" in name else 10 * wave + i
                    out.append(f'{name}{{route="{route}"}} {value:.4f} {t}')
    out.append("# EOF")
    return "\n".join(out) + "\n"


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"console benchmark: {url} not ready after {timeout:.0f}s")


def _js_gzip(console: str) -> dict[str, Any]:
    """Bytes of every script the dashboard page references, as sent with Accept-Encoding: gzip."""
    page = httpx.get(f"{console}/dashboards/bench").text
    scripts = [part.split('"', 1)[0] for part in page.split('<script src="')[1:]]
    sizes = {}
    for src in scripts:
        with httpx.stream("GET", console + src, headers={"accept-encoding": "gzip"}) as response:
            assert response.headers.get("content-encoding") == "gzip", src
            raw = b"".join(response.iter_raw())
        sizes[src.split("?")[0]] = {"gzip_bytes": len(raw), "bytes": len(gzip.decompress(raw))}
    return {"files": sizes, "total_gzip_kb": round(sum(s["gzip_bytes"] for s in sizes.values()) / 1024, 1)}


_PHASES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const data = performance.getEntriesByType('resource').find(e => e.name.includes('/api/dashboards/'));
  return {scripts_ready: nav.domContentLoadedEventEnd, data_sent: data.startTime,
          data_received: data.responseEnd, painted: Number(document.body.dataset.paintedAt)};
}"""


def _browser_paint(console: str) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1400})
        for _ in range(REPEATS + 1):  # the first run warms Prometheus' and the browser's caches
            page = context.new_page()
            page.goto(f"{console}/dashboards/bench?from=now-{HOURS}h&to=now&refresh=off")
            deadline = time.monotonic() + 30
            while not page.evaluate("document.body.dataset.paintedAt") and time.monotonic() < deadline:
                time.sleep(0.01)
            drawn = page.eval_on_selector_all(".panel .body", "ns => ns.map(n => n.dataset.state)")
            assert drawn == ["drawn"] * 12, drawn
            times.append(page.evaluate(_PHASES))
            page.close()
        browser.close()
    return times


def _serial_reference(prometheus: str, model: dict[str, Any]) -> float:
    """The same panels' queries, one after the other, from Python (steps as the console picks them)."""
    end = time.time()
    start = parse_time(f"now-{HOURS}h", end)
    started = time.perf_counter()
    with httpx.Client(base_url=prometheus, timeout=30) as client:
        for panel in model["dashboards"][0]["panels"]:
            if panel["kind"] == "timeseries":
                step = choose_step(start, end, 420, model["scrape_interval"])
                params = {"query": panel["expr"], "start": start - start % step, "end": end, "step": step}
                client.get("/api/v1/query_range", params=params).raise_for_status()
            else:
                client.get("/api/v1/query", params={"query": panel["expr"], "time": end}).raise_for_status()
    return (time.perf_counter() - started) * 1000


def _backend_parallel(console: str) -> float:
    started = time.perf_counter()
    httpx.get(
        f"{console}/api/dashboards/bench",
        params={"from": f"now-{HOURS}h", "widths": ",".join(["420"] * 12)},
        timeout=30,
    ).raise_for_status()
    return (time.perf_counter() - started) * 1000


def measure_paint() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        end = int(time.time())
        (root / "data.om").write_text(_openmetrics(end))
        data = root / "tsdb"
        subprocess.run(
            [
                find_binary("promtool"),
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                str(root / "data.om"),
                str(data),
            ],
            check=True,
            capture_output=True,
        )
        prom_port, console_port = _port(), _port()
        (root / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
        prometheus = subprocess.Popen(
            [
                find_binary("prometheus"),
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--storage.tsdb.retention.time=30d",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        spec = root / "tocsin.yaml"
        board = {"title": "Bench", "uid": "bench", "time_from": f"now-{HOURS}h", "panels": PANELS}
        document = {"version": "tocsin/v1", "app": "bench", "scrape": {"interval": f"{RESOLUTION}s"}}
        spec.write_bytes(orjson.dumps({**document, "dashboards": [board]}))  # JSON is YAML too
        prom_url = f"http://127.0.0.1:{prom_port}"
        model = build_model(load_spec(spec), prometheus=[prom_url], alertmanager=[], receiver=None)
        (root / "model.json").write_bytes(orjson.dumps(model))
        console = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tocsin.views.console",
                f"--model={root / 'model.json'}",
                f"--port={console_port}",
            ]
        )
        try:
            console_url = f"http://127.0.0.1:{console_port}"
            _wait(f"{prom_url}/-/ready")
            _wait(f"{console_url}/-/ready")
            js = _js_gzip(console_url)
            paint = _browser_paint(console_url)
            serial = [_serial_reference(prom_url, model) for _ in range(REPEATS)]
            parallel = [_backend_parallel(console_url) for _ in range(REPEATS)]
            console_rss = rss_mb(console.pid)
        finally:
            console.terminate()
            prometheus.terminate()
            console.wait(10)
            prometheus.wait(10)
    warm = statistics.median(p["painted"] for p in paint[1:])
    phases = {k: round(statistics.median(p[k] for p in paint[1:]), 1) for k in paint[0]}
    return {
        "js": js,
        "dashboard": {"panels": 12, "hours": HOURS, "resolution_seconds": RESOLUTION, "series": 26},
        "last_panel_painted_ms": {
            "first": round(paint[0]["painted"], 1),
            "median": round(warm, 1),
            "max": round(max(p["painted"] for p in paint[1:]), 1),
        },
        "phases_median_ms_from_navigation_start": phases,
        "queries_serial_from_python_ms": round(statistics.median(serial), 1),
        "queries_parallel_through_console_backend_ms": round(statistics.median(parallel), 1),
        "console_rss_mb_after_runs": round(console_rss, 1),
    }


# stack_startup's spec (same components, free ports) with the console switched on and one dashboard
SPEC = STARTUP_SPEC.replace(
    "console: {{enabled: false, port: {console}}}", "console: {{port: {console}}}"
) + ('dashboards: [{{title: Bench, panels: [{{title: Up, kind: stat, expr: "sum(up)"}}]}}]\n')


def measure_stack_rss() -> dict[str, Any]:
    """``tocsin up --detach`` with the console, both receiver layouts in turn; RSS after 2 s of scraping."""
    names = (
        "prometheus",
        "alertmanager",
        "cluster",
        "pushgateway",
        "node_exporter",
        "receiver",
        "smtp",
        "console",
    )
    runs: dict[str, list[dict[str, float]]] = {"hosted": [], "own": []}
    for _ in range(3):
        for layout in runs:
            with tempfile.TemporaryDirectory() as tmp:
                spec = Path(tmp) / "tocsin.yaml"
                text = SPEC.format(**{n: _port() for n in names})
                if layout == "own":
                    text = text.replace("smtp_port: ", "process: own, smtp_port: ")
                spec.write_text(text)
                tocsin = [sys.executable, "-m", "tocsin"]
                argv = [*tocsin, "up", str(spec), "--profile", "fast", "--detach"]
                subprocess.run(argv, check=True, capture_output=True)
                try:
                    time.sleep(2)
                    runs[layout].append(stack_rss_mb(Path(tmp) / "state"))
                finally:
                    subprocess.run([*tocsin, "down", str(spec)], capture_output=True)
    return {layout: _median_rss(layout_runs) for layout, layout_runs in runs.items()}


def _median_rss(runs: list[dict[str, float]]) -> dict[str, Any]:
    median = {k: round(statistics.median(r[k] for r in runs), 1) for k in sorted(runs[0])}
    total = round(statistics.median(sum(r.values()) for r in runs), 1)
    return {
        "processes_rss_mb": median,
        "total_rss_mb": total,
        "without_console_rss_mb": round(total - median["console"], 1),
    }


def main() -> None:
    paint = measure_paint()
    stack = measure_stack_rss()
    results = {
        "what": "console: JS shipped (gzip), time to the last of 12 panels painted in Chromium over 6 h "
        "at 15 s, and the stack's RSS with the console",
        **paint,
        "stack_with_console": stack["hosted"],
        "stack_with_console_receiver_in_its_own_process": stack["own"],
        "ratios": {
            "serial_queries_over_console_paint": round(
                paint["queries_serial_from_python_ms"] / paint["last_panel_painted_ms"]["median"], 2
            ),
            "serial_over_parallel_backend": round(
                paint["queries_serial_from_python_ms"] / paint["queries_parallel_through_console_backend_ms"],
                2,
            ),
        },
        "targets": {"js_gzip_kb": 100, "last_panel_painted_ms": 1000, "stack_total_rss_mb": 180},
        "meets_targets": {
            "js": paint["js"]["total_gzip_kb"] <= 100,
            "paint": paint["last_panel_painted_ms"]["median"] <= 1000,
            "rss": stack["hosted"]["total_rss_mb"] <= 180,
        },
        "load_average_1m": round(os.getloadavg()[0], 1),
        "note": "paint is measured from navigation start (HTML, CSS, uPlot, console.js, one batched data "
        "request whose 12 queries the backend runs concurrently, drawing); the serial reference is only "
        "the queries.",
    }
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    write_results("console", results)


if __name__ == "__main__":
    main()
