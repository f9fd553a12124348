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
    firing = ha_stack.receiver("notifications", alertname="QueueTooLong", status="firing", sink="webhook")
    assert len(firing) == 1 and "replica" not in firing[0]["labels"]


def _notifying_instance(stack: Running) -> str:
    """The instance first in the cluster order: it notifies; the other does after peer-timeout."""
    names = {}
    for i in (0, 1):
        url = stack.component(f"alertmanager-{i}")["url"]
        names[f"alertmanager-{i}"] = stack.http.get(f"{url}/api/v2/status").json()["cluster"]["name"]
    return min(names, key=lambda n: names[n])


def test_one_alertmanager_hung_still_delivers(ha_stack: Running) -> None:
    pid = ha_stack.component(_notifying_instance(ha_stack))["pid"]
    os.kill(pid, signal.SIGSTOP)  # hung: alive for the supervisor, dead for its peer and for Prometheus
    try:
        delay = _fire_new_alert(ha_stack, "hung")
    finally:
        os.kill(pid, signal.SIGCONT)
    print(f"delivered by the other Alertmanager {delay:.2f}s after the push")


def test_one_alertmanager_killed_still_delivers(ha_stack: Running) -> None:
    name = _notifying_instance(ha_stack)
    ha_stack.kill9(name)  # comes back within 50 ms, empty, and rejoins the cluster
    delay = _fire_new_alert(ha_stack, "killed")
    print(f"delivered {delay:.2f}s after the push, {name} killed just before")


def _fire_new_alert(stack: Running, queue: str) -> float:
    stack.push(queue, f'queue_length{{queue="{queue}"}} 99\n')  # joins the group: a new notification
    pushed = time.monotonic()
    wait_for(
        lambda: [
            n
            for n in stack.receiver(
                "notifications", alertname="QueueTooLong", status="firing", sink="webhook"
            )
            if n["labels"].get("queue") == queue
        ],
        timeout=25,
        what=f"firing alert for queue {queue}",
    )
    return time.monotonic() - pushed
