"""HA: two Prometheus replicas, two clustered Alertmanagers; one notification per group, even one down."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.stack.conftest import Running, supervised

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ha_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with supervised(Path(tmp_path_factory.mktemp("ha")), ha=True) as running:
        yield running


def _am_urls(stack: Running) -> list[str]:
    return [stack.component(f"alertmanager-{i}")["url"] for i in (0, 1)]


def _firing_deliveries(stack: Running, alertname: str) -> list[dict[str, object]]:
    return [
        d
        for d in stack.receiver("deliveries")
        if d["sink"] == "webhook" and d["status"] == "firing" and d["alertnames"] == alertname
    ]


def test_both_alive_deliver_each_group_once(ha_stack: Running) -> None:
    for url in _am_urls(ha_stack):
        wait_for(
            lambda u=url: len(ha_stack.http.get(f"{u}/api/v2/status").json()["cluster"]["peers"]) == 2,
            timeout=15,
            what="cluster of two",
        )
    for i in (0, 1):  # both replicas evaluate the rule, with their own `replica` label
        assert ha_stack.component(f"prometheus-{i}")["pid"]
    ha_stack.push("queue", "queue_length 50\n")
    wait_for(lambda: _firing_deliveries(ha_stack, "QueueTooLong"), timeout=20, what="firing")
    time.sleep(3 + 2)  # peer-timeout of the second instance + gossip: a duplicate would arrive by now
    assert len(_firing_deliveries(ha_stack, "QueueTooLong")) == 1
    firing = ha_stack.receiver("notifications", alertname="QueueTooLong", status="firing")
    assert len(firing) == 1 and "replica" not in firing[0]["labels"]


def test_one_alertmanager_down_still_delivers(ha_stack: Running) -> None:
    # the instance first in the cluster order notifies; the other only if it has not after peer-timeout
    statuses = {
        u: ha_stack.http.get(f"{u}/api/v2/status").json()["cluster"]["name"] for u in _am_urls(ha_stack)
    }
    first = min(statuses, key=lambda u: statuses[u])
    name = "alertmanager-0" if first == _am_urls(ha_stack)[0] else "alertmanager-1"
    pid = ha_stack.component(name)["pid"]
    # a hung instance (SIGSTOP): the supervisor restarts a killed one within 50 ms, a frozen one stays down
    os.kill(pid, signal.SIGSTOP)
    try:
        delay = _fire_new_alert(ha_stack)
    finally:
        os.kill(pid, signal.SIGCONT)
    print(f"delivered by the surviving Alertmanager after {delay:.2f}s")


def _fire_new_alert(stack: Running) -> float:
    stack.push("other", 'queue_length{queue="other"} 99\n')  # joins the group: a new notification
    pushed = time.monotonic()
    wait_for(
        lambda: [
            n
            for n in stack.receiver("notifications", alertname="QueueTooLong", status="firing")
            if n["labels"].get("queue") == "other"
        ],
        timeout=25,
        what="firing alert from the surviving Alertmanager",
    )
    return time.monotonic() - pushed
