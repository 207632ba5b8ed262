"""The student release in a real browser: it opens, runs, and a stub says what to do.

A release is built into a temporary folder and served by its own JupyterLab, whose kernels
import the release's ``cs231n_lib`` (stubs, no solutions) through PYTHONPATH, as a student's
install would. Run All must stop at the first unfinished exercise with the stub's
NotImplementedError and its actionable message in the page.
"""

from __future__ import annotations

import pytest

from cs231n_course.release import build_release

from .conftest import REPO, lab_window_for
from .lab import running_lab
from .student_run import RUN_TIMEOUT

pytestmark = pytest.mark.browser

NOTEBOOK = "notebooks/01_knn.ipynb"
MESSAGE = "implement this in cs231n_lib/"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    build_release(REPO, out)
    return out


@pytest.fixture(scope="module")
def release_window(browser, release, tmp_path_factory):
    env = {
        "PYTHONPATH": str(release),
        "CS231N_DATA_DIR": str(REPO / "datasets"),  # reuse the decoded data cache
    }
    with running_lab(release, tmp_path_factory.mktemp("release-lab"), env) as lab:
        with lab_window_for(browser, lab) as window:
            yield window


@pytest.fixture
def lab_window(release_window):
    return release_window


def test_release_shows_the_stub_message(release, page_session, artifacts):
    assert (release / NOTEBOOK).exists(), f"the release has no {NOTEBOOK}"
    nb = page_session.window.notebook(NOTEBOOK, "release-01_knn")
    page_session.show_trouble.append(nb.show_trouble)
    page_session.evidence.append(nb.error_texts)
    nb.open()
    nb.run_all(RUN_TIMEOUT)
    cells = nb.collect()
    nb.screenshot_notebook(artifacts / "release-01_knn.png")

    shown = [
        (cell, out, dom)
        for cell in cells
        if cell["type"] == "code"
        for out, dom in zip(cell["outputs"], cell["dom"], strict=False)
        if out["output_type"] == "error"
    ]
    assert shown, "Run All in the unsolved release showed no error at all"
    cell, out, dom = shown[0]
    nb.cell_screenshot(cell["index"], artifacts / "release-01_knn-error.png")
    where = f"cell {cell['index']} ({cell['id']!r})"
    assert out["ename"] == "NotImplementedError", (
        f"the first error ({where}) is {out['ename']}: {out['evalue']}, not a stub's "
        f"NotImplementedError; the page shows:\n{dom['text']}"
    )
    assert "NotImplementedError" in dom["text"] and MESSAGE in dom["text"], (
        f"{where}: the page does not show the stub's message {MESSAGE!r}:\n{dom['text']}"
    )
    first_code = next(c["index"] for c in cells if c["type"] == "code")
    assert cell["index"] > first_code, "the setup cell itself failed in the release"
    nb.close()
