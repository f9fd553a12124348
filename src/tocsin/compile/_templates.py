"""Alert annotation templates expanded as Prometheus would (the implementation lives in ``tocsin.spec``,
which also validates them; the compiler only fills them in for the generated promtool tests)."""

from __future__ import annotations

from tocsin.spec._templates import expand, humanize, humanize_percentage

__all__ = ["expand", "humanize", "humanize_percentage"]
