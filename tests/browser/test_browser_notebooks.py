"""The course in a real browser: every notebook opened in JupyterLab, run, looked at, used.

For each notebook (an output-free copy, CS231N_FAST=1): Run → Run All Cells, wait until no
cell is queued or running and the kernel is idle, then require what a student must see: no
error output, every widget rendered with its controls, figures drawn as images, and each
slider or dropdown changing what its widget shows. Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from .conftest import FIXTURE_DIR, HERE, REPO
from .notebook_page import stored_expectations
from .student_run import run_like_a_student

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


class JupyterLabShowed(UserWarning):
    """Something the browser showed that is worth a look but is not an error (a warning)."""


def check_student_view(page_session, source: Path, path: str, artifacts: Path):
    run = run_like_a_student(
        page_session, path, source.stem, artifacts, stored=stored_expectations(source)
    )
    for note in run.findings.notes:
        warnings.warn(f"{source.stem}: {note}", JupyterLabShowed, stacklevel=2)
    assert not run.findings.problems, (
        f"{source.stem} in JupyterLab ({len(run.findings.problems)} problems; screenshot "
        f"artifacts/browser/{source.stem}.png):\n- " + "\n- ".join(run.findings.problems)
    )
    return run


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_course_notebook_in_jupyterlab(source, page_session, artifacts):
    run = check_student_view(page_session, source, f"notebooks/{source.name}", artifacts)
    assert run.cells, f"{source.stem}: the browser shows no cells"


def test_fixture_notebook_in_jupyterlab(page_session, artifacts):
    """The harness on a notebook with one of everything (figure, interact, explorer)."""
    source = HERE / "fixture_widgets.ipynb"
    run = check_student_view(page_session, source, f"{FIXTURE_DIR}/{source.name}", artifacts)
    # Both widgets were used: interact's slider and dropdown; the explorer's slider, toggle
    # buttons and button.
    assert len([a for a in run.widget_actions if "output changed" in a]) == 5, run.widget_actions
    assert any("warning" in n for n in run.findings.notes), run.findings.notes


def test_harness_catches_what_is_broken(page_session, artifacts):
    """The checks are not vacuous: a broken notebook yields exactly the expected problems."""
    run = run_like_a_student(
        page_session,
        f"{FIXTURE_DIR}/fixture_broken.ipynb",
        "fixture_broken",
        artifacts,
    )
    problems = "\n".join(run.findings.problems)
    expected = {
        "figure shown as text": "shown only as the text '<Figure size 400x300 with 0 Axes>'",
        "error in a cell": "ValueError: deliberate error in a cell",
        "error in a widget callback": "KeyError",
    }
    missing = [what for what, text in expected.items() if text not in problems]
    assert not missing, f"the harness missed {missing}; it found:\n{problems}"
    assert any("did not run after the error" in n for n in run.findings.notes)
