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


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A fresh student release of this repository (module-scoped: tests only read it)."""
    from cs231n_course.release import build_release

    out = tmp_path_factory.mktemp("rel") / "student"
    build_release(REPO, out)
    return out
