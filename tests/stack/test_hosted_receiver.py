"""The receiver served by the console's process (the default with a console): delivery, status, crash.

With the console on, ``tocsin up`` runs one Python process fewer: the console serves the receiver too,
on the receiver's own ports (docs/stack.md). Everything the receiver did still works through the real
Alertmanager (webhook, SMTP, Slack sinks), ``tocsin status`` shows both, a reload that would move the
receiver to another process is refused, and a receiver server that dies inside the console takes the
process down so the supervisor restarts it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import wait_for
from tests.stack._project import Project

from tocsin.stack.components import StackLayout, StackSettings, build_plan, read_plan
from tocsin.stack.state import marked_processes

pytestmark = pytest.mark.integration

#: in the console's process only: once the trigger file appears (claimed by renaming it, so the restarted
#: console does not do it again), close the receiver's listening socket as a crash of its server would
_HOOK = """
import os, threading

def _close_the_receivers_server(trigger=os.environ["TOCSIN_TEST_TRIGGER"]):
    while True:
        try:
            os.rename(trigger, trigger + ".taken")
            break
        except FileNotFoundError:
            threading.Event().wait(0.05)
    import gc
    from tocsin.stack._httpd import HTTPServer
    for server in [o for o in gc.get_objects() if isinstance(o, HTTPServer)]:
        server._server.get_loop().call_soon_threadsafe(server._server.close)

if os.environ.get("TOCSIN_COMPONENT") == "console":
    threading.Thread(target=_close_the_receivers_server, daemon=True).start()
"""


def _with_console(project: Project, receiver: str = "") -> None:
    """The project's spec with the console on (and ``receiver`` added to the receiver's settings)."""
    project.write()
    text = project.spec.read_text()
    console = f"console: {{enabled: false, port: {project.ports['console']}}}"
    assert console in text
    text = text.replace(console, f"console: {{port: {project.ports['console']}}}")
    own = f"smtp_port: {project.ports['smtp']}}}"
    text = text.replace(own, f"smtp_port: {project.ports['smtp']}{receiver}}}", 1)
    project.spec.write_text(text)


def _received(proj: Project, what: str, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{proj.url('receiver')}/api/v1/{what}", params=params, timeout=5)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _components(proj: Project) -> dict[str, dict[str, Any]]:
    return proj.state["components"]  # type: ignore[return-value]


def test_the_console_hosts_the_receiver_unless_told_otherwise(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    settings = StackSettings(state_dir=tmp_path).with_options("console", view_model=True)

    def plan(s: StackSettings) -> dict[str, Any]:
        return {c.name: c for c in build_plan(s, layout)}

    hosted = plan(settings)
    assert hosted["receiver"].hosted_by == "console" and hosted["receiver"].argv == ()
    receiver = settings.options("receiver")
    assert f"--receiver-port={receiver['port']}" in hosted["console"].argv
    assert f"--receiver-smtp-port={receiver['smtp_port']}" in hosted["console"].argv
    assert f"--receiver-log={layout.log('receiver')}" in hosted["console"].argv
    # the receiver keeps its own ports: checked, and named, as its own
    assert hosted["receiver"].ports == (receiver["port"], receiver["smtp_port"])
    for alone in (
        settings.with_options("receiver", process="own"),
        settings.with_options("console", enabled=False),
    ):
        own = plan(alone)
        assert own["receiver"].hosted_by == "" and "tocsin.stack.receiver" in own["receiver"].argv
        console = own["console"].argv if "console" in own else ()
        assert not [a for a in console if a.startswith("--receiver")]


def test_a_bad_process_value_is_a_spec_error_at_its_line(project: Project) -> None:
    _with_console(project, ", process: shared")
    checked = project.tocsin("check")
    assert checked.returncode == 2
    assert "tocsin: tocsin.yaml:9:" in checked.stderr, checked.stderr
    assert "process: 'shared' is not a choice here (use 'hosted' or 'own')" in checked.stderr
    assert "Traceback" not in checked.stderr


def test_hosted_receiver_delivers_shows_in_status_refuses_a_new_layout_and_restarts_after_a_crash(
    project: Project, tmp_path: Path
) -> None:
    _with_console(project)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_HOOK)
    trigger = tmp_path / "crash-the-receiver"
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
        "TOCSIN_TEST_TRIGGER": str(trigger),
    }
    up = project.tocsin("up", "--profile", "fast", "--detach", env=env)
    assert up.returncode == 0, up.stderr
    components = _components(project)
    assert components["receiver"]["pid"] == components["console"]["pid"]
    assert components["receiver"]["hosted_by"] == "console"
    printed = {line.split()[0]: line for line in up.stdout.splitlines() if "│" in line}
    assert f"{components['console']['pid']} (the console's)" in printed["receiver"], up.stdout
    assert "receiver" not in {r.name for r in marked_processes(project.root)}  # no process of its own

    # through the real Alertmanager: webhook, SMTP and Slack sinks of the hosted receiver
    httpx.put(
        f"{project.url('pushgateway')}/metrics/job/queue", content="queue_length 50\n"
    ).raise_for_status()
    firing = wait_for(
        lambda: _received(
            project, "notifications", sink="webhook", status="firing", alertname="QueueTooLong"
        ),
        timeout=30,
        what="the webhook notification",
    )
    assert firing[0]["labels"]["severity"] == "critical"
    mail = wait_for(lambda: _received(project, "mails"), timeout=15, what="the mail through the SMTP sink")
    assert "QueueTooLong" in mail[0]["subject"]
    wait_for(lambda: _received(project, "slack"), timeout=15, what="the Slack message")

    status = project.tocsin("status")
    assert status.returncode == 0, status.stdout
    rows = {line.split()[0]: line for line in status.stdout.splitlines() if "│" in line}
    assert "│ up" in rows["console"] and "│ up" in rows["receiver"], status.stdout
    assert "hosted by the console" in rows["receiver"]
    assert str(components["console"]["pid"]) in rows["receiver"]

    # a reload that would move the receiver into its own process: refused, nothing touched
    plan_before = project.root.joinpath("run", "plan.json").read_text()
    _with_console(project, ", process: own")
    refused = project.tocsin("reload")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "receiver: from the console's process to its own process" in refused.stderr, refused.stderr
    assert "run `tocsin down`, then `tocsin up`" in refused.stderr and "Traceback" not in refused.stderr
    assert project.root.joinpath("run", "plan.json").read_text() == plan_before
    assert _components(project)["console"]["pid"] == components["console"]["pid"]
    _with_console(project)

    # the receiver's server dies inside the console: the process exits non-zero and is restarted
    trigger.touch()
    restarted = wait_for(
        lambda: (
            (c := _components(project))["console"]["restarts"] == 1
            and c["console"]["pid"] not in (None, components["console"]["pid"])
            and all(c[n]["state"] == "up" for n in ("console", "receiver"))  # not left "starting"
            and c
        ),
        timeout=30,
        what="the console restarted and up again",
    )
    assert restarted["receiver"]["pid"] == restarted["console"]["pid"]
    assert restarted["receiver"]["restarts"] == 1
    log = (project.root / "logs" / "console.log").read_text()
    assert "the receiver it hosts on 127.0.0.1:" in log and "exited with code 1" in log, log[-2000:]
    assert "stopped" in (project.root / "logs" / "receiver.log").read_text()
    # it serves again, with the history it had
    assert _received(project, "notifications", sink="webhook", alertname="QueueTooLong")
    again = project.tocsin("status")
    assert again.returncode == 0 and "hosted by the console" in again.stdout, again.stdout
    components_after, _ = read_plan(StackLayout(project.root))
    assert {c.name: c.hosted_by for c in components_after}["receiver"] == "console"


def test_without_the_console_or_with_process_own_the_receiver_has_its_own_process(project: Project) -> None:
    _with_console(project, ", process: own")
    up = project.tocsin("up", "--profile", "fast", "--detach")
    assert up.returncode == 0, up.stderr
    components = _components(project)
    assert components["receiver"]["pid"] != components["console"]["pid"]
    assert components["receiver"]["hosted_by"] == ""
    status = project.tocsin("status")
    assert status.returncode == 0 and "hosted by" not in status.stdout, status.stdout
    assert json.loads((project.root / "run" / "plan.json").read_text())["components"][0]["argv"]
