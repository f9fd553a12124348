"""Stack fixtures: every port free-picked, every stack in its own tmp state dir, stopped by pid."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import free_port, free_ports, wait_for
from tests.stack._bundles import hand_bundle
from tests.stack._project import Project, new_project

from tocsin.stack import StackLayout, StackSettings, Supervisor, build_plan, install_bundle
from tocsin.stack.state import read_state


def free_settings(root: Path) -> StackSettings:
    """Settings with every port picked free now, so parallel suites never collide."""
    p = iter(free_ports(10))  # distinct: two free_port() calls may return the same port
    return (
        StackSettings(state_dir=root)
        .with_options("prometheus", port=next(p), ha={"port": next(p)})
        .with_options(
            "alertmanager", port=next(p), cluster_port=next(p), ha={"port": next(p), "cluster_port": next(p)}
        )
        .with_options("pushgateway", port=next(p))
        .with_options("node_exporter", port=next(p))
        .with_options("receiver", port=next(p), smtp_port=next(p))
    )


@dataclass
class Running:
    """A running stack plus the small verbs the tests need."""

    settings: StackSettings
    layout: StackLayout
    http: httpx.Client

    def url(self, kind: str) -> str:
        return f"http://{self.settings.host}:{self.settings.port(kind)}"

    def push(self, job: str, body: str) -> None:
        self.http.put(f"{self.url('pushgateway')}/metrics/job/{job}", content=body).raise_for_status()

    def unpush(self, job: str) -> None:
        self.http.delete(f"{self.url('pushgateway')}/metrics/job/{job}").raise_for_status()

    def receiver(self, what: str, **params: Any) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.url('receiver')}/api/v1/{what}", params=params)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def component(self, name: str) -> dict[str, Any]:
        state = read_state(self.layout)
        assert state is not None
        return state["components"][name]  # type: ignore[no-any-return]

    def kill9(self, name: str, timeout: float = 2.0) -> float:
        """SIGKILL a component; returns how long until the supervisor had started a new one."""
        old = self.component(name)["pid"]
        os.kill(old, signal.SIGKILL)
        killed = time.monotonic()
        restarted = lambda: self.component(name)["pid"] not in (None, old)  # noqa: E731
        wait_for(restarted, timeout=timeout, what=f"{name} restart")
        return time.monotonic() - killed

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.url('prometheus')}/api/v1/query", params={"query": expr})
        response.raise_for_status()
        return response.json()["data"]["result"]  # type: ignore[no-any-return]


@contextmanager
def supervised(root: Path, *, ha: bool = False) -> Iterator[Running]:
    """A stack on hand-written configs, run by a Supervisor in a thread, stopped on exit."""
    settings = free_settings(root)
    layout = StackLayout(root)
    install_bundle(layout, hand_bundle(settings, ha=ha, refused_port=free_port()))
    supervisor = Supervisor(build_plan(settings, layout, ha=ha), layout)
    ready, stop = threading.Event(), threading.Event()
    kwargs = {"on_ready": lambda _: ready.set(), "stop": stop}
    thread = threading.Thread(target=supervisor.serve, kwargs=kwargs)
    thread.start()
    try:
        assert ready.wait(30), "stack not ready in 30 s"
        with httpx.Client(timeout=5) as http:
            yield Running(settings, layout, http)
    finally:
        stop.set()
        thread.join(30)


@pytest.fixture(scope="module")
def hand_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with supervised(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """A spec with free ports in tmp_path; whatever a failed test left running is stopped after it."""
    proj = new_project(tmp_path)
    yield proj
    proj.tocsin("down", "--timeout", "5")
