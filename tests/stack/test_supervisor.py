"""The supervised stack on hand-written configs: readiness, alert delivery to every sink, crash recovery."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import free_port, wait_for
from tests.stack.conftest import Running

from tocsin.promapi import AsyncPrometheusAPI, PrometheusAPI, PrometheusAPIError
from tocsin.stack.silences import saved_silences
from tocsin.stack.targets import target_rows

pytestmark = pytest.mark.integration


def test_every_target_scraped_and_broken_ones_explained(hand_stack: Running) -> None:
    with PrometheusAPI(hand_stack.url("prometheus")) as prom:
        assert prom.ready()
        rows = wait_for(
            lambda: (r := target_rows(prom.targets())) and all(t.state != "unknown" for t in r) and r,
            what="first scrapes",
        )
    by_job = {r.job: r for r in rows}
    assert {by_job[j].state for j in ("pushgateway", "node", "receiver")} == {"up"}
    assert by_job["refused"].error.startswith("connection refused")
    assert by_job["wrong-path"].error.startswith("404 on the metrics path /nope")
    assert by_job["not-metrics"].error.startswith("not Prometheus format")


def test_alert_reaches_webhook_mail_and_slack_then_resolves(hand_stack: Running) -> None:
    # fast profile: for 2 s + 2 × 1 s interval + group_wait 0 s + 5 s of slack
    budget = 2 + 2 * 1 + 0 + 5
    hand_stack.push("queue", "queue_length 50\n")
    pushed = time.monotonic()
    firing = wait_for(
        lambda: hand_stack.receiver(
            "notifications", alertname="QueueTooLong", status="firing", sink="webhook"
        ),
        timeout=budget,
        interval=0.05,
        what="firing notification",
    )
    fired_after = time.monotonic() - pushed
    assert firing[0]["labels"]["severity"] == "critical"
    mails = wait_for(lambda: [m for m in hand_stack.receiver("mails") if "QueueTooLong" in m["subject"]])
    assert "FIRING" in mails[0]["subject"]
    slack = wait_for(lambda: [m for m in hand_stack.receiver("slack") if "QueueTooLong" in m["text"]])
    assert slack[0]["webhook"].startswith("sha256:")  # the token in the URL is never stored

    hand_stack.push("queue", "queue_length 0\n")
    dropped = time.monotonic()
    wait_for(
        lambda: hand_stack.receiver("notifications", alertname="QueueTooLong", status="resolved"),
        timeout=budget,
        interval=0.05,
        what="resolved notification",
    )
    print(f"firing after {fired_after:.2f}s, resolved after {time.monotonic() - dropped:.2f}s")
    wait_for(lambda: [m for m in hand_stack.receiver("mails") if m["subject"].startswith("[RESOLVED]")])
    # the same alert delivered again (repeat, HA) is one stored transition per status
    assert (
        len(hand_stack.receiver("notifications", alertname="QueueTooLong", status="firing", sink="webhook"))
        == 1
    )


def test_prometheus_kill9_is_restarted_fast_and_keeps_its_series(hand_stack: Running) -> None:
    hand_stack.push("marker", "before_kill_marker 7\n")
    wait_for(lambda: hand_stack.query("before_kill_marker"), what="marker scraped")
    hand_stack.unpush("marker")  # from now on only the TSDB has it
    restarted_in = hand_stack.kill9("prometheus")
    print(f"prometheus restarted {restarted_in:.2f}s after kill -9")
    assert restarted_in <= 2.0
    with PrometheusAPI(hand_stack.url("prometheus")) as prom:
        wait_for(prom.ready, what="prometheus ready after restart")
    result = wait_for(lambda: hand_stack.query("last_over_time(before_kill_marker[10m])"), what="old series")
    assert result[0]["value"][1] == "7"
    assert hand_stack.component("prometheus")["restarts"] == 1
    # the recorded state follows: never left "starting" once the new process answers
    wait_for(lambda: hand_stack.component("prometheus")["state"] == "up", what="state up after the restart")


def test_alertmanager_kill9_keeps_silences(hand_stack: Running) -> None:
    am = hand_stack.url("alertmanager")
    now = datetime.now(UTC)
    silence = {
        "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
        "createdBy": "test",
        "comment": "maintenance window",
    }
    sid = hand_stack.http.post(f"{am}/api/v2/silences", json=silence).json()["silenceID"]
    wait_for(lambda: sid in saved_silences(hand_stack.layout.silences_file), what="silence copied")
    restarted_in = hand_stack.kill9("alertmanager")
    print(f"alertmanager restarted {restarted_in:.2f}s after kill -9")
    assert restarted_in <= 2.0

    def listed() -> list[dict[str, object]]:
        live = hand_stack.http.get(f"{am}/api/v2/silences").json()
        return [s for s in live if s["comment"] == "maintenance window" and s["status"]["state"] == "active"]

    kept = wait_for(listed, timeout=10, what="silence back after restart")
    assert [s["id"] for s in kept] == [sid]  # the same silence, not a copy
    assert kept[0]["matchers"][0]["value"] == "DiskFull"
    assert kept[0]["createdBy"] == "test"


def test_promapi_sync_and_async_twins_agree(hand_stack: Running) -> None:
    url = hand_stack.url("prometheus")
    with PrometheusAPI(url) as prom:
        jobs = {"pushgateway", "node", "receiver", "refused", "wrong-path", "not-metrics"}
        wait_for(lambda: {s["metric"]["job"] for s in prom.query("up")} == jobs, what="every target scraped")
        now = time.time()
        sync_up = {s["metric"]["job"] for s in prom.query("up")}
        sync_rules = [g["name"] for g in prom.rules()]
        series = prom.query_range("up", now - 30, now, 1)
        with pytest.raises(PrometheusAPIError, match=r"/api/v1/query\?query=up%7B: bad_data: .*parse error"):
            prom.query("up{")
        targets_page = prom.web_ui("targets")
        with pytest.raises(
            PrometheusAPIError, match=r"no web UI page 'nope' \(tried .*/nope, .*/classic/nope\)"
        ):
            prom.web_ui("nope")
    assert hand_stack.http.get(targets_page).status_code == 200
    assert hand_stack.http.get(targets_page.replace("targets", "graph") + "?g0.expr=up").status_code == 200

    async def asynchronous() -> tuple[set[str], list[str], bool, str]:
        async with (
            AsyncPrometheusAPI(url) as prom,
            AsyncPrometheusAPI(f"http://127.0.0.1:{free_port()}") as gone,
        ):
            up = {s["metric"]["job"] for s in await prom.query("up")}
            rules = [g["name"] for g in await prom.rules("alert")]
            return up, rules, await gone.ready(), await prom.web_ui("targets")

    async_up, async_rules, gone_ready, async_page = asyncio.run(asynchronous())
    assert async_page == targets_page
    assert async_up == sync_up and "pushgateway" in sync_up
    assert async_rules == sync_rules == ["test"]
    assert series and all(len(s["values"]) >= 1 for s in series)
    assert gone_ready is False
