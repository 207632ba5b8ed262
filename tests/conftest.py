"""Shared fixtures, and the order in which the two xdist workers take the test files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Notebooks in tests/ are fixtures (hostile submissions, browser fixtures), not nbval targets.
collect_ignore_glob = ["*.ipynb", "**/*.ipynb"]

# Files holding tests marked with one of these run first (see pytest_collection_modifyitems).
HEAVY_MARKS = ("slow", "browser")


def pytest_collection_modifyitems(config, items):
    """Put the heavy files first, the heaviest (most slow/browser tests) first among them.

    ``--dist loadfile`` hands whole files to the two workers in collection order
    (``--no-loadscope-reorder``), and a worker asks for more when it runs dry. A file of real
    grading runs taken last would run alone while the other worker sits idle; taken first, it
    runs beside the many small files, which then even out the finish. Within a file the order
    is kept (notebook cells and module fixtures depend on it); the rest keeps the largest files
    first, as xdist's default reorder does.
    """
    files = Counter(item.nodeid.split("::", 1)[0] for item in items)
    heavy = Counter(
        item.nodeid.split("::", 1)[0]
        for item in items
        if any(item.get_closest_marker(mark) for mark in HEAVY_MARKS)
    )
    items.sort(key=lambda item: (-heavy[f := item.nodeid.split("::", 1)[0]], -files[f], f))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A fresh student release of this repository (module-scoped, not session: running its
    notebooks in place, as test_release_roundtrip does, writes ``__pycache__`` into it, which
    test_release's byte-for-byte comparison must not see)."""
    from cs231n_course.release import build_release

    out = tmp_path_factory.mktemp("rel") / "student"
    build_release(REPO, out)
    return out
