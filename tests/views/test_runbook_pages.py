"""Runbooks kept next to the spec: checked at their line, compiled to the console's page, served by it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from ruamel.yaml import YAML

from tocsin.compile import compile_spec
from tocsin.errors import SpecError
from tocsin.spec import is_local_runbook, load_spec, runbook_slug
from tocsin.views._runbooks import render_runbook
from tocsin.views.console import ConsoleConfig, create_app
from tocsin.views.model import stack_model


def _rule_urls(files: dict[str, str]) -> dict[str, str | None]:
    """Every alerting rule's runbook_url, by alert name (one per name in these specs)."""
    urls: dict[str, str | None] = {}
    for name, text in files.items():
        if name.startswith("prometheus/rules/"):
            for group in YAML(typ="safe").load(text)["groups"]:
                for rule in group["rules"]:
                    if "alert" in rule:
                        urls[rule["alert"]] = rule.get("annotations", {}).get("runbook_url")
    return urls


SPEC = """\
version: tocsin/v1
app: coach
stack: {console: {port: 9396}}
services:
  api: {targets: ["127.0.0.1:8000"]}
alerts:
  - {name: ApiSlow, expr: api_latency_seconds, warning: "> 1", service: api, runbook: runbooks/api-slow.md}
  - {name: ApiErrors, expr: api_errors, critical: "> 0", runbook: "https://wiki.example.org/api-errors"}
slos:
  - {name: api, objective: 99, errors: "sum(rate(e[{{window}}]))", total: "sum(rate(t[{{window}}]))",
     runbook: runbooks/api-slow.md}
packs:
  - {use: llm, namespace: openai, runbook: {latency: runbooks/openai-latency.md}}
dashboards:
  - title: Api
    panels:
      - {title: Latency, expr: api_latency_seconds, alert: ApiSlow}
"""

API_SLOW = """\
# API slow: what to do

1. See which routes are slow:

```promql
histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))
```

2. Read the logs: `tocsin logs --grep "Slow request"`. See also [the LLM one](openai-latency.md#steps).

<script>alert(1)</script>

| step | where |
|---|---|
| 1 | Prometheus |
"""


def _write(tmp_path: Path, spec: str = SPEC, *, runbooks: bool = True) -> Path:
    (tmp_path / "runbooks").mkdir()
    if runbooks:
        (tmp_path / "runbooks" / "api-slow.md").write_text(API_SLOW, encoding="utf-8")
        llm = "# OpenAI latency\n\n## Steps\n"
        (tmp_path / "runbooks" / "openai-latency.md").write_text(llm, encoding="utf-8")
    path = tmp_path / "tocsin.yaml"
    path.write_text(spec, encoding="utf-8")
    return path


def test_what_counts_as_a_local_runbook() -> None:
    assert is_local_runbook("runbooks/x.md") and is_local_runbook("../ops/X.markdown")
    assert not is_local_runbook("https://wiki/x.md") and not is_local_runbook("mailto:a@b")
    assert not is_local_runbook("see the wiki") and not is_local_runbook(None)
    assert runbook_slug("runbooks/Auth Failures.md") == "auth-failures"


def test_a_missing_runbook_is_an_error_at_its_line(tmp_path: Path) -> None:
    spec = _write(tmp_path, runbooks=False)
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    found = [(p.line, p.message) for p in caught.value.problems]
    # once per file (the SLO's is ApiSlow's), the pack's at the pack's line
    assert [line for line, _ in found] == [7, 13], found
    assert "runbooks/api-slow.md" in found[0][1] and "does not exist" in found[0][1]
    assert "runbooks/openai-latency.md" in found[1][1]


def test_a_runbook_for_an_unknown_pack_alert_is_refused(tmp_path: Path) -> None:
    spec = _write(tmp_path, SPEC.replace("{latency: runbooks", "{latncy: runbooks"))
    with pytest.raises(SpecError, match="pack 'llm' has no alert 'latncy'"):
        load_spec(spec)


def test_two_files_with_one_page_name_are_refused(tmp_path: Path) -> None:
    first = "runbook: runbooks/api-slow.md}\n  - {name: ApiErrors"
    other = SPEC.replace(first, first.replace("runbooks/", "other/"))
    spec = _write(tmp_path, other)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "api-slow.md").write_text("# other\n", encoding="utf-8")
    with pytest.raises(SpecError, match="page name 'api-slow'"):
        load_spec(spec)


def test_alerts_link_the_consoles_page_or_the_path_without_a_console(tmp_path: Path) -> None:
    urls = _rule_urls(compile_spec(load_spec(_write(tmp_path))).files)
    assert urls["ApiSlow"] == "http://127.0.0.1:9396/runbooks/api-slow"
    assert urls["LLMLatencyHigh"] == "http://127.0.0.1:9396/runbooks/openai-latency"
    assert urls["ErrorBudgetBurn"] == "http://127.0.0.1:9396/runbooks/api-slow"
    assert urls["ApiErrors"] == "https://wiki.example.org/api-errors"
    (tmp_path / "off").mkdir()
    off = _write(tmp_path / "off", SPEC.replace("{console: {port: 9396}}", "{console: {enabled: false}}"))
    assert _rule_urls(compile_spec(load_spec(off)).files)["ApiSlow"] == "runbooks/api-slow.md"


def test_markdown_is_rendered_without_running_html() -> None:
    title, html = render_runbook(API_SLOW, "api-slow")
    assert title == "API slow: what to do"
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<table>" in html
    assert 'href="/runbooks/openai-latency#steps"' in html
    link = html.split('<p class="explore-link"><a href="')[1].split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)["q"][0]
    assert query.startswith("histogram_quantile(0.95, sum by (le, route)")


def test_the_view_model_carries_the_pages_and_the_links(tmp_path: Path) -> None:
    model = stack_model(load_spec(_write(tmp_path)))
    assert sorted(model["runbooks"]) == ["api-slow", "openai-latency"]
    assert model["runbooks"]["api-slow"]["alerts"] == ["ApiSlow", "api"]
    assert model["alerts"]["ApiSlow"]["runbook"] == "/runbooks/api-slow"
    assert model["alerts"]["ApiErrors"]["runbook"] == "https://wiki.example.org/api-errors"
    assert model["dashboards"][0]["panels"][0]["runbook"] == "/runbooks/api-slow"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    model = stack_model(load_spec(_write(tmp_path)))
    transport = httpx.ASGITransport(app=create_app(ConsoleConfig(model=model)))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9396") as client:
        yield client


@pytest.mark.anyio
async def test_the_console_serves_each_runbook(console: httpx.AsyncClient) -> None:
    index = await console.get("/runbooks")
    assert index.status_code == 200 and 'href="/runbooks/api-slow"' in index.text
    page = await console.get("/runbooks/api-slow")
    assert page.status_code == 200
    assert page.text.count("<h1") == 1 and "API slow: what to do" in page.text
    assert "Open in Explore" in page.text and 'href="/alerts/ApiSlow"' in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    missing = await console.get("/runbooks/nope")
    assert missing.status_code == 404 and "no runbook" in missing.text
