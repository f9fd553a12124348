"""The stack commands' tables keep URLs and instances whole at 80 columns (a pipe, CI, `watch`)."""

from __future__ import annotations

import pytest
from rich.console import Console

from tocsin.cli import _stack


def test_urls_are_never_folded_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 80 columns: what rich uses when stdout is not a terminal
    monkeypatch.setattr(_stack, "_console", Console(width=80, highlight=False, soft_wrap=True))
    columns = ["component", "state", "pid", "uptime", "restarts", "url", "note"]
    row = ["node-exporter", "not answering", "20236", "1h 20m", "0", "http://127.0.0.1:19490", "x" * 30]
    _stack._table("components", columns, [row])
    out = capsys.readouterr().out
    assert "http://127.0.0.1:19490" in out, out  # it used to print 'http://127.0.0.1:1949' then '0'
