"""The examples' shared harness: run an example (its processes, the stack, traffic), break it as its
``scenario.yaml`` says, and measure which alerts reach which receivers, how fast (docs/examples.md).

- :mod:`.scenario`: the ``scenario.yaml`` model (processes, traffic, faults → expected alerts);
- :mod:`.run`: :class:`ExampleRun`, one run with its own ports, directory, database and stack;
- :mod:`.observe`: :func:`play`, the clean period and each fault in turn, as detection rows;
- :mod:`.detection`: docs/detection.md from every example's rows;
- :mod:`.demo`: ``tocsin demo NAME`` (and ``--fault``).
"""

from __future__ import annotations

from .observe import Observer, Row, play
from .run import EXAMPLES, ROOT, ExampleRun, HarnessError, example_names, scenario_path
from .scenario import Expect, Fault, Process, Scenario, load_scenario

__all__ = [
    "EXAMPLES",
    "ROOT",
    "ExampleRun",
    "Expect",
    "Fault",
    "HarnessError",
    "Observer",
    "Process",
    "Row",
    "Scenario",
    "example_names",
    "load_scenario",
    "play",
    "scenario_path",
]
