# ruff: noqa: E501 - long Markdown lines are the output itself
"""Write docs/packs/<pack>.md and docs/packs/index.md from the packs themselves.

Each page puts side by side what a reader needs and what must never drift: the SDK module's own
docstring (usage and meaning), the metrics as the SDK pack really registers them (name, type,
labels, help), and the alerts, panels and recording rules of the spec's definitions, expanded with
the example parameters below. ``tests/packs/test_docs.py`` fails when a page is out of date;
run ``.venv/bin/python scripts/gen_pack_docs.py`` to rewrite them.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from string import Template
from typing import Any

from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.packs.sdk_for_spec import build  # noqa: E402
from tests.packs.test_seed_queries import SEED_000, SEED_001, SEED_004, SEED_004_EMPTY  # noqa: E402

from tocsin.spec import PACKS, PackUse  # noqa: E402
from tocsin.spec._packs import _fill, _variables, expand  # noqa: E402

DOCS = ROOT / "docs" / "packs"

#: The example each page shows (the seed's own names where a seed uses the pack).
EXAMPLES: dict[str, dict[str, Any]] = {
    "jobs": {"use": "jobs", "job": "archiver", "items": "orders", "done": "archived"},
    "stream": {"use": "stream", "namespace": "change_stream"},
    "queue": {"use": "queue", "prefix": "ocr", "items": "documents", "type_label": "document_type"},
    "cache": {"use": "cache", "prefix": "ocr", "cache": "ocr", "redis_exporter": True},
    "etl": {"use": "etl", "prefix": "kpi"},
    "anomaly": {"use": "anomaly", "prefix": "kpi"},
    "llm": {"use": "llm", "namespace": "openai", "currency": "EUR"},
    "websocket": {"use": "websocket", "prefix": "kpi"},
    "security": {"use": "security", "prefix": "django", "namespace": ""},
    "db": {"use": "db", "prefix": "django", "postgres_exporter": True},
    "client": {"use": "client", "target": "auth"},
    "sessions": {"use": "sessions", "namespace": "coaching"},
    "frontend": {"use": "frontend"},
}
#: The SDK module of each pack (its docstring is the page's introduction).
MODULES = {
    "anomaly": "anomaly", "cache": "cache", "client": "client", "db": "db", "etl": "etl", "frontend": "frontend",
    "jobs": "jobs", "llm": "llm", "queue": "queue", "security": "security", "sessions": "sessions",
    "stream": "stream", "websocket": "websocket",
}  # fmt: skip
#: Which seed queries belong to which pack page (by the metric names they read).
SEED_QUERY_METRICS = {
    "queue": ("ocr_documents", "ocr_processing", "ocr_queue", "ocr_confidence"),
    "cache": ("ocr_cache",),
    "etl": ("kpi_etl",),
    "anomaly": ("kpi_analytics",),
    "websocket": ("kpi_websocket",),
    "security": ("kpi_security", "django_auth"),
    "db": ("django_db",),
    "llm": ("openai_",),
}
_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "unknown": "gauge"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _yaml(example: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        return "true" if v is True else "false" if v is False else (f'"{v}"' if v == "" else str(v))

    return "{" + ", ".join(f"{k}: {value(v)}" for k, v in example.items()) + "}"


def _sdk(pack: Any, example: dict[str, Any]) -> str:
    values = {**{k: str(v) for k, v in pack.params.items()}, **{k: str(v) for k, v in example.items()}}
    values.setdefault("namespace", pack.namespace)
    return Template(pack.sdk).safe_substitute(values)


def _metrics(use: PackUse) -> list[str]:
    registry = CollectorRegistry()
    build(use, registry)
    rows = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for collector in list(registry._collector_to_names):
        describe = getattr(collector, "describe", None)
        for family in describe() if describe is not None else collector.collect():
            if family.name == "tocsin_series_dropped":
                continue  # the series cap's own counter, not the pack's
            labels = list(getattr(collector, "_labelnames", ()) or ())
            if not labels and family.name.endswith("_by_source"):
                labels = ["source"]
            name = family.name + ("_total" if family.type == "counter" else "")
            kind = _TYPES.get(family.type, family.type)
            rows.append(
                f"| `{name}` | {kind} | {', '.join(f'`{x}`' for x in labels) or '—'} | {_cell(family.documentation)} |"
            )
    return rows


def page(name: str) -> str:
    pack = PACKS[name]
    use = PackUse.model_validate(EXAMPLES[name])
    expansion = expand(use)
    variables = _variables(use)
    module = importlib.import_module(f"tocsin.sdk.packs.{MODULES[name]}")
    intro = inspect.cleandoc(module.__doc__ or "")
    lines = [
        f"# {pack.title} pack (`use: {name}`)",
        "",
        f"{pack.summary} Seeds: {pack.seeds or '—'}. SDK: `{_sdk(pack, EXAMPLES[name])}`, namespace"
        f" `{pack.namespace or '(none)'}`.",
        "",
        "<!-- generated by scripts/gen_pack_docs.py from the SDK module and the spec's pack definition -->",
        "",
        "## In the application",
        "",
        *_rst_to_md(intro).splitlines(),
        "",
        "## In the spec",
        "",
        "```yaml",
        f"packs:\n  - {_yaml(EXAMPLES[name])}",
        "```",
        "",
        "Common keys: `prefix` (the SDK's `configure(prefix=...)`), `namespace` (the pack's, "
        f"default `{pack.namespace or '(none)'}`), `name` (alert-name prefix), `service`, `selector` (extra label"
        " matchers), `labels`, and per alert key `priority`, `thresholds` (`{warning: ..., critical: ...}`, null drops"
        ' a level), `for` (`"*"` for all), `runbook` (a URL or a `.md` file next to the spec, `"*"` for all) and'
        " `disable`; `dashboard` (a title, or false).",
        "",
    ]
    if pack.params and pack.param_docs:
        lines += ["| parameter | default | meaning |", "|---|---|---|"]
        lines += [
            f"| `{k}` | {'required' if v is None else f'`{v}`'} | {_cell(pack.param_docs.get(k, ''))} |"
            for k, v in pack.params.items()
        ]
        lines.append("")
    elif pack.params:
        lines += ["| parameter | default |", "|---|---|"]
        lines += [f"| `{k}` | {'required' if v is None else f'`{v}`'} |" for k, v in pack.params.items()]
        lines.append("")
    if any(pack.kinds.get(k) == "duration" for k in pack.params):
        lines += [
            "Parameters that are durations (`90s`, `15m`, `7d`) and counts (a whole number) are checked at the"
            " pack's line. A pack's `profiles: {fast: {param: value}}` replaces parameters under `--profile fast`"
            " (a plan's time-scaled value that is not a threshold).",
            "",
        ]
    lines += ["## Metrics (with the example's parameters)", "", *_metrics(use), ""]
    lines += ["## Alerts", ""]
    if expansion.alerts:
        lines += [
            "| key | alert | expression | warning | critical | for | priority | from |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for definition, alert in zip(
            [a for a in pack.alerts if a.key not in use.disable], expansion.alerts, strict=True
        ):
            lines.append(
                f"| `{definition.key}` | {alert.name} | `{_cell(alert.expr)}` | {_cell(alert.warning or '')} |"
                f" {_cell(alert.critical or '')} | {alert.for_ or ''} | {alert.priority} | {_cell(_fill(definition.seed, variables))} |"
            )
    else:
        lines.append("None: this pack adds panels only.")
    lines += ["", "## Panels", "", "| panel | kind | unit | expression |", "|---|---|---|---|"]
    for panel in expansion.panels:
        lines.append(f"| {_cell(panel.title)} | {panel.kind} | {panel.unit} | `{_cell(panel.expr)}` |")
    metric_parts = SEED_QUERY_METRICS.get(name, ())
    queries = [q for q in (*SEED_000, *SEED_001, *SEED_004) if any(m in q for m in metric_parts)]
    empty = [q for q in SEED_004_EMPTY if any(m in q for m in metric_parts)]
    lines += ["", "## PromQL", ""]
    if queries:
        lines += [
            "The seeds' own queries, which run unchanged against this pack's metrics in a real Prometheus"
            " (`tests/packs/test_seed_queries.py`):",
            "",
            "```promql",
            *queries,
            "```",
            "",
        ]
    if empty:
        lines.append(
            f"Seed 004 asks for `{empty[0]}`: it runs, but a histogram has no series under its bare name; read"
            " its `_bucket`, `_sum` and `_count` series, as the panels above do."
        )
    if not queries and not empty:
        lines.append("The panels' expressions above are the queries to start from.")
    if expansion.records:
        lines += ["", "## Recording rules", "", "| record | expression |", "|---|---|"]
        lines += [f"| `{r['record']}` | `{_cell(r['expr'])}` |" for r in expansion.records]
    text = "\n".join(lines).rstrip() + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def _rst_to_md(text: str) -> str:
    """reST to Markdown for these docstrings: ``::`` blocks become fenced Python, ``x`` becomes `x`."""
    out: list[str] = []
    block = False
    for line in text.splitlines():
        if block and line.strip() and not line.startswith("    "):
            while out and not out[-1].strip():
                out.pop()
            out += ["```", ""]
            block = False
        if not block and line.rstrip().endswith("::"):
            head = line.rstrip()[:-2].rstrip()
            if head:
                out.append(_inline(head) + ":")
            out += ["", "```python"]
            block = True
            continue
        if block:
            if line.strip() or (out and out[-1] != "```python"):
                out.append(line[4:])
        else:
            out.append(_inline(line))
    if block:
        while out and not out[-1].strip():
            out.pop()
        out.append("```")
    return "\n".join(out)


def _inline(line: str) -> str:
    line = line.replace("``", "`")
    for role in (":class:", ":func:", ":meth:", ":mod:", ":data:"):
        line = line.replace(role, "")
    return line.replace("`~", "`")


def index() -> str:
    lines = [
        "# Domain packs",
        "",
        "A pack is a seed's business metrics as ready instrumentation (`tocsin.sdk.packs`) plus the alerts, dashboard"
        " panels and recording rules that go with them, added to the spec with one line under `packs:`. Names and"
        " labels follow the seed plans, so their PromQL runs unchanged (`tests/packs/test_seed_queries.py`);"
        " the definitions are data in the spec layer (`tocsin.spec.PACKS`), checked against the SDK's metrics by"
        " `tests/packs/test_catalogue.py`.",
        "",
        "```yaml",
        "packs:",
        "  - {use: jobs, job: archiver, items: orders, done: archived, priority: {errors: P1, duration: P3}}",
        "  - {use: queue, prefix: ocr, items: documents, type_label: document_type}",
        "```",
        "",
        "Every pack alert compiles like a hand-written one (a recording rule, one rule per level, a promtool unit"
        " test), and its panels join a dashboard of their own (or the one named by `dashboard:`). Worker processes"
        " without a web app serve `/metrics` and `/health` with `tocsin.sdk.packs.serve()`; batch jobs push to the"
        " Pushgateway with `Pushgateway(url, job=...)`. `benchmarks/packs.py` measures each hot call against the raw"
        " prometheus_client calls.",
        "",
        "| pack | what | alerts | panels | seeds |",
        "|---|---|---|---|---|",
    ]
    for name, pack in PACKS.items():
        lines.append(
            f"| [{name}]({name}.md) | {pack.summary} | {len(pack.alerts)} | {len(pack.panels)} | {pack.seeds} |"
        )
    lines += [
        "",
        "## Limits worth knowing",
        "",
        "- Values computed in the process at scrape time are not merged across worker processes in multiprocess"
        " mode (`PROMETHEUS_MULTIPROC_DIR`): `Sessions`' active counts, the security top-N sources,"
        " `Queue.track_size()` and `Stream`'s token age and uptime. Run those in one process (the worker that owns"
        " the queue or the stream), or use the plain gauges (`queue.set_size(n)`).",
        "- A batch job's last-run counts are its counters' growth during the run: two overlapping runs of the same"
        " job in one process share them (a warning says so). Pushed jobs are separate processes and unaffected.",
        '- Streams from the OpenAI client carry token usage only with `stream_options={"include_usage": True}`;'
        " without it no tokens are counted (none are invented). `with_raw_response` calls are not wrapped.",
        "- The HTTP client metrics time a call to its response headers (as `requests`' `elapsed`), for httpx too.",
        "- Debian's Pushgateway persists to one machine-wide file unless started with `--persistence.file`: the"
        " stack gives it its own; so should anything else that starts one.",
        "",
    ]
    return "\n".join(lines).rstrip() + "\n"


def pages() -> dict[str, str]:
    """Every page by file name."""
    return {"index.md": index(), **{f"{name}.md": page(name) for name in PACKS}}


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for file, text in pages().items():
        (DOCS / file).write_text(text, encoding="utf-8")
        print(f"wrote docs/packs/{file}")


if __name__ == "__main__":
    main()
