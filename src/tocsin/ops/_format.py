"""Numbers in the words a person reads (kept in :mod:`tocsin.history.numbers`, shared with the console's
checklist page and the report's checklist section)."""

from __future__ import annotations

from tocsin.history.numbers import format_bytes, format_seconds, format_value

__all__ = ["format_bytes", "format_seconds", "format_value"]
