"""Helpers shared by the logging tests."""

from __future__ import annotations

import json
from typing import Any


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` parsed as JSON (fails the test on a line that is not)."""
    return [json.loads(line) for line in text.splitlines() if line]
