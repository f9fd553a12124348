"""The console in headless Debian Chromium against a live stack (``tocsin up`` runs the console).

Every panel draws data, pages load with no console error and no failed request, an induced fault shows
on the alerts page with its runbook, a silence made in the console mutes the next notification and its
expiry lets it through, and a fired alert's ``dashboard_url`` opens its panel. Screenshots are saved.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.conftest import wait_for
from tests.views.conftest import Browser, LiveStack

from tocsin.views.units import format_value

pytestmark = [pytest.mark.integration, pytest.mark.browser]

_CANVAS_PIXELS = """() => Array.from(document.querySelectorAll('.panel canvas')).map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n; })"""


def _drawn(browser: Browser) -> list[str]:
    return browser.page.eval_on_selector_all(".panel .body", "nodes => nodes.map(n => n.dataset.state)")


def _open_dashboard(browser: Browser, stack: LiveStack, path: str = "/dashboards/bookshop-live") -> None:
    browser.page.goto(stack.console + path)

    def all_drawn() -> bool:
        states = _drawn(browser)
        if set(states) != {"drawn"}:
            browser.page.reload()  # a fresh stack: the first rates need two scrapes
            browser.wait_js("document.body.dataset.loads >= 1")
            return False
        return True

    browser.wait_js("document.body.dataset.loads >= 1")
    wait_for(all_drawn, timeout=60, interval=1, what=f"every panel of {path} to draw data")


def test_every_panel_draws_data(live_stack: LiveStack, browser: Browser) -> None:
    _open_dashboard(browser, live_stack)
    pixels = browser.page.evaluate(_CANVAS_PIXELS)
    assert len(pixels) == 2 and all(n > 500 for n in pixels), pixels  # the two timeseries have ink
    values = browser.page.eval_on_selector_all(
        ".panel:not(.kind-timeseries)",
        "ps => ps.map(p => Array.from(p.querySelectorAll('.stat, svg text, .bars .value, td'))"
        ".map(n => n.textContent))",
    )
    assert len(values) == 5 and all(any(v != "no data" for v in shown) for shown in values), values
    statuses = browser.page.eval_on_selector_all(".panel .state", "ns => ns.map(n => n.textContent)")
    assert all(s.split()[-1] in ("OK", "WARNING", "CRITICAL") for s in statuses), (
        statuses
    )  # text, not only colour
    browser.shot("dashboard")
    time.sleep(6)  # refresh: 5s: the page reloads its data by itself
    assert int(browser.page.evaluate("document.body.dataset.loads")) >= 2
    assert browser.errors == []


def test_units_read_the_same_in_the_browser_and_the_terminal(live_stack: LiveStack, browser: Browser) -> None:
    browser.page.goto(live_stack.console + "/dashboards")
    cases: list[tuple[float | None, str]] = [
        (0.0123, "percentunit"), (12.5, "percent"), (0.0459, "s"), (250, "ms"), (7200, "s"), (1536, "bytes"),
        (2_500_000, "decbytes"), (3.14159, "reqps"), (1234.5, "short"), (0, "short"), (None, "short"),
        (12.0, "currencyEUR"), (0.004, "none"), (21.5, "celsius"), (1_200_000, "bps"),
    ]  # fmt: skip
    shown = browser.page.evaluate("cases => cases.map(c => window.tocsinFormat(c[0], c[1]))", cases)
    assert shown == [format_value(v, unit) for v, unit in cases]


def _alert_row(browser: Browser, stack: LiveStack, name: str) -> Any:
    def visible() -> Any:
        browser.page.goto(stack.console + "/alerts")
        row = browser.page.query_selector(f"tr#alert-{name}")
        return row if row and "FIRING" in row.inner_text() else None

    return wait_for(visible, timeout=60, interval=1, what=f"{name} firing on the alerts page")


def test_an_induced_fault_shows_with_its_runbook_and_its_panel(
    live_stack: LiveStack, browser: Browser
) -> None:
    live_stack.set_readers(12)
    row = _alert_row(browser, live_stack, "ReadersHigh")
    text = row.inner_text()
    assert "warning" in text and "P1" in text and "12 readers" in text
    assert (
        row.query_selector("a.runbook").get_attribute("href") == "https://runbooks.example.org/readers-high"
    )
    browser.shot("alerts")
    # the notification's dashboard_url opens the panel that is linked to the alert
    firing = wait_for(
        lambda: [n for n in live_stack.notifications("ReadersHigh") if n["status"] == "firing"],
        timeout=30, what="the firing notification at the receiver",
    )  # fmt: skip
    url = firing[0]["annotations"]["dashboard_url"]
    assert url == f"{live_stack.console}/dashboards/bookshop-live#panel-1"
    browser.page.goto(url)
    browser.wait_js("document.body.dataset.loads >= 1")
    target = browser.page.evaluate(
        "document.querySelector(':target') && document.querySelector(':target').id"
    )
    assert target == "panel-1"
    assert "Active readers" in browser.page.inner_text("#panel-1 h2")
    assert browser.page.evaluate("document.activeElement.id") == "panel-1"
    box = browser.page.query_selector("#panel-1").bounding_box()
    assert box is not None and 0 <= box["y"] < 1000
    assert "WARNING" in browser.page.inner_text("#panel-1 .state")
    browser.shot("panel-from-alert")
    assert browser.errors == []


def _notified(stack: LiveStack, severity: str) -> list[dict[str, Any]]:
    return [
        n for n in stack.notifications("ReadersHigh") if n["status"] == "firing" and n["severity"] == severity
    ]


def test_a_console_silence_mutes_the_next_notification_until_it_expires(
    live_stack: LiveStack, browser: Browser
) -> None:
    live_stack.set_readers(12)
    wait_for(lambda: _notified(live_stack, "warning"), timeout=60, what="the warning at the receiver")
    row = _alert_row(browser, live_stack, "ReadersHigh")
    row.query_selector("a.silence-link").click()
    browser.page.wait_for_url("**/silences/new?*")
    prefilled = browser.page.input_value("#matchers")
    assert 'alertname="ReadersHigh"' in prefilled and 'severity="warning"' in prefilled  # from the alert
    browser.page.fill("#matchers", 'alertname="ReadersHigh"')  # every severity of it
    browser.page.fill("#duration", "1h")
    browser.page.fill("#comment", "browser test: muting ReadersHigh")
    browser.shot("silence-new")
    browser.page.click("form.stack button[type=submit]")
    browser.page.wait_for_url("**/silences?created=*")
    assert "ACTIVE" in browser.page.inner_text("tr.highlight")
    browser.shot("silences")

    # the next notification, the escalation to critical, does not reach the receiver while silenced
    live_stack.set_readers(25)
    wait_for(lambda: live_stack.alert_state("ReadersHigh", "critical") == "firing", timeout=30,
             what="the critical alert to fire")  # fmt: skip
    time.sleep(5)  # five group_intervals of the fast profile: a notification would be here by now
    assert _notified(live_stack, "critical") == []
    browser.page.goto(live_stack.console + "/alerts")
    assert "SILENCED" in browser.page.inner_text("tr#alert-ReadersHigh")

    # expiring the silence in the console lets it through
    browser.page.goto(live_stack.console + "/silences")
    browser.page.click("tr.state-active button.expire")
    browser.page.wait_for_url("**/silences?expired=*")
    wait_for(lambda: _notified(live_stack, "critical"), timeout=30, what="the critical after the expiry")
    live_stack.set_readers(0)
    assert browser.errors == []


@pytest.mark.parametrize(
    "path",
    [
        "/targets",
        "/rules",
        "/checklist",
        "/health",
        "/logs",
        "/dashboards",
        "/dashboards/totals",
        "/silences/new",
        "/explore",
    ],
)
def test_pages_load_cleanly(live_stack: LiveStack, browser: Browser, path: str) -> None:
    browser.page.goto(live_stack.console + path)
    browser.page.wait_for_load_state("networkidle")
    assert browser.page.query_selector("nav a[aria-current=page]") is not None
    assert browser.page.evaluate(_UNLABELLED) == []  # every field has a label a screen reader can say
    assert len(browser.page.query_selector_all("h1")) == 1
    browser.shot(path.strip("/").replace("/", "-"))
    assert browser.errors == []


_UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name || e.id)"""


def test_logs_come_from_the_log_watcher_filtered_by_level(live_stack: LiveStack, browser: Browser) -> None:
    def errors_only() -> bool:
        browser.page.goto(live_stack.console + "/logs?level=ERROR&from=now-1h")
        return "Failed to connect to MongoDB" in browser.page.inner_text("main")

    wait_for(errors_only, timeout=30, interval=1, what="the log line in the console")
    text = browser.page.inner_text("table.logs")
    assert "ERROR" in text and "incomplete" not in text and "Found 150" not in text
    browser.page.goto(live_stack.console + "/logs?from=now-1h")
    assert "Order 42 is incomplete" in browser.page.inner_text("table.logs")
    browser.shot("logs")
    assert browser.errors == []


def test_health_shows_each_services_checks(live_stack: LiveStack, browser: Browser) -> None:
    browser.page.goto(live_stack.console + "/health")
    text = browser.page.inner_text("main")
    assert "HEALTHY" in text and "bookshop" in text and f"127.0.0.1:{live_stack.ports['app']}/health" in text
    assert "disk" in text and "memory" in text  # the app's own checks, by name
    browser.shot("health")
    assert browser.errors == []


def test_explore_completes_metric_names_and_draws(live_stack: LiveStack, browser: Browser) -> None:
    page = browser.page
    page.goto(live_stack.console + "/explore")
    page.press("body", "/")  # the keyboard shortcut focuses the query box
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("sum(rate(bookshop_http_req")
    page.wait_for_selector("#completions li")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.input_value("#q").startswith("sum(rate(bookshop_http_request")
    page.fill("#q", "sum by (route) (rate(bookshop_http_requests_total[30s]))")
    page.press("#q", "Enter")
    browser.wait_js("document.body.dataset.painted")
    assert page.query_selector("#explore-graph canvas") is not None
    assert len(page.query_selector_all("#explore-table tbody tr")) >= 3
    browser.shot("explore")
    assert browser.errors == []


def test_keyboard_moves_between_sections(live_stack: LiveStack, browser: Browser) -> None:
    page = browser.page
    page.goto(live_stack.console + "/dashboards")
    page.press("body", "t")
    page.wait_for_url("**/targets")
    page.press("body", "?")
    assert page.is_visible("#keys")
    page.press("body", "a")
    page.wait_for_url("**/alerts")


def test_range_picker_and_panel_keys(live_stack: LiveStack, browser: Browser) -> None:
    page = browser.page
    _open_dashboard(browser, live_stack)
    page.click(".presets a:text('1h')")
    page.wait_for_url("**from=now-1h**")
    browser.wait_js("document.body.dataset.loads >= 1")
    assert page.get_attribute(".presets a[aria-current]", "href").startswith("?from=now-1h")
    page.press("body", "[")  # one preset shorter
    page.wait_for_url("**from=now-15m**")
    browser.wait_js("document.body.dataset.loads >= 1")
    page.press("body", "j")
    page.press("body", "j")
    assert page.evaluate("document.activeElement.id") == "panel-1"
    assert browser.errors == []


def test_explore_says_what_is_wrong_with_a_query(live_stack: LiveStack, browser: Browser) -> None:
    import httpx

    bad = httpx.get(f"{live_stack.console}/api/query", params={"q": "sum(rate(x[5m]"})
    assert bad.status_code == 422 and "parse error" in bad.json()["error"]
    scalar = httpx.get(f"{live_stack.console}/api/query", params={"q": "1 + 1"}).json()
    assert scalar["rows"] == [{"labels": {}, "value": "2"}]
    wide = httpx.get(f"{live_stack.console}/api/query", params={"q": "up", "from": "now-10y"}).json()
    assert wide["step"] >= 10 * 365 * 86400 / 11000  # never past Prometheus' 11,000 points
    browser.page.goto(live_stack.console + "/explore?q=" + "sum(rate(x%5B5m%5D")
    browser.wait_js("document.querySelector('#explore-status').textContent.includes('parse error')")


def test_alertmanager_notification_links_open_the_console(live_stack: LiveStack, browser: Browser) -> None:
    """Alertmanager's external URL is the console: its templates' /#/... links land on the right page."""
    page = browser.page
    page.goto(live_stack.console + "/#/alerts?receiver=tocsin")
    page.wait_for_url("**/alerts")
    page.goto(live_stack.console + '/#/silences/new?filter={alertname="ReadersHigh",severity="warning"}')
    page.wait_for_url("**/silences/new?filter=*")
    assert page.input_value("#matchers") == 'alertname="ReadersHigh"\nseverity="warning"'
    assert browser.errors == []
