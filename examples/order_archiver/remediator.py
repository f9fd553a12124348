"""The plan's automatic actions, taken when Alertmanager says so: restart the watcher, clean the logs.

The seed's P1 "Service down" reads *Action: redémarrage automatique + notification*, and its P2 "Espace
disque logs" *rotation/nettoyage automatique*. This process owns the watch-mode process (it starts it
and keeps its pid in ``<state>/watch.pid``) and is one of Alertmanager's webhook receivers (route P1
and the logs alert, see tocsin.yaml):

- ``TargetDown`` of service ``watch`` firing: the watcher is dead or hung (a stopped process answers
  no scrape), so it is killed if still there and started again; the watcher resumes from its saved
  resume token, and the alert resolves with the next scrapes;
- ``ArchiverLogsDiskFull`` firing: every rotated log generation (``*.log.<n>``) under the logs
  directory is deleted; the live files stay.

``GET /health`` says whether the watcher runs; ``/metrics`` counts what was done
(``remediations_total{alert, action}``) and the watcher's restarts.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread
import uvicorn
from prometheus_client import CollectorRegistry, Counter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.sdk.exposition import make_asgi_app

__all__ = ["Remediator", "main"]

MAX_WEBHOOK = 1_000_000


class Remediator:
    """The watch process' owner and the actions the alerts ask for."""

    def __init__(self, watch_argv: list[str], state_dir: Path, log_dir: Path, log: logging.Logger) -> None:
        self.watch_argv = watch_argv
        self.pid_file = state_dir / "watch.pid"
        self.log_dir = log_dir
        self.log = log
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.registry = CollectorRegistry()
        self.actions = Counter(
            "remediations_total",
            "Automatic actions taken on an alert.",
            ["alert", "action"],
            registry=self.registry,
        )
        self.restarts = Counter(
            "watch_restarts_total", "Times the watch process was (re)started.", registry=self.registry
        )

    def start_watch(self) -> None:
        with self.lock:
            self.proc = subprocess.Popen(self.watch_argv)
            self.pid_file.write_text(f"{self.proc.pid}\n", encoding="utf-8")
            self.restarts.inc()
        self.log.info("🚀 Watch process started (pid %d)", self.proc.pid)

    def restart_watch(self, alert: str) -> str:
        with self.lock:
            proc = self.proc
        if proc is not None and proc.poll() is None:
            self.log.warning("⚠️  Watch process %d does not answer: killing it", proc.pid)
            proc.kill()
            proc.wait(10)
        elif proc is not None:
            self.log.warning("⚠️  Watch process %d is gone (exit %s)", proc.pid, proc.returncode)
        self.log.info("🔁 Restarting the watch process (%s firing)", alert)
        self.start_watch()
        self.actions.labels(alert, "restart").inc()
        return "restarted"

    def clean_logs(self, alert: str) -> str:
        removed, freed = 0, 0
        for path in sorted(self.log_dir.glob("*.log.*")):
            if path.suffix.lstrip(".").isdigit() and path.is_file():
                freed += path.stat().st_size
                path.unlink()
                removed += 1
        self.log.info("🧹 Removed %d rotated log files (%.1f MB) (%s firing)", removed, freed / 1e6, alert)
        self.actions.labels(alert, "clean_logs").inc()
        return f"removed {removed} files"

    def handle(self, payload: dict[str, Any]) -> list[str]:
        """Act on each firing alert of one Alertmanager webhook; the actions taken."""
        done = []
        for alert in payload.get("alerts") or []:
            labels = alert.get("labels") or {}
            if alert.get("status") != "firing":
                continue
            name = labels.get("alertname", "")
            if name == "TargetDown" and labels.get("service") == "watch":
                done.append(self.restart_watch(name))
            elif name == "ArchiverLogsDiskFull":
                done.append(self.clean_logs(name))
        return done

    def stop(self) -> None:
        with self.lock:
            proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the watcher saves its resume token on the way out
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def create_app(remediator: Remediator) -> Starlette:
    async def webhook(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_WEBHOOK:
            return JSONResponse({"error": "webhook too large"}, status_code=413)
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "not an Alertmanager webhook"}, status_code=400)
        done = await anyio.to_thread.run_sync(remediator.handle, payload)
        return JSONResponse({"actions": done})

    async def health(request: Request) -> Response:
        proc = remediator.proc
        running = proc is not None and proc.poll() is None
        body = {"status": "pass" if running else "fail", "watch_pid": proc.pid if proc else None}
        return JSONResponse(body, status_code=200 if running else 503)

    routes = [
        Route("/alerts", webhook, methods=["POST"]),
        Route("/health", health),
        Route("/metrics", make_asgi_app(remediator.registry)),
    ]
    return Starlette(routes=routes)


def main(port: int, watch_argv: list[str], state_dir: Path, log_dir: Path, log: logging.Logger) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    remediator = Remediator([sys.executable, *watch_argv], state_dir, log_dir, log)
    remediator.start_watch()
    server = uvicorn.Server(
        uvicorn.Config(create_app(remediator), host="127.0.0.1", port=port, log_level="warning")
    )
    try:
        server.run()
    finally:
        remediator.stop()
        if remediator.pid_file.exists():
            os.unlink(remediator.pid_file)
    return 0
