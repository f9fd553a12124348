"""``make demo``: the bookshop app, synthetic traffic and a real Prometheus scraping it.

Prints the URLs, waits until Prometheus reports the app target ``up == 1``,
then runs until Ctrl-C, which stops everything it started.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from tocsin.sdk import metrics
from tocsin.sdk.exposition import make_asgi_app
from tocsin.sdk.http import PrometheusMiddleware

from .app import create_app

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 5s
  evaluation_interval: 5s
  external_labels: {{environment: demo}}
scrape_configs:
  - job_name: bookshop
    static_configs:
      - targets: ["127.0.0.1:{app_port}"]
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{prom_port}"]
"""


def pick_port(preferred: int) -> int:
    """``preferred`` if it is free on 127.0.0.1, otherwise any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise SystemExit("tocsin demo: no free port on 127.0.0.1")


def traffic(base: str, stop: threading.Event) -> None:
    """Browse, search, download and sometimes fail, at ~20 requests/s."""
    paths = ["/api/books/{}", "/api/books/{}/download?format=pdf", "/api/search?q=python", "/api/nowhere"]
    with httpx.Client(base_url=base, timeout=5) as client:
        while not stop.is_set():
            path = random.choice(paths).format(random.randint(1, 1000))
            if random.random() < 0.02:
                path = "/api/search?q=crash"
            try:
                client.get(path)
            except httpx.HTTPError:
                pass
            stop.wait(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.demo")
    parser.add_argument("--state-dir", default=".tocsin/demo")
    parser.add_argument("--once", action="store_true", help="exit once the target is up (for tests)")
    args = parser.parse_args()

    prometheus_bin = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(prometheus_bin).exists():
        print("tocsin demo: prometheus not found (apt-get install -y prometheus)", file=sys.stderr)
        return 2

    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    app_port, prom_port = pick_port(8000), pick_port(9090)

    registry = CollectorRegistry()
    m = metrics.Metrics(
        metrics.Identity(app="bookshop", version="1.0.0", environment="demo"),
        prefix="bookshop",
        registry=registry,
    )
    app = create_app(m)
    app.router.routes.append(Route("/metrics", make_asgi_app(registry)))
    app.add_middleware(PrometheusMiddleware, metrics=m)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=app_port, log_level="warning"))
    server_thread = threading.Thread(target=server.run, daemon=True)
    server_thread.start()

    config = state / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG.format(app_port=app_port, prom_port=prom_port))
    log = (state / "prometheus.log").open("ab")
    prometheus = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={config}",
            f"--storage.tsdb.path={state / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stop = threading.Event()
    # Ctrl-C and SIGTERM only ask for a stop; the clean-up below then runs undisturbed
    # (a second Ctrl-C must not interrupt it half-way and leave Prometheus behind).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        threading.Thread(target=traffic, args=(f"http://127.0.0.1:{app_port}", stop), daemon=True).start()
        prom = f"http://127.0.0.1:{prom_port}"
        print(f"bookshop app     http://127.0.0.1:{app_port}/docs")
        print(f"app metrics      http://127.0.0.1:{app_port}/metrics")
        print(f"Prometheus       {prom}/targets")
        query = quote("sum by (route) (rate(bookshop_http_requests_total[1m]))")
        print(f"try a query      {prom}/graph?g0.expr={query}")
        sys.stdout.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stop.is_set():
            if prometheus.poll() is not None:
                print(f"tocsin demo: prometheus exited ({prometheus.returncode}); see {state}/prometheus.log")
                return 1
            try:
                result = httpx.get(f"{prom}/api/v1/query", params={"query": 'up{job="bookshop"}'}, timeout=2)
                values = result.json()["data"]["result"]
                if values and values[0]["value"][1] == "1":
                    print('Prometheus: target bookshop is up (up{job="bookshop"} == 1). Ctrl-C to stop.')
                    sys.stdout.flush()
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.5)
        else:
            if not stop.is_set():
                print("tocsin demo: the bookshop target did not come up within 60 s", file=sys.stderr)
                return 1
        if not args.once:
            while not stop.is_set():
                stop.wait(1)
    finally:
        stop.set()
        server.should_exit = True
        prometheus.terminate()
        try:
            prometheus.wait(10)
        except subprocess.TimeoutExpired:
            prometheus.kill()
        server_thread.join(5)
        log.close()
        print("demo stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
