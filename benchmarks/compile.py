"""Compile a generated spec with 500 services and 2,000 alert definitions; target ≤ 2 s.

Measures, in one run: loading the spec (YAML with positions, pydantic, PromQL
parsing, whole-spec checks), compiling it, and, for scale, how long Prometheus's
own tools take to judge the output (promtool check config + check rules + test
rules, amtool check-config). Sloth and Pyrra, the peer generators, are Go
binaries that no registry reachable here ships, so they are not in the run;
the promtool/amtool figures are the in-run yardstick.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, write_results

from tocsin.compile import compile_spec
from tocsin.spec import load_spec

SERVICES = 500
ALERTS_PER_SERVICE = 4
SLOS = 50


def generate_spec(services: int = SERVICES, slos: int = SLOS) -> str:
    lines = ["version: tocsin/v1", "app: bench", "labels: {environment: bench}", "services:"]
    for s in range(services):
        target = f"10.0.{s // 250}.{s % 250}:8000"
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


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def _glob(root: Path, pattern: str) -> list[str]:
    return sorted(str(p) for p in root.glob(pattern))


def _tools(out: Path) -> dict[str, float]:
    steps = {
        "promtool_check_config": ["promtool", "check", "config", "prometheus/prometheus.yml"],
        "promtool_check_rules": ["promtool", "check", "rules", *_glob(out, "prometheus/rules/*")],
        "amtool_check_config": ["amtool", "check-config", "alertmanager/alertmanager.yml"],
        "promtool_test_rules": ["promtool", "test", "rules", *_glob(out, "prometheus/tests/*_test.yml")],
    }
    seconds = {}
    for name, argv in steps.items():
        start = time.perf_counter()
        subprocess.run(argv, cwd=out, check=True, capture_output=True)
        seconds[name] = round(time.perf_counter() - start, 3)
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        path = Path(temp) / "tocsin.yaml"
        path.write_text(generate_spec(), encoding="utf-8")
        spec = load_spec(path)
        load_s = best_of(lambda: _timed(lambda: load_spec(path)), repeats=3)
        compile_s = best_of(lambda: _timed(lambda: compile_spec(spec)), repeats=3)
        bundle = compile_spec(spec)
        write_s = _timed(lambda: bundle.write(Path(temp) / "out"))
        alerting_rules = sum(
            content.count("- alert: ") for name, content in bundle.files.items() if "/rules/" in name
        )
        have_tools = shutil.which("promtool") and shutil.which("amtool")
        tools = _tools(Path(temp) / "out") if have_tools else {}
    total = load_s + compile_s
    results = {
        "services": SERVICES,
        "alert_definitions": SERVICES * ALERTS_PER_SERVICE,
        "slos": SLOS,
        "alerting_rules_generated": alerting_rules,
        "files": len(bundle.files),
        "bytes": sum(len(c) for c in bundle.files.values()),
        "seconds": {
            "load_and_validate": round(load_s, 3),
            "compile": round(compile_s, 3),
            "load_validate_compile": round(total, 3),
            "write": round(write_s, 3),
            **tools,
        },
        "target_seconds": 2.0,
        "meets_target": total <= 2.0,
        "ratio_to_promtool_check_rules": (round(total / tools["promtool_check_rules"], 2) if tools else None),
        "peers": "Sloth and Pyrra are Go binaries not available from any registry reachable here",
    }
    path_out = write_results("compile", results)
    print(f"load+validate {load_s:.2f}s, compile {compile_s:.2f}s (target 2 s): {path_out}")
    print(f"{alerting_rules} alerting rules in {len(bundle.files)} files; tools: {tools}")


if __name__ == "__main__":
    main()
