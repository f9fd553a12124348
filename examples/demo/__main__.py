"""``make demo``: the bookshop app with traffic, monitored by the stack ``tocsin up`` runs.

1. picks free loopback ports (the usual ones when they are free);
2. starts the instrumented bookshop (examples/demo/app.py) and synthetic traffic,
   about 2 % of which fails, so the demo's error-rate alert really fires;
3. writes the demo spec (examples/demo/tocsin.yaml) with those ports into the
   state dir and runs ``tocsin up SPEC --profile fast --detach``: Prometheus,
   Alertmanager, Pushgateway, node-exporter, the alert receiver and the console;
4. prints the console's URL first, then the others, waits until Prometheus reports the app target ``up == 1``;
5. on Ctrl-C (or SIGTERM) runs ``tocsin down`` and stops the app.
"""

from __future__ import annotations

import argparse
import contextlib
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

from tocsin import ports as default_ports
from tocsin.promapi import PrometheusAPI, PrometheusAPIError
from tocsin.sdk import metrics
from tocsin.sdk.exposition import make_asgi_app
from tocsin.sdk.health.asgi import HealthMiddleware
from tocsin.sdk.http import PrometheusMiddleware
from tocsin.signals import on_signals

from .app import Backend, create_app, create_health

HERE = Path(__file__).resolve().parent
PREFERRED_PORTS = {
    "app": 8000,
    "prometheus": default_ports.PROMETHEUS,
    "alertmanager": default_ports.ALERTMANAGER,
    "cluster": default_ports.ALERTMANAGER_CLUSTER,
    "pushgateway": default_ports.PUSHGATEWAY,
    "node_exporter": default_ports.NODE_EXPORTER,
    "receiver": default_ports.RECEIVER,
    "smtp": default_ports.RECEIVER_SMTP,
    "console": default_ports.CONSOLE,
}


def pick_ports(*, usual: bool = True) -> dict[str, int]:
    """The usual port of each component when free on 127.0.0.1 (``usual``), else any free one."""
    chosen: dict[str, int] = {}
    for name, preferred in PREFERRED_PORTS.items():
        for port in (preferred, 0) if usual else (0,):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                found = int(s.getsockname()[1])
            if found not in chosen.values():
                chosen[name] = found
                break
        else:
            raise SystemExit("tocsin demo: no free port on 127.0.0.1")
    return chosen


def write_spec(state: Path, ports: dict[str, int]) -> Path:
    """The demo spec with this run's ports and state dir appended as its ``stack:`` section."""
    text = (HERE / "tocsin.yaml").read_text().replace("127.0.0.1:8000", f"127.0.0.1:{ports['app']}")
    text += (
        "\nstack:\n"
        f"  state_dir: {state / 'stack'}\n"
        f"  prometheus: {{port: {ports['prometheus']}}}\n"
        f"  alertmanager: {{port: {ports['alertmanager']}, cluster_port: {ports['cluster']}}}\n"
        f"  pushgateway: {{port: {ports['pushgateway']}}}\n"
        f"  node_exporter: {{port: {ports['node_exporter']}}}\n"
        f"  receiver: {{port: {ports['receiver']}, smtp_port: {ports['smtp']}}}\n"
        f"  console: {{port: {ports['console']}}}\n"
    )
    spec = state / "tocsin.yaml"
    spec.write_text(text)
    return spec


def traffic(base: str, stop: threading.Event) -> None:
    """Browse, search, download and sometimes fail, at ~20 requests/s."""
    paths = ["/api/books/{}", "/api/books/{}/download?format=pdf", "/api/search?q=python", "/api/nowhere"]
    rng = random.Random()  # not the module's global state: this runs on a thread of a test process too
    with httpx.Client(base_url=base, timeout=5) as client:
        while not stop.is_set():
            path = rng.choice(paths).format(rng.randint(1, 1000))
            if rng.random() < 0.02:
                path = "/api/search?q=crash"
            with contextlib.suppress(httpx.HTTPError):
                client.get(path)
            stop.wait(0.05)


def tocsin(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "tocsin", *args]).returncode


def tocsin_command() -> str:
    """How to type ``tocsin`` here: the bare name when PATH finds this install's, else its full path
    (``make demo`` runs from .venv without activating it)."""
    ours = Path(sys.executable).parent / "tocsin"
    found = shutil.which("tocsin")
    return "tocsin" if found and Path(found).resolve() == ours.resolve() else str(ours)


def prometheus_pages(prom: str) -> tuple[str, str]:
    """The targets and graph pages of this Prometheus's web UI (Debian's has only the classic UI)."""
    try:
        with PrometheusAPI(prom, timeout=5) as api:
            return api.web_ui("targets"), api.web_ui("graph")
    except PrometheusAPIError:
        return f"{prom}/classic/targets", f"{prom}/classic/graph"


def wait_until_scraped(prom: str, stop: threading.Event, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError, IndexError):
            result = httpx.get(f"{prom}/api/v1/query", params={"query": 'up{job="bookshop"}'}, timeout=2)
            if result.json()["data"]["result"][0]["value"][1] == "1":
                return True
        stop.wait(0.5)
    return False


def start_app(port: int) -> tuple[uvicorn.Server, threading.Thread]:
    registry = CollectorRegistry()
    m = metrics.Metrics(
        metrics.Identity(app="bookshop", version="1.0.0", environment="demo"),
        prefix="bookshop",
        registry=registry,
    )
    backend = Backend()
    app = create_app(m, backend)
    app.router.routes.append(Route("/metrics", make_asgi_app(registry)))
    app.add_middleware(PrometheusMiddleware, metrics=m)
    # outermost: probes are answered before the HTTP metrics, which count the shop's own traffic
    app.add_middleware(HealthMiddleware, health=create_health(m, backend))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.demo")
    parser.add_argument("--state-dir", default=".tocsin/demo")
    parser.add_argument("--once", action="store_true", help="exit once the target is up (for tests)")
    parser.add_argument(
        "--any-ports", action="store_true", help="never the usual ports (tests: a real demo may need them)"
    )
    args = parser.parse_args()

    state = Path(args.state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    ports = pick_ports(usual=not args.any_ports)
    spec = write_spec(state, ports)

    stop = threading.Event()
    # Ctrl-C and SIGTERM only ask for a stop; the clean-up below then runs undisturbed
    # (a second Ctrl-C must not interrupt it half-way and leave the stack behind).
    on_signals(stop.set, (signal.SIGINT, signal.SIGTERM))

    server, server_thread = start_app(ports["app"])
    threading.Thread(target=traffic, args=(f"http://127.0.0.1:{ports['app']}", stop), daemon=True).start()
    try:
        if tocsin("up", str(spec), "--profile", "fast", "--detach") != 0:
            print("tocsin demo: the stack did not start (see the message above)", file=sys.stderr)
            return 1
        prom = f"http://127.0.0.1:{ports['prometheus']}"
        targets_page, graph_page = prometheus_pages(prom)
        query = quote("sum by (route) (rate(bookshop_http_requests_total[1m]))")
        app_url = f"http://127.0.0.1:{ports['app']}"
        cli = tocsin_command()
        print()
        print(f"console           http://127.0.0.1:{ports['console']}/dashboards/bookshop-overview")
        print(f"bookshop app      {app_url}/docs")
        print(f"app metrics       {app_url}/metrics")
        print(f"app health        {app_url}/health  (break it: curl -X POST '{app_url}/api/faults/search')")
        print(f"Prometheus        {targets_page}")
        print(f"try a query       {graph_page}?g0.expr={query}")
        print(
            f"Alertmanager API  http://127.0.0.1:{ports['alertmanager']}/api/v2/alerts  (its UI: the console)"
        )
        receiver = f"http://127.0.0.1:{ports['receiver']}"
        print(f"alerts received   {receiver}/api/v1/notifications  (or: {cli} alerts {spec})")
        print(f"the spec          {spec}")
        print(f"terminal view     {cli} top --state-dir {state / 'stack'}")
        sys.stdout.flush()
        if not wait_until_scraped(prom, stop):
            if stop.is_set():
                return 0
            print("tocsin demo: the bookshop target did not come up within 60 s", file=sys.stderr)
            return 1
        print('Prometheus: target bookshop is up (up{job="bookshop"} == 1). Ctrl-C to stop.', flush=True)
        if not args.once:
            while not stop.is_set():
                stop.wait(1)
    finally:
        stop.set()
        tocsin("down", str(spec))
        server.should_exit = True
        server_thread.join(5)
        print("demo stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
