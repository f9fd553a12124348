"""Local stack start-up: time until every component is ready, and the stack's total RSS.

tocsin: the detached supervisor (exactly what ``tocsin up --detach`` runs) on a fresh state dir, with
Prometheus, Alertmanager, Pushgateway, node-exporter and tocsin's receiver. Peer, in the same run: the same
four binaries with the same configs started by hand (Popen), readiness polled the same way, no receiver
and no supervisor. Targets: all ready in <= 2 s, total RSS <= 150 MB.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from _common import write_results

from tocsin.stack import control
from tocsin.stack.components import Component, StackLayout, StackSettings, build_plan, write_plan
from tocsin.stack.config import install_bundle
from tocsin.stack.state import read_state

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.stack._rss import rss_mb, stack_rss_mb

REPEATS = 3


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bundle(s: StackSettings) -> dict[str, str]:
    h = s.host
    jobs = {"prometheus": s.port("prometheus"), "alertmanager": s.port("alertmanager")}
    jobs |= {
        "pushgateway": s.port("pushgateway"),
        "node": s.port("node_exporter"),
        "receiver": s.port("receiver"),
    }
    scrape = "".join(
        f'  - {{job_name: {job}, honor_labels: true, static_configs: [{{targets: ["{h}:{port}"]}}]}}\n'
        for job, port in jobs.items()
    )
    am = f"{h}:{s.port('alertmanager')}"
    prometheus = (
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: [{am!r}]}}]}}]}}\n"
        f"scrape_configs:\n{scrape}"
    )
    alertmanager = (
        "route: {receiver: local, group_wait: 0s}\n"
        f'receivers: [{{name: local, webhook_configs: [{{url: "http://{h}:{s.port("receiver")}/webhook"}}]}}]\n'
    )
    return {"prometheus/prometheus.yml": prometheus, "alertmanager/alertmanager.yml": alertmanager}


def _settings(root: Path) -> StackSettings:
    return (
        StackSettings(state_dir=root)
        .with_options("prometheus", port=_port())
        .with_options("alertmanager", port=_port(), cluster_port=_port())
        .with_options("pushgateway", port=_port())
        .with_options("node_exporter", port=_port())
        .with_options("receiver", port=_port(), smtp_port=_port())
    )


def _rss_mb(pids: list[int]) -> float:
    return sum(rss_mb(pid) for pid in pids)


def _pss_mb(pids: list[int]) -> float:
    """Proportional set size: shared pages split between the processes that map them."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_full_info().pss
        except (psutil.Error, AttributeError):
            pass
    return total / 2**20


def run_tocsin() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        layout = StackLayout(Path(tmp))
        settings = _settings(layout.root)
        components = build_plan(settings, layout)
        started = time.monotonic()
        control.up(layout, components, _bundle(settings), None, {}, detach=True)
        ready = time.monotonic() - started
        time.sleep(2)  # a few scrapes and evaluations: steady-state memory, not the empty start
        state = read_state(layout) or {}
        rss = stack_rss_mb(layout.root)
        result = {"ready_seconds": ready}
        result |= {f"{name}_rss_mb": mb for name, mb in rss.items()}
        result["components_rss_mb"] = sum(mb for name, mb in rss.items() if name != "supervisor")
        result["total_rss_mb"] = sum(rss.values())
        pids = [c["pid"] for c in state["components"].values() if not c.get("hosted_by")]
        result["total_pss_mb"] = _pss_mb([*pids, state["supervisor"]["pid"]])
        control.down(layout)
        return result


def run_peer() -> dict[str, float]:
    """The same binaries by hand: what a shell script with ``&`` and a curl loop would do."""
    with tempfile.TemporaryDirectory() as tmp:
        layout = StackLayout(Path(tmp))
        settings = _settings(layout.root)
        install_bundle(layout, _bundle(settings))
        components: list[Component] = [c for c in build_plan(settings, layout) if c.kind != "receiver"]
        write_plan(layout, components, {})
        for c in components:
            if c.data_dir:
                Path(c.data_dir).mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        procs = [
            subprocess.Popen(c.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in components
        ]
        with httpx.Client(timeout=0.5) as http:
            waiting = list(components)
            while waiting:
                for c in list(waiting):
                    try:
                        if http.get(c.url + c.ready_path).status_code == 200:
                            waiting.remove(c)
                    except httpx.HTTPError:
                        pass
                time.sleep(0.02)
        ready = time.monotonic() - started
        time.sleep(2)
        rss = _rss_mb([p.pid for p in procs])
        pss = _pss_mb([p.pid for p in procs])
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        return {"ready_seconds": ready, "total_rss_mb": rss, "total_pss_mb": pss}


SPEC = """version: tocsin/v1
app: bench
stack:
  state_dir: state
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{port: {node_exporter}}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{enabled: false, port: {console}}}
routes: {{default: [tocsin]}}
"""


def run_cli() -> float:
    """``tocsin up SPEC --detach`` as a user runs it: the "stack ready in" it prints includes compiling the
    spec and checking it with promtool/amtool, which the supervisor-only figure above does not."""
    with tempfile.TemporaryDirectory() as tmp:
        names = ("prometheus", "alertmanager", "cluster", "pushgateway", "node_exporter", "receiver", "smtp")
        spec = Path(tmp) / "tocsin.yaml"
        spec.write_text(SPEC.format(**{n: _port() for n in (*names, "console")}))
        out = subprocess.run(
            [sys.executable, "-m", "tocsin", "up", str(spec), "--profile", "fast", "--detach"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        subprocess.run([sys.executable, "-m", "tocsin", "down", str(spec)], capture_output=True, check=True)
        return float(out.split("stack ready in ", 1)[1].split("s", 1)[0])


def main() -> None:
    cli_seconds = statistics.median(run_cli() for _ in range(REPEATS))
    tocsin_runs = [run_tocsin() for _ in range(REPEATS)]
    peer_runs = [run_peer() for _ in range(REPEATS)]

    def median(runs: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 3)

    tocsin = {k: median(tocsin_runs, k) for k in tocsin_runs[0]}
    peer = {k: median(peer_runs, k) for k in peer_runs[0]}
    results = {
        "what": "fresh state dir -> every component answers its readiness URL; RSS after 2 s of scraping",
        "repeats": REPEATS,
        "tocsin_detached_stack": tocsin,
        "tocsin_up_cli_compile_check_and_start_seconds": round(cli_seconds, 3),
        "peer_raw_binaries_by_hand": peer,
        "ratios": {
            "ready_time_tocsin_over_peer": round(tocsin["ready_seconds"] / peer["ready_seconds"], 2),
            "rss_tocsin_over_peer": round(tocsin["total_rss_mb"] / peer["total_rss_mb"], 2),
        },
        "targets": {"ready_seconds": 2.0, "total_rss_mb": 150},
        "note": (
            "tocsin's total counts two Python processes the peer does not have: the receiver "
            "(webhook + Slack + SMTP sinks, SQLite) and the supervisor; the four binaries are the same, "
            "tocsin starting them with GOGC=50 (the peer: Go's default, 100)."
        ),
        "meets_targets": {
            "ready": tocsin["ready_seconds"] <= 2.0,
            "rss": tocsin["total_rss_mb"] <= 150,
        },
    }
    path = write_results("stack_startup", results)
    print(path.read_text())


if __name__ == "__main__":
    main()
