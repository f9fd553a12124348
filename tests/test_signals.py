"""tocsin.signals: SIGTERM always stops a main thread that waits on the Event, however it waits."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

_CHILD = """
import signal, sys, threading, time
stop = threading.Event()
if sys.argv[1] == "tocsin":
    from tocsin.signals import on_signals
    on_signals(stop.set, (signal.SIGTERM,))
else:  # the handler every example had: stop.set() inside the handler
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("ready", flush=True)
while not stop.is_set():
    stop.wait(0.001)
    with stop._cond:  # what Event.wait holds between its checks: the window, held open for 10 ms
        time.sleep(0.01)
"""


def _stops(kind: str, tries: int, within: float) -> int:
    """How many of ``tries`` children exit within ``within`` seconds of SIGTERM."""
    stopped = 0
    for _ in range(tries):
        child = subprocess.Popen([sys.executable, "-c", _CHILD, kind], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            time.sleep(0.05)
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=within)
                stopped += 1
            except subprocess.TimeoutExpired:
                pass
        finally:
            child.kill()
            child.wait()
            assert child.stdout is not None
            child.stdout.close()
    return stopped


def test_sigterm_stops_a_main_thread_waiting_on_the_event() -> None:
    assert _stops("tocsin", 20, within=10) == 20


def test_the_plain_handler_deadlocks_in_that_window() -> None:
    """The reason for the module: without it, some of these children never stop."""
    assert _stops("plain", 5, within=3) < 5
