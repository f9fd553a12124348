"""Run Prometheus's own tools on a written bundle and turn their complaints into Problems.

``promtool check config`` (which also loads the rule files), ``promtool check
rules``, ``promtool test rules`` and ``amtool check-config`` run in parallel on
the Debian binaries; with a spec, ``amtool config routes test`` also confirms
that every priority/severity an alert can carry reaches the receivers the spec
names.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tocsin.errors import Problem

__all__ = ["TOOLS", "check_bundle", "route_cases"]

TOOLS = ("promtool", "amtool")
_NOISE = ("Checking ", "  SUCCESS", "SUCCESS", "Unit Testing:", "Found ")


def _run(argv: Sequence[str], cwd: Path) -> tuple[int, str]:
    try:
        done = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        return 127, f"{argv[0]} not found"
    except subprocess.TimeoutExpired:
        return 124, f"{argv[0]} did not finish in 120 s"
    return done.returncode, (done.stdout + done.stderr).strip()


def _readable(output: str, root: Path) -> str:
    """The tool's complaint on one line: progress lines dropped, the temporary root made relative."""
    output = output.replace(f"{root}/", "")
    lines = [
        ln.strip()
        for ln in output.splitlines()
        if ln.strip() and ln.strip() != "FAILED:" and not ln.lstrip().startswith(_NOISE)
    ]
    return "; ".join(lines[:40]) or output.strip()


def route_cases(spec: object) -> list[tuple[dict[str, str], list[str]]]:
    """(labels, expected receivers) for every priority × severity an alert can carry."""
    from tocsin.compile.alertmanager import expected_receivers
    from tocsin.spec import Spec

    assert isinstance(spec, Spec)
    cases = []
    for priority in ("P1", "P2", "P3"):
        for severity in ("critical", "warning"):
            labels = {"alertname": "RouteCheck", "priority": priority, "severity": severity}
            cases.append((labels, expected_receivers(spec, labels)))
    return cases


def check_bundle(directory: str | Path, *, spec: object | None = None) -> list[Problem]:
    """Problems promtool and amtool find in the bundle written at ``directory`` ([] when all pass).

    Each problem names the file (relative to ``directory``) and carries the tool's
    own message, trimmed of its progress lines.
    """
    root = Path(directory)
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        hint = "apt-get install prometheus prometheus-alertmanager"
        return [Problem(str(root), 0, 0, f"{', '.join(missing)} not found on PATH", hint)]
    jobs: list[tuple[str, list[str], str]] = []
    for config in sorted(root.glob("prometheus/prometheus*.yml")):
        jobs.append(
            (str(config.relative_to(root)), ["promtool", "check", "config", str(config)], "check config")
        )
    for rules in sorted(root.glob("prometheus/rules/*.yml")):
        jobs.append((str(rules.relative_to(root)), ["promtool", "check", "rules", str(rules)], "check rules"))
    for test in sorted(root.glob("prometheus/tests/*.yml")):
        jobs.append((str(test.relative_to(root)), ["promtool", "test", "rules", str(test)], "unit tests"))
    am = root / "alertmanager" / "alertmanager.yml"
    if am.exists():
        jobs.append(("alertmanager/alertmanager.yml", ["amtool", "check-config", str(am)], "check-config"))
        for labels, expected in route_cases(spec) if spec is not None else []:
            argv = [
                "amtool",
                "config",
                "routes",
                "test",
                f"--config.file={am}",
                "--verify.receivers=" + ",".join(expected),
            ]
            argv += [f"{k}={v}" for k, v in labels.items()]
            jobs.append(
                (
                    "alertmanager/alertmanager.yml",
                    argv,
                    f"route for {labels['priority']}/{labels['severity']}",
                )
            )
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: _run(job[1], root), jobs))
    problems = []
    for (file, _argv, what), (code, output) in zip(jobs, results, strict=True):
        if code != 0:
            text = _readable(output, root)
            hint = (
                "fix the included rule file"
                if "rules/include-" in text
                else "report it with the spec to tocsin"
            )
            problems.append(Problem(file, 0, 0, f"{what} failed: {text}", hint))
    return problems
