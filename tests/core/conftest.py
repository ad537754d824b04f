"""Fixtures of the firth_core tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """An empty folder for the model directories a test writes."""
    out = tmp_path / "models"
    out.mkdir()
    return out
