"""The log watcher against mtail, a per-line ``re`` loop and ``grep -cE``, in one run.

Throughput, one core, 1,000,000 lines in seed 003's format (~120 bytes each):

- ``tocsin (engine)``: the watcher in-process (tail, match, count, checkpoint), per engine; then with the
  text ``level`` regex, then with the SQLite/FTS5 store on; with seed 003's 10 patterns and with 100;
- whole processes, same file, same patterns: ``tocsin logwatch --once`` and ``mtail --one_shot`` (Debian's
  mtail, its programs generated from the same regexes), start-up included;
- ``naive re``: for each line, for each pattern, ``re.search``; ``grep -cE``: one alternation, in C, the
  floor of what matching alone costs (no per-pattern counts).

Every run's per-pattern totals are checked equal to the naive loop's (mtail's too).

Rotation, the usual case (issue 10, item 8): Python's ``RotatingFileHandler`` writes 100,000 lines into
``logs/app.log`` (200 KB files, kept), while a ``tocsin logwatch`` process and an ``mtail`` process follow
the glob ``logs/*.log`` side by side; the share of lines each counted.

Run: ``.venv/bin/python benchmarks/logwatch.py`` → ``benchmarks/results/logwatch.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests' helpers: the rotating writer

from _common import best_of, write_results

from tocsin.cli._logwatch import watch_config
from tocsin.logwatch import Watcher

LINES = 1_000_000
SEED_PATTERNS = [
    ("orders_archived", r"✅ Archived (?P<count>\d+) orders", "count"),
    ("change_stream_opened", r"✅ Change Stream opened successfully", None),
    ("database_connected", r"✅ Connected to database", None),
    ("orders_incomplete", r"⚠️  Order .+ is incomplete", None),
    ("orders_duplicates", r"⚠️  Order .+ already archived", None),
    ("resume_token_load_failures", r"⚠️  Could not load resume token", None),
    ("connection_errors", r"❌ Failed to connect to MongoDB", None),
    ("order_enrich_errors", r"❌ Error enriching order", None),
    ("change_stream_errors", r"❌ Change Stream error", None),
    ("slow_queries", r"slow query took (?P<ms>\d+) ms", "ms"),
]
#: 90 more, each matching its own kind of line (about 1 line in 14 matches one of them).
MANY_PATTERNS = SEED_PATTERNS + [
    (f"component_{k:02d}_errors", rf"component-{k:02d} failed with code=\d+", None) for k in range(90)
]
MESSAGES = [
    "✅ Archived {n} orders",
    "⚠️  Order ORD-{i} is incomplete",
    "❌ Failed to connect to MongoDB: timed out",
    "slow query took {n} ms on Commande",
    "✅ Connected to database",
    "⚠️  Order ORD-{i} already archived",
    "❌ Error enriching order ORD-{i}",
    "✅ Change Stream opened successfully",
    "⚠️  Could not load resume token",
    "❌ Change Stream error: cursor killed",
]
FILLER = [
    "📦 Found {n} delivered orders in Commande (status=livrée)",
    "📊 Progress: {n}/150 processed, batch {i}",
    "processing order ORD-{i} for customer C{n}",
    "change event received: op=update ns=shop.Commande id={i}",
    "resume token saved: {i:016x}",
    "component-{c:02d} failed with code={n}",
    "component-{c:02d} recovered after {n} retries",
]
LEVELS = ["INFO", "INFO", "DEBUG", "INFO", "WARNING", "INFO", "ERROR"]


def make_log(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(LINES):
            n = i % 150 + 1
            text = MESSAGES[i // 7 % len(MESSAGES)] if i % 7 == 0 else FILLER[i % len(FILLER)]
            level = LEVELS[i % len(LEVELS)]
            f.write(
                f"2025-10-16 12:{i // 60 % 60:02d}:{i % 60:02d} [{level}] [archiver] "
                + text.format(i=i, n=n, c=i // 7 % 90)
                + "\n"
            )


def config_text(
    log: str, patterns: list[tuple[str, str, str | None]], *, level: bool = False, store: bool = False
) -> str:
    lines = [f"files:\n  - path: '{log}'\n    source: archiver"]
    if level:
        lines.append("    level: '\\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\\]'")
    lines.append("patterns:")
    for name, regex, value in patterns:
        lines.append(f"  - {{name: {name}, regex: '{regex}'" + (f", value: {value}}}" if value else "}"))
    lines.append("store: {enabled: true, retention: 3650d}" if store else "store: {enabled: false}")
    return "\n".join(lines) + "\n"


def mtail_program(patterns: list[tuple[str, str, str | None]], every_line: bool = False) -> str:
    """The same counters as an mtail program (mtail's regexes are RE2: these are written in both)."""
    out = []
    if every_line:
        out += ["counter log_lines_total", "/$/ {", "  log_lines_total++", "}"]
    for name, regex, value in patterns:
        out += [
            f"counter {name}_total",
            f"/{regex}/ {{",
            f"  {name}_total += ${value}" if value else f"  {name}_total++",
            "}",
        ]
    return "\n".join(out) + "\n"


def run_tocsin(
    work: Path, log: Path, engine: str, patterns: list[tuple[str, str, str | None]], **options: bool
) -> tuple[float, dict[str, float]]:
    config = work / "logwatch.yaml"
    config.write_text(config_text(str(log), patterns, **options))
    state = work / "state"
    shutil.rmtree(state, ignore_errors=True)
    watcher = Watcher(watch_config(str(config)), state, engine=engine)
    start = time.perf_counter()
    while watcher.poll():
        pass
    elapsed = time.perf_counter() - start
    totals = {name: sum(series.values()) for name, series in watcher.counts.patterns.items()}
    lines = sum(watcher.counts.lines.values())
    watcher.close()
    assert lines == LINES, lines
    return elapsed, totals


def run_naive(log: Path, patterns: list[tuple[str, str, str | None]]) -> tuple[float, dict[str, float], int]:
    compiled = [(name + "_total", re.compile(regex), value) for name, regex, value in patterns]
    totals = dict.fromkeys((c[0] for c in compiled), 0.0)
    any_match = 0
    start = time.perf_counter()
    with open(log, encoding="utf-8") as f:
        for line in f:
            hit = False
            for name, regex, value in compiled:
                m = regex.search(line)
                if m:
                    totals[name] += float(m.group(value)) if value else 1.0
                    hit = True
            any_match += hit
    return time.perf_counter() - start, totals, any_match


def grep_pattern() -> str:
    """The 10 regexes as one POSIX ERE alternation (no named groups, no ``\\d``)."""
    parts = [re.sub(r"\(\?P<\w+>", "(", regex).replace(r"\d", "[0-9]") for _, regex, _ in SEED_PATTERNS]
    return "|".join(f"({p})" for p in parts)


def _pinned(cmd: list[str], cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if shutil.which("taskset") else cmd


def run_grep(log: Path, cpu: int) -> tuple[float, int]:
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    start = time.perf_counter()
    out = subprocess.run(
        _pinned(["grep", "-cE", grep_pattern(), str(log)], cpu),
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return time.perf_counter() - start, int(out.stdout)


def _prometheus_totals(text: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        name = name.split("{", 1)[0]
        totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def run_tocsin_process(
    work: Path, log: Path, patterns: list[tuple[str, str, str | None]], cpu: int
) -> tuple[float, dict[str, float]]:
    """``tocsin logwatch --once`` as a user runs it: a fresh process, YAML config, everything included."""
    config = work / "process.yaml"
    config.write_text(config_text(str(log), patterns))
    state = work / "process-state"
    shutil.rmtree(state, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "tocsin",
        "logwatch",
        "--config",
        str(config),
        "--state-dir",
        str(state),
        "--once",
        "--no-http",
    ]
    start = time.perf_counter()
    subprocess.run(_pinned(cmd, cpu), check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    saved = json.loads((state / "logwatch-checkpoint.json").read_text())["counts"]["patterns"]
    return elapsed, {name: sum(v for _, v in series) for name, series in saved.items()}


def run_mtail_once(
    work: Path, log: Path, patterns: list[tuple[str, str, str | None]], cpu: int
) -> tuple[float, dict[str, float]]:
    progs = work / "mtail-progs"
    shutil.rmtree(progs, ignore_errors=True)
    progs.mkdir()
    (progs / "patterns.mtail").write_text(mtail_program(patterns))
    cmd = [
        "mtail",
        "--one_shot",
        "--one_shot_format",
        "prometheus",
        "--progs",
        str(progs),
        "--logs",
        str(log),
        "--logtostderr",
    ]
    start = time.perf_counter()
    out = subprocess.run(_pinned(cmd, cpu), check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    totals = _prometheus_totals(out.stdout)
    return elapsed, {k: v for k, v in totals.items() if k.endswith("_total")}


def throughput(work: Path, cpu: int) -> dict[str, object]:
    log = work / "archiver.log"
    make_log(log)
    log.read_bytes()  # into the page cache
    results: dict[str, dict[str, float]] = {}
    reference: dict[int, dict[str, float]] = {}

    def check(totals: dict[str, float], patterns: list[tuple[str, str, str | None]], who: str) -> None:
        expected = {k: v for k, v in reference[len(patterns)].items() if v}
        assert {k: v for k, v in totals.items() if v} == expected, (who, totals, expected)

    naive_s, totals, any_match = run_naive(log, SEED_PATTERNS)
    reference[len(SEED_PATTERNS)] = totals
    results["naive re loop, 10 patterns"] = {"seconds": naive_s}
    naive_many_s, totals_many, _ = run_naive(log, MANY_PATTERNS)
    reference[len(MANY_PATTERNS)] = totals_many
    results["naive re loop, 100 patterns"] = {"seconds": naive_many_s}
    grep_s = best_of(lambda: run_grep(log, cpu)[0], 3)
    assert run_grep(log, cpu)[1] == any_match
    results["grep -cE, 10 patterns"] = {"seconds": grep_s}

    def timed(
        engine: str, patterns: list[tuple[str, str, str | None]], repeats: int = 3, **options: bool
    ) -> float:
        def once() -> float:
            elapsed, totals = run_tocsin(work, log, engine, patterns, **options)
            check(totals, patterns, f"tocsin {engine} {options}")
            return elapsed

        return best_of(once, repeats)

    for engine in ("hyperscan", "re2", "re"):
        results[f"tocsin ({engine}), 10 patterns"] = {
            "seconds": timed(engine, SEED_PATTERNS, 3 if engine != "re" else 1)
        }
    results["tocsin (hyperscan), 10 patterns + level regex"] = {
        "seconds": timed("hyperscan", SEED_PATTERNS, level=True)
    }
    results["tocsin (hyperscan), 10 patterns + level + store"] = {
        "seconds": timed("hyperscan", SEED_PATTERNS, 1, level=True, store=True)
    }
    results["tocsin (hyperscan), 100 patterns"] = {"seconds": timed("hyperscan", MANY_PATTERNS)}
    results["tocsin (re2), 100 patterns"] = {"seconds": timed("re2", MANY_PATTERNS, 1)}
    for patterns in (SEED_PATTERNS, MANY_PATTERNS):
        n = len(patterns)
        elapsed, totals = run_tocsin_process(work, log, patterns, cpu)
        check(totals, patterns, "tocsin process")
        results[f"tocsin logwatch --once (whole process), {n} patterns"] = {"seconds": elapsed}
        elapsed, totals = run_mtail_once(work, log, patterns, cpu)
        check(totals, patterns, "mtail")
        results[f"mtail --one_shot (whole process), {n} patterns"] = {"seconds": elapsed}
    for entry in results.values():
        entry["lines_per_second"] = round(LINES / entry["seconds"])
        entry["seconds"] = round(entry["seconds"], 3)

    def lps(name: str) -> float:
        return float(results[name]["lines_per_second"])

    ratios = {
        "tocsin_vs_naive_re_10": round(
            lps("tocsin (hyperscan), 10 patterns") / lps("naive re loop, 10 patterns"), 2
        ),
        "tocsin_vs_naive_re_100": round(
            lps("tocsin (hyperscan), 100 patterns") / lps("naive re loop, 100 patterns"), 2
        ),
        "tocsin_vs_grep_10": round(lps("tocsin (hyperscan), 10 patterns") / lps("grep -cE, 10 patterns"), 2),
        "tocsin_process_vs_mtail_10": round(
            lps("tocsin logwatch --once (whole process), 10 patterns")
            / lps("mtail --one_shot (whole process), 10 patterns"),
            2,
        ),
        "tocsin_process_vs_mtail_100": round(
            lps("tocsin logwatch --once (whole process), 100 patterns")
            / lps("mtail --one_shot (whole process), 100 patterns"),
            2,
        ),
    }
    return {
        "lines": LINES,
        "bytes": log.stat().st_size,
        "matching_lines_10_patterns": any_match,
        "cpu": "one core (sched_setaffinity / taskset)",
        "target_lines_per_second_100_patterns": 1_000_000,
        "results": results,
        "ratios": ratios,
        "counts_agree": True,  # asserted above: every run equals the naive loop's per-pattern totals
    }


def rotation(work: Path) -> dict[str, object]:
    """RotatingFileHandler, glob of the live file only: tocsin and mtail follow the same run."""
    import httpx
    from tests.conftest import free_port
    from tests.logwatch._helpers import (
        SEED_003_PATTERNS,
        WatcherProcess,
        seed_config,
        write_with_rotating_handler,
    )

    logs = work / "rot" / "logs"
    logs.mkdir(parents=True)
    config = work / "rot" / "logwatch.yaml"
    config.write_text(seed_config(str(logs / "*.log"), store=False, poll="250ms"))
    progs = work / "rot" / "progs"
    progs.mkdir()
    seed = [
        (m.group(1), m.group(2), m.group(3))
        for m in re.finditer(r"name: (\w+), regex: '([^']+)'(?:, value: (\w+))?", SEED_003_PATTERNS)
    ]
    (progs / "seed.mtail").write_text(mtail_program(seed, every_line=True))
    port = free_port()
    mtail = subprocess.Popen(
        [
            "mtail",
            "--progs",
            str(progs),
            "--logs",
            str(logs / "*.log"),
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
            "--logtostderr",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    watcher = WatcherProcess(config, work / "rot" / "state")
    try:
        watcher.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        written = write_with_rotating_handler(logs / "app.log", 100_000, duration=10.0)
        time.sleep(5)  # both settle: tocsin is caught up well before this
        tocsin_lines = watcher.metrics().get("log_lines_total", 0.0)
        mtail_totals = _prometheus_totals(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        mtail_lines = mtail_totals.get("log_lines_total", 0.0)
        watcher.stop()
    finally:
        watcher.__exit__()
        mtail.terminate()
        mtail.wait(10)
    return {
        "lines_written": written.lines,
        "rotations": written.rotations,
        "file_bytes": 200_000,
        "glob": "logs/*.log",
        "tocsin_counted": tocsin_lines,
        "tocsin_percent": round(100 * tocsin_lines / written.lines, 1),
        "mtail_counted": mtail_lines,
        "mtail_percent": round(100 * mtail_lines / written.lines, 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rotated = rotation(work)  # both processes on both cores, as they would run
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})  # then one core, for everyone
        summary = throughput(work, cpu)
    summary["rotation"] = rotated
    path = write_results("logwatch", summary)
    results = summary["results"]
    assert isinstance(results, dict)
    width = max(map(len, results))
    for name, entry in results.items():
        print(f"{name:<{width}}  {entry['lines_per_second']:>12,} lines/s  ({entry['seconds']} s)")
    print(summary["ratios"])
    print("rotation:", rotated)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
