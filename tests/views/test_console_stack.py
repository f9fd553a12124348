"""The console as ``tocsin up --ha`` runs it: silences reach both clustered Alertmanagers, links in
notifications point at the console, and ``tocsin reload`` changes the dashboards it shows."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.conftest import free_ports, wait_for
from tests.views.conftest import tocsin

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
version: tocsin/v1
app: hashop
stack:
  state_dir: {state}
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster0}}}
  pushgateway: {{enabled: false}}
  node_exporter: {{enabled: false}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{port: {console}}}
  ha:
    prometheus: {{port: {ha_prometheus}}}
    alertmanager: {{port: {ha_alertmanager}, cluster_port: {cluster1}}}
routes: {{default: [tocsin]}}
dashboards:
  - title: {title}
    panels: [{{title: Up, kind: stat, expr: "sum(up)"}}]
"""


def test_ha_pair_silences_links_and_reload(tmp_path: Path) -> None:
    names = ("prometheus", "alertmanager", "cluster0", "receiver", "smtp", "console", "ha_prometheus",
             "ha_alertmanager", "cluster1")  # fmt: skip
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(SPEC.format(state=tmp_path / "state", title="First title", **ports))
    started = tocsin("up", str(spec), "--ha", "--profile", "fast", "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    console = f"http://127.0.0.1:{ports['console']}"
    managers = [f"http://127.0.0.1:{ports[k]}" for k in ("alertmanager", "ha_alertmanager")]
    try:
        with httpx.Client(timeout=10) as http:
            # the Alertmanagers' own links (their templates' .ExternalURL) lead to the console
            flags = Path(f"/proc/{_pid(tmp_path, 'alertmanager-0')}/cmdline").read_bytes().split(b"\0")
            assert f"--web.external-url={console}/".encode() in flags

            form = http.get(f"{console}/silences/new?matcher=alertname%3D%22Anything%22").text
            token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            form_data = {"csrf": token, "matchers": 'alertname="Anything"', "duration": "1h", "author": "t",
                         "comment": "ha"}  # fmt: skip
            created = http.post(f"{console}/silences", data=form_data)
            assert created.status_code == 303
            sid = created.headers["location"].split("created=")[1]
            for url in managers:  # the cluster gossips it to the other replica
                wait_for(lambda u=url: any(s["id"] == sid for s in http.get(f"{u}/api/v2/silences").json()),
                         timeout=30, interval=0.5, what=f"the silence on {url}")  # fmt: skip

            assert "First title" in http.get(f"{console}/dashboards").text
            spec.write_text(SPEC.format(state=tmp_path / "state", title="Second title", **ports))
            reloaded = tocsin("reload", str(spec))
            assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
            wait_for(lambda: "Second title" in http.get(f"{console}/dashboards").text, timeout=15,
                     what="the reloaded dashboards")  # fmt: skip
    finally:
        tocsin("down", str(spec))


def _pid(root: Path, name: str) -> int:
    import json

    return int(json.loads((root / "state" / "run" / "state.json").read_text())["components"][name]["pid"])
