"""Day, week and month reports: built-in sections (traffic, errors, latency, SLOs, alerts, alert noise,
seed 000's OCR review, seed 003's completeness/duplicates review) and the spec's own ``reports:``.

::

    from tocsin.history.report import build_report, render_html
    doc = build_report("http://127.0.0.1:9090", spec, report, end=time.time(), period="week")
    Path("weekly.html").write_text(render_html(doc))

See ``docs/reports.md``.
"""

from tocsin.history.report._build import DEFAULT_BUILTINS, build_report, receiver_history
from tocsin.history.report._context import PERIODS
from tocsin.history.report._doc import Chart, ChartSeries, ReportDoc, Section, Stat, Table, format_value
from tocsin.history.report._render import render_html, render_markdown
from tocsin.history.report._svg import chart_svg

__all__ = [
    "DEFAULT_BUILTINS",
    "PERIODS",
    "Chart",
    "ChartSeries",
    "ReportDoc",
    "Section",
    "Stat",
    "Table",
    "build_report",
    "chart_svg",
    "format_value",
    "receiver_history",
    "render_html",
    "render_markdown",
]
