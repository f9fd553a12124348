"""Ops fixtures: a project (spec with free ports) run by the real CLI, stopped by pid afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.stack._project import Project, new_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    proj = new_project(tmp_path)
    yield proj
    proj.tocsin("down", "--timeout", "5")
