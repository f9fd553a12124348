# ruff: noqa: E501 - PromQL reads best on one line each; these modules are data
"""Packs for web apps: WebSockets, security, outgoing HTTP, sessions, the browser (seeds 001, 002, 004)."""

from __future__ import annotations

from ._model import AlertDef, PackDef, PanelDef

__all__ = ["CLIENT", "FRONTEND", "SECURITY", "SESSIONS", "WEBSOCKET"]

WEBSOCKET = PackDef(
    name="websocket",
    title="WebSockets",
    summary="WebSocket servers: connections, events published and delivered, delivery latency, buffer, subscriptions.",
    sdk="WebSockets() + WebSocketMetricsMiddleware",
    namespace="websocket",
    seeds="001",
    alerts=(
        AlertDef(
            "connections",
            "${Name}WebSocketConnectionsHigh",
            "sum(${m}active_connections$sel)",
            "High number of WebSocket connections: {{ $value }}",
            warning="> 1000",
            for_="1m",
            priority="P3",
            seed="001: WebSocketConnectionsHigh (> 1000 for 1m)",
        ),
        AlertDef(
            "latency",
            "${Name}WebSocketDeliverySlow",
            "histogram_quantile(0.95, sum by (le) (rate(${m}delivery_latency_seconds_bucket$sel[5m])))",
            "p95 event delivery takes {{ $value | humanizeDuration }}",
            warning="> 0.25",
            critical="> 1",
            for_="5m",
            priority="P3",
            seed="001: delivery latency",
        ),
    ),
    panels=(
        PanelDef("Active connections", "sum(${m}active_connections$sel)", kind="stat", alert="connections"),
        PanelDef(
            "Events published/s by type",
            "sum by (event_type) (rate(${m}events_published_total$sel[5m]))",
            unit="ops",
            legend="{{event_type}}",
        ),
        PanelDef(
            "Deliveries/s",
            "sum by (event_type) (rate(${m}events_delivered_total$sel[5m]))",
            unit="ops",
            legend="{{event_type}}",
        ),
        PanelDef(
            "Delivery latency p95",
            "histogram_quantile(0.95, sum by (le) (rate(${m}delivery_latency_seconds_bucket$sel[5m])))",
            unit="s",
            alert="latency",
        ),
        PanelDef("Send buffer", "sum(${m}buffer_size$sel)"),
        PanelDef(
            "Subscription operations",
            "sum by (operation) (increase(${m}subscription_operations_total$sel[1h]))",
            kind="bars",
            legend="{{operation}}",
        ),
    ),
)

SECURITY = PackDef(
    name="security",
    title="Security",
    summary="Authentication attempts and failures by reason, rate limiting, intrusion attempts, top failing sources.",
    sdk='Security(namespace="$namespace") (+ .connect_django(), .jwt_failed(err))',
    namespace="security",
    seeds="001, 004",
    alerts=(
        AlertDef(
            "auth_failures",
            "${Name}AuthFailuresHigh",
            "sum(rate(${m}auth_failures_total$sel[5m])) * 60",
            "{{ $value | humanize }} authentication failures per minute",
            warning="> 10",
            critical="> 50",
            for_="5m",
            priority="P2",
            seed="004: auth failures > 10 / > 50 per minute",
        ),
        AlertDef(
            "intrusions",
            "${Name}SecurityIntrusionAttempts",
            "sum(rate(${m}intrusion_attempts_total$sel[1m]))",
            "Security intrusion attempts detected",
            critical="> 0",
            for_="0s",
            priority="P1",
            seed="001: SecurityIntrusionAttempts (rate(...[1m]) > 0)",
        ),
    ),
    panels=(
        PanelDef(
            "Auth failures/min by reason",
            "sum by (reason) (rate(${m}auth_failures_total$sel[5m])) * 60",
            alert="auth_failures",
            legend="{{reason}}",
        ),
        PanelDef("Top failing sources (10 min)", "sort_desc(${m}auth_failures_by_source$sel)", kind="table"),
        PanelDef(
            "Rate-limited requests/s",
            "sum by (limiter) (rate(${m}rate_limited_requests_total$sel[5m]))",
            unit="ops",
            legend="{{limiter}}",
        ),
        PanelDef(
            "Intrusion attempts by kind",
            "sum by (kind) (increase(${m}intrusion_attempts_total$sel[1h]))",
            kind="bars",
            legend="{{kind}}",
        ),
        PanelDef(
            "Sanitised inputs/s",
            "sum by (kind) (rate(${m}sanitized_inputs_total$sel[5m]))",
            unit="ops",
            legend="{{kind}}",
        ),
    ),
)

CLIENT = PackDef(
    name="client",
    title="Outgoing HTTP",
    summary="Outgoing HTTP calls by target service (httpx, requests): latency, status, timeouts, refused connections.",
    sdk='HttpClient().httpx_transport("$target") / .requests_session("$target")',
    namespace="http_client",
    params={"target": ""},
    name_from="target",
    matchers={"target": "target"},
    seeds="004",
    alerts=(
        AlertDef(
            "latency",
            "${Name}UpstreamSlow",
            "histogram_quantile(0.95, sum by (le, target) (rate(${m}request_duration_seconds_bucket$sel[5m])))",
            "Calls to {{ $labels.target }}: p95 {{ $value | humanizeDuration }}",
            warning="> 1",
            critical="> 3",
            for_="5m",
            priority="P2",
            seed="004: inter-service latency",
        ),
        AlertDef(
            "timeouts",
            "${Name}UpstreamTimeouts",
            'sum by (target) (increase(${m}errors_total{type="timeout"$and}[5m]))',
            "{{ $value }} calls to {{ $labels.target }} timed out in 5 minutes",
            warning="> 0",
            critical="> 5",
            for_="1m",
            priority="P2",
            seed="004: inter-service timeouts",
        ),
        AlertDef(
            "errors",
            "${Name}UpstreamErrors",
            'sum by (target) (rate(${m}requests_total{status=~"5.."$and}[5m]))'
            " / sum by (target) (rate(${m}requests_total$sel[5m]))",
            "{{ $value | humanizePercentage }} of the calls to {{ $labels.target }} answer 5xx",
            warning="> 0.05",
            critical="> 0.2",
            for_="5m",
            priority="P2",
            seed="004: Django -> FastAPI errors",
        ),
    ),
    panels=(
        PanelDef(
            "Latency p95 by target",
            "histogram_quantile(0.95, sum by (le, target) (rate(${m}request_duration_seconds_bucket$sel[5m])))",
            unit="s",
            alert="latency",
            legend="{{target}}",
        ),
        PanelDef(
            "Calls/s by status",
            "sum by (target, status) (rate(${m}requests_total$sel[5m]))",
            unit="ops",
            legend="{{target}} {{status}}",
        ),
        PanelDef(
            "No response (timeouts, refused)",
            "sum by (target, type) (increase(${m}errors_total$sel[5m]))",
            legend="{{target}} {{type}}",
            alert="timeouts",
        ),
    ),
)

SESSIONS = PackDef(
    name="sessions",
    title="Sessions",
    summary="Active users and sessions over a sliding window, session duration (Streamlit's track_session).",
    sdk='Sessions(namespace="$namespace") + track_session(sessions)',
    namespace="",
    seeds="002, 004",
    panels=(
        PanelDef("Active sessions", "sum(${m}active_sessions$sel)", kind="stat"),
        PanelDef("Active users", "sum(${m}active_users$sel)", kind="stat"),
        PanelDef("Sessions started/h", "sum(increase(${m}sessions_total$sel[1h]))"),
        PanelDef(
            "Session length p50 / p95",
            "histogram_quantile(0.5, sum by (le) (rate(${m}session_duration_seconds_bucket$sel[1h])))",
            unit="s",
        ),
    ),
)

FRONTEND = PackDef(
    name="frontend",
    title="Frontend",
    summary="Browser timings from the JS beacon: First Contentful Paint, Time to Interactive, JS errors, API calls.",
    sdk="Frontend() mounted at /_tocsin/rum + <script src=/_tocsin/rum>",
    namespace="frontend",
    seeds="002, 004",
    alerts=(
        AlertDef(
            "page_load",
            "${Name}PageLoadSlow",
            "histogram_quantile(0.75, sum by (le) (rate(${m}time_to_interactive_seconds_bucket$sel[15m])))",
            "p75 Time to Interactive is {{ $value | humanizeDuration }}",
            warning="> 2",
            critical="> 5",
            for_="10m",
            priority="P3",
            seed="004: page load > 2 s / > 5 s",
        ),
        AlertDef(
            "js_errors",
            "${Name}JavaScriptErrors",
            "sum(rate(${m}js_errors_total$sel[5m])) * 60",
            "{{ $value | humanize }} JavaScript errors per minute",
            warning="> 10",
            for_="5m",
            priority="P3",
            seed="002: errors > 10/min for 5 min",
        ),
    ),
    panels=(
        PanelDef(
            "First Contentful Paint p75",
            "histogram_quantile(0.75, sum by (le, page) (rate(${m}first_contentful_paint_seconds_bucket$sel[15m])))",
            unit="s",
            legend="{{page}}",
        ),
        PanelDef(
            "Time to Interactive p75",
            "histogram_quantile(0.75, sum by (le, page) (rate(${m}time_to_interactive_seconds_bucket$sel[15m])))",
            unit="s",
            alert="page_load",
            legend="{{page}}",
        ),
        PanelDef(
            "JS errors/min by page",
            "sum by (page) (rate(${m}js_errors_total$sel[5m])) * 60",
            alert="js_errors",
            legend="{{page}}",
        ),
        PanelDef(
            "API calls p95 (browser)",
            "histogram_quantile(0.95, sum by (le, endpoint) (rate(${m}api_request_duration_seconds_bucket$sel[5m])))",
            unit="s",
            legend="{{endpoint}}",
        ),
        PanelDef(
            "API calls by status",
            "sum by (status) (rate(${m}api_requests_total$sel[5m]))",
            unit="ops",
            legend="{{status}}",
        ),
    ),
)
