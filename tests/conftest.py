"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Notebooks in tests/ are fixtures (hostile submissions, browser fixtures), not nbval targets.
collect_ignore_glob = ["*.ipynb", "**/*.ipynb"]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
