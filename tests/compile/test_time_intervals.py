"""Time intervals (issue 10 item 18): ``time_intervals:`` and routes' ``active_time_intervals`` /
``mute_time_intervals`` in the spec, in ``alertmanager.yml`` (amtool), in the AlertmanagerConfig, and
obeyed by a real Alertmanager."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from ruamel.yaml import YAML
from tests.conftest import free_ports, wait_for

from tocsin.compile import check_bundle, compile_spec
from tocsin.errors import SpecError
from tocsin.spec import load_spec, spec_warnings

SEED_003 = """\
version: tocsin/v1
app: archiver
alerts:
  - {name: Critical, expr: up, warning: "< 1", for: 1m, priority: P1}
  - {name: Info, expr: dup_ratio, warning: "> 0.2", for: 10m, priority: P3}
receivers:
  oncall: {webhook: {url: "http://127.0.0.1:9/oncall"}}
  lead: {webhook: {url: "http://127.0.0.1:9/lead"}}
  dev: {webhook: {url: "http://127.0.0.1:9/dev"}}
routes:
  P1: {receivers: [oncall, lead], mute_time_intervals: [maintenance]}
  P3: {receivers: [dev], active_time_intervals: [business-hours], mute_time_intervals: [holidays]}
  default: {receivers: [dev], active_time_intervals: [business-hours]}
time_intervals:
  business-hours:
    weekdays: [Monday:Friday]
    times: [{start_time: "09:00", end_time: "18:00"}]
    location: Europe/Paris
  holidays:
    - {months: [december], days_of_month: ["24:26", "-1"]}
    - {months: [january], days_of_month: [1]}
  maintenance: {weekdays: [sunday], times: [{start_time: "02:00", end_time: "04:00"}], years: ["2025:2030"]}
"""


def _load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "tocsin.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def _yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


def test_seed_003_next_business_day(tmp_path: Path) -> None:
    spec = _load(tmp_path, SEED_003)
    assert spec.routes.P3 is not None and spec.routes.P3.active_time_intervals == ["business-hours"]
    assert spec.time_intervals["business-hours"][0].weekdays == ["monday:friday"]  # one period, lower case
    am = _yaml(compile_spec(spec).files["alertmanager/alertmanager.yml"])
    intervals = {i["name"]: i["time_intervals"] for i in am["time_intervals"]}
    assert intervals["business-hours"] == [
        {"times": [{"start_time": "09:00", "end_time": "18:00"}], "weekdays": ["monday:friday"],
         "location": "Europe/Paris"}
    ]  # fmt: skip
    assert intervals["holidays"][0] == {"days_of_month": ["24:26", "-1"], "months": ["december"]}
    routes = am["route"]["routes"]
    p1, p3, default = routes
    assert p1["mute_time_intervals"] == ["maintenance"]
    # Alertmanager does not hand time intervals down: the fan-out children carry them too
    assert [child["mute_time_intervals"] for child in p1["routes"]] == [["maintenance"], ["maintenance"]]
    assert (p3["active_time_intervals"], p3["mute_time_intervals"]) == (["business-hours"], ["holidays"])
    # the root route may have none: a timed default becomes a last catch-all child
    assert am["route"]["receiver"] == "blackhole"
    assert default == {"receiver": "dev", "active_time_intervals": ["business-hours"]}


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ("{weekdays: [friday:monday]}", "'friday:monday' runs backwards"),
        ("{weekdays: [funday]}", "'funday' is not a weekday"),
        ("{times: [{start_time: '18:00', end_time: '09:00'}]}", "18:00 to 09:00 is empty"),
        ("{times: [{start_time: '9:00', end_time: '18:00'}]}", "'9:00' is not a time of day"),
        ("{times: [{start_time: '00:00', end_time: '24:01'}]}", "'24:01' is not a time of day"),
        ("{days_of_month: ['-3:5']}", "'-3:5' mixes counting from the end"),
        ("{days_of_month: [32]}", "'32' is not a day of the month"),
        ("{days_of_month: ['10:2']}", "'10:2' runs backwards in every month"),
        ("{months: [december:january]}", "'december:january' runs backwards"),
        ("{months: ['13']}", "'13' is not a month"),
        ("{years: ['2030:2025']}", "'2030:2025' runs backwards"),
        ("{location: Mars/Olympus}", "unknown time zone 'Mars/Olympus'"),
        ("{location: ../../etc/passwd}", "is not a time zone"),
        ("{weekday: [monday]}", "unknown key 'weekday' (did you mean 'weekdays'?)"),
    ],
)
def test_mistakes_are_reported_at_their_line(tmp_path: Path, interval: str, message: str) -> None:
    text = "\n".join(
        f"  maintenance: {interval}" if line.startswith("  maintenance:") else line
        for line in SEED_003.splitlines()
    )
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, text)
    [problem] = caught.value.problems
    assert problem.line == 22, str(problem)
    assert message in str(problem)


def test_unknown_interval_is_an_error_and_an_unused_one_a_warning(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        _load(
            tmp_path,
            SEED_003.replace(
                "active_time_intervals: [business-hours], mute",
                "active_time_intervals: [busines-hours], mute",
            ),
        )
    [problem] = caught.value.problems
    assert (problem.line, problem.message) == (12, "unknown time interval 'busines-hours'")
    assert problem.hint == "did you mean 'business-hours'?"
    spec = _load(tmp_path, SEED_003.replace("mute_time_intervals: [maintenance]", "repeat_interval: 15m"))
    [warning] = [w for w in spec_warnings(spec) if "never used" in w.message]
    assert warning.line == 22


pytestmark_tools = pytest.mark.skipif(
    shutil.which("amtool") is None or shutil.which("promtool") is None, reason="no amtool/promtool"
)


@pytest.mark.integration
@pytestmark_tools
def test_amtool_accepts_and_routes_it(tmp_path: Path) -> None:
    spec = _load(tmp_path, SEED_003)
    compile_spec(spec).write(tmp_path / "out")
    assert check_bundle(tmp_path / "out", spec=spec) == []  # check-config and every priority x severity route


# The AlertmanagerConfig CRD's patterns (prometheus-operator pkg/apis/monitoring/v1alpha1), without
# Go's inline (?i) flags, which Python only takes at the start: matched case-insensitively instead.
_DAY = "(sun|mon|tues|wednes|thurs|fri|satur)day"
WEEKDAY_RANGE = re.compile(rf"^{_DAY}(?::{_DAY})?$", re.IGNORECASE)
_MONTH = (
    "(january|february|march|april|may|june|july|august|september|october|november|december|1[0-2]|[1-9])"
)
MONTH_RANGE = re.compile(rf"^{_MONTH}(?::{_MONTH})?$", re.IGNORECASE)
YEAR_RANGE = re.compile(r"^2\d{3}(?::2\d{3}|$)")
TIME = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")


def test_alertmanager_config_crd_carries_them(tmp_path: Path) -> None:
    files = compile_spec(_load(tmp_path, SEED_003)).files
    text = files["deploy/kubernetes/alertmanagerconfig.yaml"]
    assert "AlertmanagerConfig has no location field" in text.splitlines()[1]  # said where it is read
    crd = _yaml(text)["spec"]
    intervals = {i["name"]: i["timeIntervals"] for i in crd["muteTimeIntervals"]}
    assert intervals["holidays"][0]["daysOfMonth"] == [{"start": 24, "end": 26}, {"start": -1, "end": -1}]
    for periods in intervals.values():
        for period in periods:
            assert set(period) <= {"times", "weekdays", "daysOfMonth", "months", "years"}
            assert all(WEEKDAY_RANGE.match(w) for w in period.get("weekdays", []))
            assert all(MONTH_RANGE.match(m) for m in period.get("months", []))
            assert all(YEAR_RANGE.match(y) for y in period.get("years", []))
            assert all(
                TIME.match(t["startTime"]) and TIME.match(t["endTime"]) for t in period.get("times", [])
            )
    p1, p3, default = crd["route"]["routes"]
    assert p1["muteTimeIntervals"] == ["maintenance"] and p3["activeTimeIntervals"] == ["business-hours"]
    assert default["activeTimeIntervals"] == ["business-hours"]


# --- a real Alertmanager -----------------------------------------------------------------------------

LIVE = """\
version: tocsin/v1
app: live
receivers:
  muted-a: {{webhook: {{url: "http://127.0.0.1:{hook}/muted-a"}}}}
  muted-b: {{webhook: {{url: "http://127.0.0.1:{hook}/muted-b"}}}}
  inactive: {{webhook: {{url: "http://127.0.0.1:{hook}/inactive"}}}}
  active: {{webhook: {{url: "http://127.0.0.1:{hook}/active"}}}}
  fallback: {{webhook: {{url: "http://127.0.0.1:{hook}/fallback"}}}}
routes:
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1s
  P1: {{receivers: [muted-a, muted-b], mute_time_intervals: [always], repeat_interval: 1s}}
  P2: {{receivers: [inactive], active_time_intervals: [never], repeat_interval: 1s}}
  P3: {{receivers: [active], active_time_intervals: [always], mute_time_intervals: [never],
        repeat_interval: 1s}}
  default: {{receivers: [fallback], mute_time_intervals: [never]}}
time_intervals:
  always: {{times: [{{start_time: "00:00", end_time: "24:00"}}]}}
  never: {{years: ["2001"]}}
stack: {{receiver: {{enabled: false}}}}
"""


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("no Alertmanager")
    am_port, hook_port = free_ports(2)
    hook = ThreadingHTTPServer(("127.0.0.1", hook_port), _Hook)
    _Hook.received = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    spec = _load(tmp_path, LIVE.format(hook=hook_port))
    compile_spec(spec).write(tmp_path / "out")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'out' / 'alertmanager' / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _get(f"http://127.0.0.1:{am_port}/-/ready"), timeout=30, what="Alertmanager ready")
        yield am_port, _Hook.received
    finally:
        process.terminate()
        process.wait(timeout=30)
        hook.shutdown()
        hook.server_close()


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.integration
def test_a_real_alertmanager_obeys_them(alertmanager: tuple[int, list[str]]) -> None:
    port, received = alertmanager
    alerts = [
        {"labels": {"alertname": f"A{priority}", "priority": priority, "severity": "warning"}}
        for priority in ("P1", "P2", "P3", "P9")
    ]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    # every group is flushed each second and repeats each second: by the time the active route has
    # notified three times, the muted and inactive ones have had three chances to notify too
    wait_for(
        lambda: received.count("/active") >= 3 and "/fallback" in received, timeout=90, what="notifications"
    )
    assert set(received) == {"/active", "/fallback"}, received
