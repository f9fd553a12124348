"""``tocsin demo NAME``: one example running with traffic, the stack (fast profile) and the console.

It prepares a run in the state dir (``.tocsin/demo/<name>`` by default: the usual ports when free),
starts everything, prints the console first and then every other page to open, the commands to
break the example (``tocsin demo NAME --fault FAULT``, which runs the fault until Ctrl-C) and which
alerts each break fires, then waits for Ctrl-C and stops everything it started.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tocsin.signals import on_signals

from .run import ROOT, ExampleRun, HarnessError, scenario_path
from .scenario import expand, load_scenario

__all__ = ["run_demo", "run_fault"]

RUN_FILE = "run.json"


def tocsin_command() -> str:
    """How to type ``tocsin`` here: the bare name when PATH finds this interpreter's, else its full path."""
    ours = Path(sys.executable).parent / "tocsin"
    found = shutil.which("tocsin")
    return "tocsin" if found and Path(found).resolve() == ours.resolve() else str(ours)


def _print_pages(run: ExampleRun, state_dir: Path) -> None:
    scenario = run.scenario
    urls = run.urls
    cli = tocsin_command()
    page = scenario.console if scenario.console.startswith("/") else f"/{scenario.console}"
    print()
    print(f"console            {urls['console']}{page}")
    print(f"alerts (console)   {urls['console']}/alerts")
    for link in scenario.links:
        print(f"{link.label:<18} {run.expand(link.url)}")
    print(f"Prometheus         {urls['prometheus']}/classic/targets")
    print(f"Alertmanager API   {urls['alertmanager']}/api/v2/alerts  (its UI: the console)")
    print(f"notifications      {urls['receiver']}/api/v1/notifications  (or: {cli} alerts {run.spec})")
    print(f"the spec (run copy) {run.spec}")
    print(f"terminal view      {cli} top --state-dir {run.run_dir / 'stack'}")
    if run.loaded_spec().checklist:
        print(f"daily checklist    {cli} checklist {run.spec}")
    print(f"process outputs    {run.run_dir / 'out'}")
    if scenario.faults:
        print()
        print("break it (each runs until Ctrl-C, which undoes it):")
        for fault in scenario.faults:
            alerts = ", ".join(f"{e.alert} ({e.severity}, {e.priority})" for e in fault.expect)
            command = f"{cli} demo {scenario.example} --fault {fault.name}"
            if state_dir != default_state_dir(scenario.example):
                command += f" --state-dir {shlex.quote(str(state_dir))}"
            print(f"  {command}")
            print(f"      {fault.title} -> {alerts}")
    sys.stdout.flush()


def default_state_dir(name: str) -> Path:
    return Path(".tocsin", "demo", name).resolve()


def run_demo(name: str, state_dir: Path | None = None, *, any_ports: bool = False, once: bool = False) -> int:
    """Run the example until Ctrl-C (or, with ``once``, until it is up); 0 when it ran and stopped cleanly."""
    state_dir = (state_dir or default_state_dir(name)).resolve()
    stop = threading.Event()
    # Ctrl-C and SIGTERM only ask for a stop; the clean-up then runs undisturbed
    on_signals(stop.set, (signal.SIGINT, signal.SIGTERM))
    run = ExampleRun.prepare(name, state_dir, usual_ports=not any_ports, run_id="demo")
    (state_dir / RUN_FILE).write_text(json.dumps(run.values, indent=1) + "\n", encoding="utf-8")
    print(f"tocsin demo {name}: {run.scenario.title} (seed {run.scenario.seed}); starting…", flush=True)
    try:
        run.start()
        _print_pages(run, state_dir)
        print(f"{name} is up: every target answers. Ctrl-C to stop.", flush=True)
        while not once and not stop.is_set():
            stop.wait(1)
            run.check_processes()
    except HarnessError as exc:
        print(f"tocsin demo: {exc}", file=sys.stderr)
        return 1
    finally:
        try:
            run.stop()
        except HarnessError as exc:
            print(f"tocsin demo: stopping: {exc}", file=sys.stderr)
        print("demo stopped", flush=True)
    return 0


def run_fault(name: str, fault_name: str, state_dir: Path | None = None) -> int:
    """Run one fault of a running demo in the foreground until Ctrl-C (which undoes it)."""
    state_dir = (state_dir or default_state_dir(name)).resolve()
    scenario = load_scenario(scenario_path(name))
    try:
        fault = scenario.fault(fault_name)
    except KeyError as exc:
        print(f"tocsin demo: {exc.args[0]}", file=sys.stderr)
        return 2
    try:
        values = json.loads((state_dir / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(
            f"tocsin demo: no demo of {name} runs from {state_dir} (start it: tocsin demo {name})",
            file=sys.stderr,
        )
        return 2
    argv = [expand(a, values) for a in fault.command]
    alerts = ", ".join(
        f"{e.alert} ({e.severity}, {e.priority}) at {', '.join(e.receivers)}" for e in fault.expect
    )
    print(f"{fault.title}: expect {alerts} within {fault.budget:.0f} s. Ctrl-C undoes it.")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(argv, cwd=ROOT, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        print("fault undone")
        return 0
