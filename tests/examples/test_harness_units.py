"""The examples harness' own logic, without running anything: scenarios, port moves, time intervals,
the detection page."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from examples._harness import example_names, load_scenario
from examples._harness.detection import build_page
from examples._harness.observe import Row, skip_reason
from examples._harness.run import EXAMPLES, ExampleRun, move_ports, pick_ports
from examples._harness.scenario import expand
from examples._harness.timing import route_notifies

from tocsin.errors import SpecError
from tocsin.spec import load_spec


def test_every_scenario_loads_and_its_spec_names_its_alerts() -> None:
    names = example_names()
    assert "order_archiver" in names
    for name in names:
        scenario = load_scenario(EXAMPLES / name / "scenario.yaml")
        spec = load_spec(EXAMPLES / name / scenario.spec)
        alerts = {a.name for a in spec.alerts} | {"TargetDown"}
        for fault in scenario.faults:
            for expect in fault.expect:
                assert expect.alert in alerts, f"{name}: {fault.name} expects {expect.alert}, not in the spec"
                assert set(expect.receivers) <= set(spec.receivers) | {"tocsin"}, (name, fault.name)


def test_a_bad_scenario_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "example: x\nseed: '000'\ntitle: X\nfaults:\n  - name: f\n    title: t\n"
        "    command: ['${pyton}', x]\n    expect: []\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as err:
        load_scenario(path)
    text = str(err.value)
    assert "scenario.yaml:7:" in text and "unknown placeholder ${pyton}" in text
    assert "scenario.yaml:8:" in text  # an empty expect list is a problem of its own


def test_ports_move_only_whole_loopback_ports() -> None:
    text = "a 127.0.0.1:9095/webhook b localhost:2525 c 127.0.0.1:90950 d 10.0.0.1:9095 e 127.0.0.1:8031"
    moved = move_ports(text, {9095: 40001, 2525: 40002})
    assert (
        moved
        == "a 127.0.0.1:40001/webhook b localhost:40002 c 127.0.0.1:90950 d 10.0.0.1:9095 e 127.0.0.1:8031"
    )


def test_picked_ports_are_distinct_and_free() -> None:
    chosen = pick_ports({"a": 1, "b": 1, "c": 1}, usual=False)
    assert len(set(chosen.values())) == 3 and all(p > 1024 for p in chosen.values())


def test_expand_names_an_unknown_placeholder() -> None:
    assert expand("--port=${port.watch}", {"port.watch": "1"}) == "--port=1"
    with pytest.raises(KeyError, match=r"\$\{db\}"):
        expand("${db}", {})


@pytest.mark.parametrize(
    ("when", "notifies"),
    [
        ("2026-12-02T10:00:00+01:00", True),  # Wednesday 10:00 in Paris
        ("2026-12-02T08:59:00+01:00", False),  # before opening
        ("2026-12-02T18:00:00+01:00", False),  # end_time is excluded, as Alertmanager does
        ("2026-12-05T10:00:00+01:00", False),  # Saturday
        ("2026-12-02T09:30:00+00:00", True),  # 10:30 in Paris
    ],
)
def test_p3_notifies_only_on_business_hours(when: str, notifies: bool) -> None:
    spec = load_spec(EXAMPLES / "order_archiver" / "tocsin.yaml")
    moment = datetime.fromisoformat(when).astimezone(UTC)
    assert route_notifies(spec, "P3", "warning", moment)[0] is notifies
    assert route_notifies(spec, "P1", "critical", moment) == (True, "")


def test_the_page_counts_rows_and_false_alerts(tmp_path: Path) -> None:
    ok = Row(
        "order_archiver",
        "watch-killed",
        "killed",
        "TargetDown",
        "critical",
        "P1",
        ["oncall"],
        40,
        3.5,
        1.2,
        True,
    )
    false = Row("order_archiver", "clean", "", "X", "warning", "P2", ["data-team"], None, false_alert=True)
    record = {"example": "order_archiver", "measured_at": "now", "load_average": 9.0, "wall_s": 100.0}
    record["rows"] = [ok.as_dict(), false.as_dict()]
    (tmp_path / "order_archiver.json").write_text(json.dumps(record), encoding="utf-8")
    page = build_page(tmp_path)
    assert "1 of 1 expected alerts in time, 1 false alerts" in page
    assert (
        "| killed (`watch-killed`) | `TargetDown` | critical | P1 | oncall | 40.0 s | 3.5 s | 1.2 s | ok |"
        in page
    )
    assert "| the clean period | `X` | warning | P2 | data-team | " in page


def test_a_privileged_fault_is_skipped_unless_root(monkeypatch: pytest.MonkeyPatch) -> None:
    faults = {f.name: f for f in load_scenario(EXAMPLES / "ebook_flask" / "scenario.yaml").faults}
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert skip_reason(faults["volume-full"]) == "it needs root"
    assert skip_reason(faults["db-down"]) == ""
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert skip_reason(faults["volume-full"]) == ""


def test_a_process_starts_at_its_niceness_and_the_run_notes_it(tmp_path: Path) -> None:
    run = ExampleRun.prepare("order_archiver", tmp_path)
    nicer = min(os.nice(0) + 5, 19)  # a niceness above one's own needs no privilege
    started = run.spawn("sleeper", ["${python}", "-c", "import time; time.sleep(30)"], nice=nicer)
    try:
        assert os.getpriority(os.PRIO_PROCESS, started.proc.pid) == nicer
    finally:
        started.stop()
    assert run.notes == [f"the sleeper process ran at nice {nicer}"]
