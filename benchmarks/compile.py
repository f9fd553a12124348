"""Load and compile a generated spec (500 services, 2,000 alert definitions, 3,700 alerting rules) and
the biggest spec the loader accepts; target ≤ 2 s for the first.

Measured in one run, each in a fresh interpreter: loading (the hardened reader, YAML with positions,
pydantic, PromQL, whole-spec checks, lint), compiling, and the peak resident memory of each. The
same figures for tocsin as it was before the loader was hardened (``--baseline``, a git revision,
default 450751f) are taken in the same run, so the ratio holds on a shared, noisy machine; CPU time
(``process_time``) is reported beside wall time for the same reason. ``--instructions`` adds
valgrind callgrind instruction counts for loading (slow, exact). For scale, promtool and amtool
judge the output. Sloth and Pyrra, the peer generators, are Go binaries no registry reachable
here ships, so promtool/amtool are the in-run yardstick.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results

ROOT = Path(__file__).resolve().parent.parent
SERVICES = 500
ALERTS_PER_SERVICE = 4
SLOS = 50
BASELINE = "450751f"  # main before issue 10's loader work


def generate_spec(services: int = SERVICES, slos: int = SLOS) -> str:
    lines = ["version: tocsin/v1", "app: bench", "labels: {environment: bench}", "services:"]
    for s in range(services):
        target = f"10.{s // 62500}.{s // 250 % 250}.{s % 250}:8000"
        lines.append(f'  svc{s}: {{targets: ["{target}"], labels: {{team: t{s % 20}}}}}')
    lines.append("alerts:")
    for s in range(services):
        lines += [
            f"  - {{name: Svc{s}ErrorRatio, service: svc{s}, for: 5m, priority: P1, warning: '> 0.02',"
            f' critical: \'> 0.05\', expr: \'sum(rate(http_requests_total{{job="svc{s}",status=~"5.."}}[5m]))'
            f' / sum(rate(http_requests_total{{job="svc{s}"}}[5m]))\'}}',
            f"  - {{name: Svc{s}LatencyP95, service: svc{s}, for: 10m, priority: P2, warning: '> 0.5',"
            f" critical: '> 1', expr: 'histogram_quantile(0.95, sum by (le) (rate("
            f'http_request_duration_seconds_bucket{{job="svc{s}"}}[5m])))\'}}',
            f"  - {{name: Svc{s}QueueDepth, service: svc{s}, for: 2m, priority: P3, warning: '> 100',"
            f" expr: 'max by (queue) (queue_depth{{job=\"svc{s}\"}})'}}",
            f"  - {{name: Svc{s}Saturated, service: svc{s}, severity: warning, priority: P3,"
            f" expr: 'avg(process_cpu_usage{{job=\"svc{s}\"}}) > 0.9'}}",
        ]
    lines.append("slos:")
    for s in range(slos):
        lines.append(
            f"  - {{name: svc{s}-availability, objective: 99.9, service: svc{s},"
            f' errors: \'sum(rate(http_requests_total{{job="svc{s}",status=~"5.."}}[{{{{window}}}}]))\','
            f" total: 'sum(rate(http_requests_total{{job=\"svc{s}\"}}[{{{{window}}}}]))'}}"
        )
    lines += ["routes:", "  P1: [tocsin]", "  default: [tocsin]"]
    return "\n".join(lines) + "\n"


def biggest_accepted(limit: int) -> tuple[int, str]:
    """The most services whose generated spec still fits in ``limit`` bytes, and that spec."""
    low, high = SERVICES, SERVICES * 64
    while low < high:
        middle = (low + high + 1) // 2
        if len(generate_spec(middle).encode()) <= limit:
            low = middle
        else:
            high = middle - 1
    return low, generate_spec(low)


# Runs in a fresh interpreter with the tocsin under test first on sys.path.
_CHILD = r"""
import json, resource, sys, time
from tocsin.compile import compile_spec
from tocsin.spec import load_spec
path, repeats, do_compile = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
def timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    value = fn()
    return value, time.process_time() - cpu, time.perf_counter() - wall
def peak():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
# the first pass gives the peaks (one spec, one bundle alive); the repeats only the best times
spec, load_cpu, load_wall = timed(lambda: load_spec(path))
out = {"peak_rss_after_load_mb": peak(), "alerts": len(spec.alerts)}
for _ in range(repeats - 1):
    _, cpu, wall = timed(lambda: load_spec(path))
    load_cpu, load_wall = min(load_cpu, cpu), min(load_wall, wall)
out.update(load_cpu=load_cpu, load_wall=load_wall)
if do_compile:
    bundle, compile_cpu, compile_wall = timed(lambda: compile_spec(spec))
    out.update(peak_rss_mb=peak(), files=len(bundle.files), bytes=sum(len(c) for c in bundle.files.values()),
               alerting_rules=sum(c.count("- alert: ") for n, c in bundle.files.items() if "/rules/" in n))
    del bundle
    for _ in range(repeats - 1):
        _, cpu, wall = timed(lambda: compile_spec(spec))
        compile_cpu, compile_wall = min(compile_cpu, cpu), min(compile_wall, wall)
    out.update(compile_cpu=compile_cpu, compile_wall=compile_wall)
else:
    out["peak_rss_mb"] = out["peak_rss_after_load_mb"]
print(json.dumps(out))
"""


def measure(src: Path, spec: Path, *, repeats: int, compile_too: bool = True) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    argv = [sys.executable, "-c", _CHILD, str(spec), str(repeats), "1" if compile_too else "0"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=3600)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in json.loads(done.stdout).items()}


def instructions(src: Path, spec: Path) -> int | None:
    """Instructions callgrind counts for loading ``spec`` (imports subtracted), or None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    for code in ("import tocsin.spec", f"from tocsin.spec import load_spec; load_spec({str(spec)!r})"):
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
            env={**os.environ, "PYTHONPATH": str(src)},
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
        )
        counts.append(int(re.search(r"Collected : (\d+)", done.stderr).group(1)))  # type: ignore[union-attr]
    return counts[1] - counts[0]


def baseline_source(revision: str, into: Path) -> Path | None:
    """``src/`` of ``revision`` unpacked under ``into`` (None when git or the revision is missing)."""
    archive = into / "baseline.tar"
    argv = ["git", "-C", str(ROOT), "archive", "-o", str(archive), revision, "src"]
    done = subprocess.run(argv, capture_output=True, check=False)
    if done.returncode != 0:
        return None
    with tarfile.open(archive) as tar:
        tar.extractall(into / "baseline", filter="data")
    return into / "baseline" / "src"


def _tools(out: Path) -> dict[str, float]:
    def glob(pattern: str) -> list[str]:
        return sorted(str(p) for p in out.glob(pattern))

    steps = {
        "promtool_check_config": ["promtool", "check", "config", "prometheus/prometheus.yml"],
        "promtool_check_rules": ["promtool", "check", "rules", *glob("prometheus/rules/*")],
        "amtool_check_config": ["amtool", "check-config", "alertmanager/alertmanager.yml"],
        "promtool_test_rules": ["promtool", "test", "rules", *glob("prometheus/tests/*_test.yml")],
    }
    seconds = {}
    for name, argv in steps.items():
        start = time.perf_counter()
        subprocess.run(argv, cwd=out, check=True, capture_output=True)
        seconds[name] = round(time.perf_counter() - start, 3)
    return seconds


def _ratio(new: dict[str, Any], old: dict[str, Any] | None, key: str) -> float | None:
    return round(new[key] / old[key], 2) if old and old.get(key) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' for none)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    parser.add_argument("--no-tools", action="store_true", help="skip promtool/amtool")
    parser.add_argument("--biggest-compile", action="store_true", help="also compile the biggest spec (slow)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from tocsin.compile import compile_spec
    from tocsin.spec import MAX_BYTES, load_spec

    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        standard = root / "tocsin.yaml"
        standard.write_text(generate_spec(), encoding="utf-8")
        services, text = biggest_accepted(MAX_BYTES)
        biggest = root / "biggest.yaml"
        biggest.write_text(text, encoding="utf-8")
        old_src = baseline_source(args.baseline, root) if args.baseline else None
        current = measure(ROOT / "src", standard, repeats=3)
        baseline = measure(old_src, standard, repeats=3) if old_src else None
        big = measure(ROOT / "src", biggest, repeats=1, compile_too=args.biggest_compile)
        big_baseline = measure(old_src, biggest, repeats=1, compile_too=False) if old_src else None
        counts = {}
        if args.instructions:
            counts["current"] = instructions(ROOT / "src", standard)
            counts["baseline"] = instructions(old_src, standard) if old_src else None
        tools: dict[str, float] = {}
        if not args.no_tools and shutil.which("promtool") and shutil.which("amtool"):
            compile_spec(load_spec(standard)).write(root / "out")
            tools = _tools(root / "out")
    total = current["load_wall"] + current["compile_wall"]
    results = {
        "services": SERVICES,
        "alert_definitions": SERVICES * ALERTS_PER_SERVICE,
        "slos": SLOS,
        "alerting_rules_generated": current["alerting_rules"],
        "files": current["files"],
        "bytes": current["bytes"],
        "seconds": {
            "load_and_validate": current["load_wall"],
            "compile": current["compile_wall"],
            "load_validate_compile": round(total, 3),
            **tools,
        },
        "cpu_seconds": {"load_and_validate": current["load_cpu"], "compile": current["compile_cpu"]},
        "peak_rss_mb": {
            "after_load": current["peak_rss_after_load_mb"],
            "after_compile": current["peak_rss_mb"],
        },
        "target_seconds": 2.0,
        "meets_target": total <= 2.0,
        "baseline": {"revision": args.baseline, **(baseline or {})},
        "ratio_to_baseline_cpu": {
            "load_and_validate": _ratio(current, baseline, "load_cpu"),
            "compile": _ratio(current, baseline, "compile_cpu"),
        },
        "instructions_load": counts or None,
        "biggest_accepted_spec": {
            "limit_bytes": MAX_BYTES,
            "spec_bytes": len(text.encode()),
            "services": services,
            "alert_definitions": services * ALERTS_PER_SERVICE,
            **big,
            "baseline": big_baseline,
        },
        "ratio_to_promtool_check_rules": round(total / tools["promtool_check_rules"], 2) if tools else None,
        "peers": "Sloth and Pyrra are Go binaries not available from any registry reachable here",
    }
    path = write_results("compile", results)
    print(
        f"load {current['load_wall']:.2f}s (cpu {current['load_cpu']:.2f}s, baseline cpu"
        f" {baseline['load_cpu'] if baseline else '-'}s), compile {current['compile_wall']:.2f}s,"
        f" peak {current['peak_rss_mb']} MB: {path}"
    )
    print(
        f"biggest accepted ({len(text.encode()):,} bytes, {services} services): load {big['load_wall']:.1f}s"
        f" (cpu {big['load_cpu']:.1f}s), peak {big['peak_rss_after_load_mb']} MB after load"
    )


if __name__ == "__main__":
    main()
