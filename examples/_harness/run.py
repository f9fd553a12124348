"""One run of an example: its own ports, directory, database, processes and stack, stopped cleanly.

::

    with ExampleRun.prepare("order_archiver", Path("/tmp/run")) as run:
        run.start()                 # setup, processes, `tocsin up --profile fast --detach`, traffic
        run.urls["console"]         # every component's base URL
        with run.fault(run.scenario.fault("lag")):
            ...

The run directory mirrors the example's own (its ``tocsin.yaml``, runbooks, target files, secrets
files: everything but code), with every ``127.0.0.1:<port>`` of ``ports:`` and of the stack's default
ports moved to the run's ports, and a ``stack:`` section giving the stack those ports and a state
dir of its own (``<run>/stack``). Relative paths in the spec therefore mean the same thing in the
copy, and the logs the processes write under ``<run>/logs`` are the ones its ``logs:`` section
watches. Process outputs go to ``<run>/out/<name>.txt``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
from ruamel.yaml import YAML

from tocsin import ports as default_ports
from tocsin.spec import Spec, load_spec

from .scenario import Fault, Scenario, expand, load_scenario

__all__ = ["EXAMPLES", "ROOT", "ExampleRun", "HarnessError", "example_names", "scenario_path"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: the stack's components and the spec keys of their ports, with the defaults a spec's text may name
STACK_PORTS: dict[str, tuple[str, str, int]] = {
    "prometheus": ("prometheus", "port", default_ports.PROMETHEUS),
    "alertmanager": ("alertmanager", "port", default_ports.ALERTMANAGER),
    "alertmanager_cluster": ("alertmanager", "cluster_port", default_ports.ALERTMANAGER_CLUSTER),
    "pushgateway": ("pushgateway", "port", default_ports.PUSHGATEWAY),
    "node_exporter": ("node_exporter", "port", default_ports.NODE_EXPORTER),
    "receiver": ("receiver", "port", default_ports.RECEIVER),
    "receiver_smtp": ("receiver", "smtp_port", default_ports.RECEIVER_SMTP),
    "console": ("console", "port", default_ports.CONSOLE),
    "logwatch": ("logwatch", "port", default_ports.LOGWATCH),
    "postgres_exporter": ("postgres_exporter", "port", default_ports.POSTGRES_EXPORTER),
    "redis_exporter": ("redis_exporter", "port", default_ports.REDIS_EXPORTER),
}
#: components a spec has only when its stack: section names them
_OPTIONAL = {"postgres_exporter", "redis_exporter"}
_SKIP = {"__pycache__", ".tocsin", "logs", "out", "stack"}


class HarnessError(Exception):
    """The example could not be run as its scenario says (a process died, a stack did not start...)."""


def example_names() -> list[str]:
    """Every example that has a scenario."""
    return sorted(p.parent.name for p in EXAMPLES.glob("*/scenario.yaml"))


def scenario_path(name: str) -> Path:
    path = EXAMPLES / name / "scenario.yaml"
    if not path.is_file():
        known = ", ".join(example_names()) or "none"
        raise HarnessError(f"no example {name!r} (examples: {known})")
    return path


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(wanted: Mapping[str, int], *, usual: bool) -> dict[str, int]:
    """A distinct free loopback port per name: its usual one when ``usual`` and free, else any."""
    held: list[socket.socket] = []
    chosen: dict[str, int] = {}
    try:
        for name, preferred in wanted.items():
            if usual and preferred not in chosen.values() and _free(preferred):
                chosen[name] = preferred
                continue
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)  # held until all are chosen, so no two names get the same one
            chosen[name] = int(s.getsockname()[1])
    finally:
        for s in held:
            s.close()
    return chosen


def _renice(nice: int) -> None:
    """In a child before exec: take niceness ``nice``, or keep the usual one when not permitted."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, nice)


@dataclass
class Started:
    """A process the run started, in a session of its own (stopped as a group)."""

    name: str
    proc: subprocess.Popen[bytes]
    output: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        return self.proc.returncode

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class ExampleRun:
    """The prepared run of one example (see the module docstring)."""

    scenario: Scenario
    example_dir: Path
    run_dir: Path
    ports: dict[str, int]
    run_id: str
    spec: Path
    values: dict[str, str]
    started: list[Started] = field(default_factory=list)
    #: what a reader of the run's record should know about how it ran (a priority that could not be raised)
    notes: list[str] = field(default_factory=list)
    traffic: Started | None = None
    stack_up: bool = False
    _spec: Spec | None = None

    # --- preparing ------------------------------------------------------------------------------------

    @classmethod
    def prepare(
        cls, name: str, run_dir: Path, *, usual_ports: bool = False, run_id: str | None = None
    ) -> ExampleRun:
        """Load the scenario, choose ports, write the run directory and its spec (nothing starts)."""
        scenario = load_scenario(scenario_path(name))
        example_dir = EXAMPLES / name
        run_dir = run_dir.resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "out").mkdir(exist_ok=True)
        (run_dir / "logs").mkdir(exist_ok=True)
        run_id = run_id or secrets.token_hex(3)
        defaults = {**scenario.ports, **{k: v[2] for k, v in STACK_PORTS.items()}}
        ports = pick_ports(defaults, usual=usual_ports)
        moves = {defaults[k]: ports[k] for k in defaults}
        _copy_assets(example_dir, run_dir, moves)
        spec = run_dir / scenario.spec
        _write_stack_section(spec, run_dir / "stack", ports)
        values = {
            "python": sys.executable,
            "run": str(run_dir),
            "example": str(example_dir),
            "spec": str(spec),
            "id": run_id,
            "db": f"tocsin_{scenario.example}_{run_id}".lower(),
            **{f"port.{k}": str(v) for k, v in ports.items()},
        }
        return cls(scenario, example_dir, run_dir, ports, run_id, spec, values)

    def loaded_spec(self) -> Spec:
        """The run spec as the fast profile loads it (routes, time intervals), loaded once."""
        if self._spec is None:
            self._spec = load_spec(self.spec, profile="fast")
        return self._spec

    def expand(self, text: str) -> str:
        return expand(text, self.values)

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of each stack component and of each of the example's ports."""
        return {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}

    # --- starting and stopping ------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        path = os.pathsep.join([str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
        return {**os.environ, "PYTHONPATH": path.rstrip(os.pathsep), "PYTHONUNBUFFERED": "1"}

    def command(self, argv: list[str], *, timeout: float = 120.0, what: str = "") -> str:
        """Run a one-shot command of the scenario to completion; HarnessError with its output on failure."""
        args = [self.expand(a) for a in argv]
        done = subprocess.run(
            args, cwd=ROOT, env=self._env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise HarnessError(
                f"{what or args[0]}: exit {done.returncode}: {' '.join(args)}\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def spawn(self, name: str, argv: list[str], *, nice: int = 0) -> Started:
        """Start a long-running command in a session of its own, output to ``out/<name>.txt``; ``nice``
        is its niceness from its first instruction on (so threads and children inherit it)."""
        args = [self.expand(a) for a in argv]
        output = self.run_dir / "out" / f"{name}.txt"
        with output.open("ab") as sink:
            proc = subprocess.Popen(
                args, cwd=ROOT, env=self._env(), stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=(lambda: _renice(nice)) if nice else None,
            )  # fmt: skip
        if nice:
            with contextlib.suppress(OSError):
                got = os.getpriority(os.PRIO_PROCESS, proc.pid)
                why = "" if got == nice else f", not {nice} (raising a priority needs root or CAP_SYS_NICE)"
                self.notes.append(f"the {name} process ran at nice {got}{why}")
        return Started(name, proc, output)

    def tocsin(self, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "tocsin", *args]
        return subprocess.run(
            argv,
            cwd=self.run_dir,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *, profile: str | None = "fast", traffic: bool = True, timeout: float = 120.0) -> None:
        """Setup commands, processes (each ready in turn), the stack, then traffic; all targets up."""
        for argv in self.scenario.setup:
            self.command(argv, what="setup")
        self._start_processes(after_stack=False, timeout=timeout)
        up = ["up", str(self.spec), "--detach", *(["--profile", profile] if profile else [])]
        done = self.tocsin(*up, timeout=timeout + 60)
        (self.run_dir / "out" / "stack-up.txt").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise HarnessError(f"tocsin up failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
        self.stack_up = True
        self._start_processes(after_stack=True, timeout=timeout)
        if traffic and self.scenario.traffic:
            self.traffic = self.spawn("traffic", self.scenario.traffic)
        self.wait_targets_up(timeout)

    def _start_processes(self, *, after_stack: bool, timeout: float) -> None:
        for process in self.scenario.processes:
            if process.after_stack != after_stack:
                continue
            started = self.spawn(process.name, process.command, nice=process.nice)
            self.started.append(started)
            if process.ready:
                self._wait_ready(started, self.expand(process.ready), timeout)

    def _wait_ready(self, started: Started, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not started.alive():
                raise HarnessError(f"{started.name} exited ({started.proc.returncode}):\n{started.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise HarnessError(
            f"{started.name}: {url} did not answer 200 within {timeout:.0f}s:\n{started.tail()}"
        )

    def wait_targets_up(self, timeout: float = 120.0) -> list[dict[str, object]]:
        """Poll Prometheus until every active target is up (and there is at least one)."""
        from tocsin.promapi import PrometheusAPI, PrometheusAPIError

        deadline = time.monotonic() + timeout
        targets: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            self.check_processes()
            with contextlib.suppress(PrometheusAPIError), PrometheusAPI(self.urls["prometheus"]) as prom:
                targets = prom.targets()
                if targets and all(t["health"] == "up" for t in targets):
                    return targets
            time.sleep(0.5)
        down = [
            f"{t['labels']} {t['health']} {t.get('lastError', '')}" for t in targets if t["health"] != "up"
        ]
        raise HarnessError(f"targets not all up within {timeout:.0f}s: {down}")

    def check_processes(self) -> None:
        """HarnessError naming a process (or the traffic) that died."""
        for started in [*self.started, *([self.traffic] if self.traffic else [])]:
            if not started.alive():
                raise HarnessError(f"{started.name} exited ({started.proc.returncode}):\n{started.tail()}")

    @contextlib.contextmanager
    def fault(self, fault: Fault) -> Iterator[Started]:
        """The fault's command running for the duration of the block, stopped (SIGTERM) at its end."""
        started = self.spawn(f"fault-{fault.name}", fault.command)
        try:
            yield started
        finally:
            code = started.stop(timeout=30)
            if code not in (0, -signal.SIGTERM, None):
                raise HarnessError(f"fault {fault.name} exited {code}:\n{started.tail()}")

    def stop(self) -> None:
        """Traffic, stack, processes (in reverse order), teardown; every step runs even if one fails."""
        problems: list[str] = []
        if self.traffic is not None:
            self.traffic.stop()
        if self.stack_up:
            done = self.tocsin("down", str(self.spec), timeout=120)
            if done.returncode != 0:
                problems.append(f"tocsin down: {done.stdout}{done.stderr}")
            self.stack_up = False
        for started in reversed(self.started):
            started.stop()
        for argv in self.scenario.teardown:
            try:
                self.command(argv, what="teardown")
            except (HarnessError, subprocess.TimeoutExpired) as exc:
                problems.append(str(exc))
        if problems:
            raise HarnessError("\n".join(problems))

    def __enter__(self) -> ExampleRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _copy_assets(source: Path, target: Path, moves: Mapping[int, int]) -> None:
    """Every non-code file of the example, ``127.0.0.1:<old>`` moved to ``127.0.0.1:<new>`` in text."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in _SKIP or part.startswith(".") for part in relative.parts) or path.suffix in (
            ".py",
            ".pyc",
        ):
            continue
        destination = target / relative
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            shutil.copy2(path, destination)
            continue
        destination.write_text(move_ports(text, moves), encoding="utf-8")
        shutil.copymode(path, destination)


def move_ports(text: str, moves: Mapping[int, int]) -> str:
    """``127.0.0.1:<old>`` and ``localhost:<old>`` → the new port, for whole port numbers only."""
    import re

    def one(match: re.Match[str]) -> str:
        port = int(match.group(2))
        return f"{match.group(1)}:{moves.get(port, port)}"

    return re.sub(r"\b(127\.0\.0\.1|localhost):(\d{2,5})\b", one, text)


def _write_stack_section(spec: Path, state_dir: Path, ports: Mapping[str, int]) -> None:
    """The spec's ``stack:`` with the run's state dir and ports (its other keys, e.g. enabled, kept)."""
    yaml = YAML()  # round-trip: the comments and the order of the example's spec stay
    yaml.width = 4096
    data = yaml.load(spec.read_text(encoding="utf-8"))
    stack = data.setdefault("stack", {})
    stack["state_dir"] = str(state_dir)
    for name, (component, key, _default) in STACK_PORTS.items():
        if name in _OPTIONAL and component not in stack:
            continue
        if stack.get(component) is None:
            stack[component] = {}
        stack[component][key] = ports[name]
    with spec.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
