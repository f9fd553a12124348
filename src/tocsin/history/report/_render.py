# ruff: noqa: E501 - PromQL and SVG markup read best on one line each
"""A report as one self-contained HTML file (inline CSS and SVG, no script, nothing fetched), or as
Markdown with its charts as PNG files beside it (the same SVG rendered by cairosvg)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from tocsin.errors import UsageError
from tocsin.history.report._doc import Chart, ReportDoc, Stat, Table, format_value
from tocsin.history.report._svg import chart_svg

__all__ = ["render_html", "render_markdown"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;color:#222;
padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;
padding-bottom:.2rem} .range{color:#666;margin-top:0}
.stats{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.stat{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;min-width:10rem}
.stat .v{font-size:1.5rem;font-weight:600} .stat .t,.note{color:#666;font-size:.85rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem} th,td{border-bottom:1px solid #eee;
padding:.3rem .7rem;text-align:left} th{background:#f6f6f6}
figure{margin:1rem 0} svg{max-width:100%;height:auto} .problems{color:#a00}
"""


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _stats_html(stats: list[Stat]) -> str:
    cells = "".join(
        f'<div class="stat"><div class="v">{escape(format_value(s.value, s.unit))}</div>'
        f'<div class="t">{escape(s.title)}</div>'
        + (f'<div class="note">{escape(s.note)}</div>' if s.note else "")
        + "</div>"
        for s in stats
    )
    return f'<div class="stats">{cells}</div>'


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return f"<h3>{escape(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def render_html(doc: ReportDoc) -> str:
    """The whole report as one HTML document."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(doc.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(doc.title)}</h1>",
        f'<p class="range">{escape(doc.period)}: {_when(doc.start)} → {_when(doc.end)}'
        + (f" · {escape(doc.source)}" if doc.source else "")
        + "</p>",
    ]
    for section in doc.sections:
        parts.append(f"<section><h2>{escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{escape(section.text)}</p>")
        stats = [i for i in section.items if isinstance(i, Stat)]
        if stats:
            parts.append(_stats_html(stats))
        for item in section.items:
            if isinstance(item, Table):
                parts.append(_table_html(item))
            elif isinstance(item, Chart):
                parts.append(f"<figure>{chart_svg(item, doc.start, doc.end)}</figure>")
        parts.append("</section>")
    if doc.problems:
        items = "".join(f"<li>{escape(p)}</li>" for p in doc.problems)
        parts.append(f'<section class="problems"><h2>Queries that failed</h2><ul>{items}</ul></section>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def render_markdown(doc: ReportDoc, images: Path, link_prefix: str = "") -> str:
    """The report as Markdown; each chart written as ``images/<n>-<title>.png`` and linked as
    ``link_prefix + file name``."""
    try:
        import cairosvg
    except (ImportError, OSError) as err:  # OSError: the package is there but libcairo is not
        raise UsageError(
            f"Markdown reports draw their charts with cairosvg ({err}): pip install 'tocsin[report]'"
            " (and apt-get install libcairo2), or use --format html"
        ) from None

    images.mkdir(parents=True, exist_ok=True)
    lines = [f"# {doc.title}", "", f"*{doc.period}: {_when(doc.start)} → {_when(doc.end)}*", ""]
    count = 0
    for section in doc.sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        stats = [i for i in section.items if isinstance(i, Stat)]
        if stats:
            lines += ["| | |", "|---|---|"]
            lines += [
                f"| {_md_cell(s.title)} | **{_md_cell(format_value(s.value, s.unit))}**"
                + (f" ({_md_cell(s.note)})" if s.note else "")
                + " |"
                for s in stats
            ]
            lines.append("")
        for item in section.items:
            if isinstance(item, Table):
                lines += [f"**{item.title}**", ""]
                lines.append("| " + " | ".join(_md_cell(c) or " " for c in item.columns) + " |")
                lines.append("|" + "---|" * len(item.columns))
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in item.rows]
                lines.append("")
                if item.note:
                    lines += [f"*{item.note}*", ""]
            elif isinstance(item, Chart):
                count += 1
                name = f"{count:02d}-{_slug(item.title)}.png"
                cairosvg.svg2png(bytestring=chart_svg(item, doc.start, doc.end).encode(), write_to=str(images / name),
                                 output_width=1440)  # fmt: skip
                lines += [f"![{item.title}]({link_prefix}{name})", ""]
    if doc.problems:
        lines += ["## Queries that failed", ""] + [f"- `{p}`" for p in doc.problems] + [""]
    return "\n".join(lines)
