"""Local runbooks (``runbook: runbooks/x.md``) rendered once, in the CLI process, for the view model.

Markdown through markdown-it-py (CommonMark plus tables; installed with rich): raw HTML in the file is
shown as text, never run, so a runbook cannot put a script in the console. A fenced ``promql`` block
gets a link that opens the query in the console's Explore page, and a link to another local runbook
(``[auth](auth-failures.md)``) becomes that runbook's page. The page's title is its first heading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tocsin.spec import Spec, is_local_runbook, runbook_slug, spec_runbooks
from tocsin.views._schema import RunbookInfo

__all__ = ["render_runbook", "runbook_pages"]


def _markdown() -> Any:
    from markdown_it import MarkdownIt
    from markdown_it.common.utils import escapeHtml

    md: Any = MarkdownIt("commonmark", {"html": False}).enable("table")
    fence = md.renderer.rules["fence"]

    def promql_fence(tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        html: str = fence(tokens, idx, options, env)
        if token.info.strip().lower() not in ("promql", "prometheus"):
            return html
        query = token.content.strip()
        href = "/explore?" + urlencode({"q": query})
        return f'{html}<p class="explore-link"><a href="{escapeHtml(href)}">Open in Explore</a></p>\n'

    def link_open(tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        href = token.attrGet("href") or ""
        parts = urlsplit(href)
        if not parts.scheme and not parts.netloc and is_local_runbook(parts.path):
            page = f"/runbooks/{runbook_slug(parts.path)}"
            token.attrSet("href", page + (f"#{parts.fragment}" if parts.fragment else ""))
        return str(md.renderer.renderToken(tokens, idx, options, env))

    md.renderer.rules["fence"] = promql_fence
    md.renderer.rules["link_open"] = link_open
    return md


def render_runbook(text: str, fallback_title: str) -> tuple[str, str]:
    """``(title, html)`` of a Markdown runbook."""
    md = _markdown()
    tokens = md.parse(text)
    title = fallback_title
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            title = tokens[index + 1].content.strip() or fallback_title
            break
    return title, str(md.renderer.render(tokens, md.options, {}))


def runbook_pages(spec: Spec) -> dict[str, RunbookInfo]:
    """Every local runbook of the spec, rendered (``tocsin check`` has made sure each can be read)."""
    pages: dict[str, RunbookInfo] = {}
    for slug, (path, alerts) in spec_runbooks(spec).items():
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # deleted since the check: say so on the page
            text = f"# {slug}\n\nThis runbook could not be read: {exc}\n"
        title, html = render_runbook(text, slug)
        pages[slug] = {"title": title, "html": html, "source": str(path), "alerts": alerts}
    return pages
