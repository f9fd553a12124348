"""What the stack holds in memory once it serves: ≤ 180 MB in all, no module a process does not use.

The stack's RSS budget (≤ 180 MB with the console, benchmarks/console.py, docs/performance.md) is
spent mostly on Python processes and the modules they load once and keep for the life of the stack:
httpx and ssl cost the supervisor ~10 MB, pydantic would cost the console ~26 MB, a Python process of
its own cost the receiver ~27 MB (the console's process serves it by default). The first test weighs
the real stack (``/proc/<pid>/smaps_rollup``, tests/stack/_rss.py). Importing an entry module is not
enough to know what a process holds (the supervisor's probes and the console's first requests import
lazily), so the second runs the real ``tocsin up --detach`` and asks each of its Python processes,
after the stack is ready and has been probed, for its ``sys.modules``: a ``sitecustomize`` on
``PYTHONPATH`` (inherited by every component) writes them when a trigger file appears. No timing is
asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_ports, wait_for
from tests.stack._rss import stack_rss_mb

pytestmark = pytest.mark.integration

_HOOK = """
import os, sys, threading

def _dump(directory=os.environ["TOCSIN_TEST_MODULES"]):
    trigger = os.path.join(directory, "dump")
    while not os.path.exists(trigger):
        threading.Event().wait(0.05)
    # argv[0] is the file `python -m` runs: stack/supervisor.py, console/__main__.py, ...
    parent, file = os.path.split(sys.argv[0])
    out = os.path.join(directory, os.path.basename(parent) + "." + file.replace(".py", "") + ".modules")
    with open(out + ".tmp", "w") as f:
        f.write("\\n".join(sorted(k for k, v in list(sys.modules.items()) if v is not None)))
    os.rename(out + ".tmp", out)

threading.Thread(target=_dump, daemon=True).start()
"""

SPEC = """version: tocsin/v1
app: footprint
stack:
  state_dir: state
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{port: {node_exporter}}}
  receiver: {{port: {receiver}, smtp_port: {smtp}{process}}}
  console: {{port: {console}}}
routes: {{default: [tocsin]}}
dashboards: [{{title: Up, panels: [{{title: Up, kind: stat, expr: "sum(up)"}}]}}]
"""

#: loaded by the CLI (spec, compiler, checks) or other tools, never needed by a running component
_NOWHERE = ("httpx", "httpcore", "pydantic", "ruamel", "yaml", "psutil", "rich", "textual", "tocsin.spec",
            "tocsin.compile", "tocsin.cli", "tocsin.ops", "prometheus_client", "markdown_it")  # fmt: skip
UNWANTED = {
    # a thread per probe, h11 over a blocking socket: no event loop, no TLS, no client stack, no templates
    "supervisor": (
        *_NOWHERE,
        "ssl",
        "email",
        "asyncio",
        "anyio",
        "sqlite3",
        "jinja2",
        "orjson",
        "tocsin.views",
        "tocsin.history",
        "tocsin.logwatch",
    ),
    # h11 + aiosmtpd on asyncio, SQLite for the history (its own process: `process: own`)
    "receiver": (
        *_NOWHERE,
        "starlette",
        "uvicorn",
        "jinja2",
        "anyio",
        "tocsin.views",
        "tocsin.history",
        "tocsin.logwatch",
    ),
    # Starlette on uvicorn, the view model as plain JSON, its own h11 client; and the receiver it hosts
    "console": (*_NOWHERE, "tocsin.logwatch", "tocsin.stack.supervisor"),
}
#: ...unless the receiver runs in its own process
_CONSOLE_ALONE = (*UNWANTED["console"], "aiosmtpd", "tocsin.stack.receiver")
#: the file each process's argv[0] names (``python -m tocsin.views.console`` runs ``__main__.py``)
_FILES = {"supervisor": "stack.supervisor", "receiver": "stack.receiver", "console": "console.__main__"}


def _loaded(module: str, modules: set[str]) -> bool:
    return any(m == module or m.startswith(f"{module}.") for m in modules)


def _spec(tmp_path: Path, process: str = "hosted") -> tuple[Path, dict[str, int]]:
    names = ("prometheus", "alertmanager", "cluster", "pushgateway", "node_exporter", "receiver", "smtp")
    names += ("console",)
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(SPEC.format(**ports, process=", process: own" if process == "own" else ""))
    return spec, ports


_TOCSIN = [sys.executable, "-m", "tocsin"]


def test_the_stack_with_the_console_stays_within_180_mb(tmp_path: Path) -> None:
    """Issue 11's budget, with the receiver in the console's process (the default layout)."""
    spec, ports = _spec(tmp_path)
    up = subprocess.run(
        [*_TOCSIN, "up", str(spec), "--profile", "fast", "--detach"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        assert up.returncode == 0, up.stderr
        # a few scrapes and evaluations, the console's pages served once: steady state, not the empty start
        for path in ("/", "/dashboards/up", "/api/dashboards/up", "/alerts", "/targets"):
            assert httpx.get(f"http://127.0.0.1:{ports['console']}{path}", timeout=30).status_code == 200, (
                path
            )
        targets = f"http://127.0.0.1:{ports['prometheus']}/api/v1/targets"
        wait_for(
            lambda: (
                (t := httpx.get(targets).json()["data"]["activeTargets"])
                and all(x["health"] != "unknown" for x in t)
            ),
            timeout=30,
            what="every target scraped",
        )
        rss = stack_rss_mb(tmp_path / "state")
    finally:
        subprocess.run([*_TOCSIN, "down", str(spec)], capture_output=True, timeout=60)
    assert set(rss) == {"prometheus", "alertmanager", "pushgateway", "node-exporter", "console", "supervisor"}
    assert sum(rss.values()) <= 180, {k: round(v, 1) for k, v in rss.items()}


@pytest.mark.parametrize("process", ["hosted", "own"])
def test_running_components_hold_no_module_they_do_not_use(tmp_path: Path, process: str) -> None:
    spec, ports = _spec(tmp_path, process)
    hook, dumps = tmp_path / "hook", tmp_path / "modules"
    hook.mkdir()
    dumps.mkdir()
    (hook / "sitecustomize.py").write_text(_HOOK)
    env = {**os.environ, "TOCSIN_TEST_MODULES": str(dumps)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH")]))
    argv = [*_TOCSIN, "up", str(spec), "--profile", "fast", "--detach"]
    up = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    processes = {"supervisor", "console"} | ({"receiver"} if process == "own" else set())
    try:
        assert up.returncode == 0, up.stderr
        # the console's pages and API, and a few liveness rounds of the supervisor, before asking
        console = f"http://127.0.0.1:{ports['console']}"
        for path in (
            "/",
            "/dashboards/up",
            "/api/dashboards/up",
            "/alerts",
            "/silences",
            "/targets",
            "/rules",
        ):
            assert httpx.get(console + path, timeout=30).status_code == 200, path
        (dumps / "dump").touch()
        files = [dumps / f"{_FILES[name]}.modules" for name in processes]
        found = wait_for(
            lambda: (
                {p.stem: set(p.read_text().split()) for p in files} if all(map(Path.exists, files)) else None
            ),
            timeout=30,
            what="every Python component's modules",
        )
    finally:
        subprocess.run([*_TOCSIN, "down", str(spec)], env=env, capture_output=True, timeout=60)
    unwanted = {**UNWANTED, "console": UNWANTED["console"] if process == "hosted" else _CONSOLE_ALONE}
    held = {name: sorted(m for m in unwanted[name] if _loaded(m, found[_FILES[name]])) for name in processes}
    assert held == {name: [] for name in processes}, held
    # and the check itself sees what is there
    assert {"h11", "starlette", "threading"} <= set().union(*found.values())
    assert ("aiosmtpd" in found["console.__main__"]) == (process == "hosted")
