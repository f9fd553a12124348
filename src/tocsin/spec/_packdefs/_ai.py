# ruff: noqa: E501 - PromQL reads best on one line each; these modules are data
"""The LLM pack (seeds 004 and 001)."""

from __future__ import annotations

from ._model import AlertDef, PackDef, PanelDef

__all__ = ["LLM"]

LLM = PackDef(
    name="llm",
    title="LLM calls",
    summary="LLM calls: latency by provider and model, tokens, cost from a price table, errors, timeouts, RAG.",
    sdk='LLM(namespace="$namespace", currency="$currency", prices={...}) + instrument_openai(client, llm)',
    namespace="llm",
    params={"provider": "", "currency": "USD", "rag_namespace": "rag"},
    name_from="provider",
    matchers={"provider": "provider"},
    seeds="004, 001",
    alerts=(
        AlertDef(
            "latency",
            "${Name}LLMLatencyHigh",
            "histogram_quantile(0.95, sum by (le, provider, model) (rate(${m}request_duration_seconds_bucket$sel[5m])))",
            "{{ $labels.provider }}/{{ $labels.model }} p95 latency is {{ $value | humanizeDuration }}",
            warning="> 3",
            critical="> 10",
            for_="5m",
            priority="P2",
            seed="004: OpenAI latency > 3 s / > 10 s",
        ),
        AlertDef(
            "daily_cost",
            "${Name}LLMDailyCostHigh",
            "sum(increase(${m}cost_total$sel[1d]))",
            "LLM spend over the last 24 h is {{ $value | humanize }} $currency",
            warning="> 50",
            critical="> 100",
            for_="5m",
            priority="P2",
            seed="004: daily cost > 50 / > 100",
        ),
        AlertDef(
            "token_rate",
            "${Name}LLMTokenRateHigh",
            "sum(rate(${m}tokens_total$sel[5m])) * 60",
            "{{ $value | humanize }} tokens per minute",
            warning="> 1000",
            critical="> 2000",
            for_="5m",
            priority="P3",
            seed="004: tokens > 1000 / > 2000 per minute",
        ),
        AlertDef(
            "errors",
            "${Name}LLMErrors",
            'sum(rate(${m}requests_total{outcome!="success"$and}[5m])) / sum(rate(${m}requests_total$sel[5m]))',
            "{{ $value | humanizePercentage }} of LLM requests fail or time out",
            warning="> 0.05",
            critical="> 0.2",
            for_="5m",
            priority="P2",
            seed="004: errors and timeouts",
        ),
    ),
    panels=(
        PanelDef(
            "Latency p95 by model",
            "histogram_quantile(0.95, sum by (le, model) (rate(${m}request_duration_seconds_bucket$sel[5m])))",
            unit="s",
            alert="latency",
            legend="{{model}}",
        ),
        PanelDef(
            "Tokens/min",
            "sum by (type) (rate(${m}tokens_total$sel[5m])) * 60",
            alert="token_rate",
            legend="{{type}}",
        ),
        PanelDef("Cost, last 24 h", "sum(increase(${m}cost_total$sel[1d]))", kind="stat", alert="daily_cost"),
        PanelDef(
            "Requests by outcome",
            "sum by (outcome) (rate(${m}requests_total$sel[5m]))",
            unit="ops",
            legend="{{outcome}}",
        ),
        PanelDef(
            "Time to first token p95",
            "histogram_quantile(0.95, sum by (le) (rate(${m}time_to_first_token_seconds_bucket$sel[5m])))",
            unit="s",
        ),
        PanelDef(
            "RAG success rate",
            'sum(rate(${p}${rag_namespace}_queries_total{outcome="success"}[15m]))'
            " / sum(rate(${p}${rag_namespace}_queries_total[15m]))",
            unit="percentunit",
        ),
    ),
)
