"""The release round trip through real nbval: an unsolved release fails exactly at the unfinished
exercises, a partial one only where unfinished, and the spliced solutions reproduce the
instructor's reference outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from cs231n_course.release import build_release, read_notebook
from cs231n_course.solutions import fill_regions, solution_regions
from cs231n_lib.checks import exercises as all_exercises

REPO = Path(__file__).resolve().parents[1]


def run_nbval(notebook: Path, library_root: Path, *, lax: bool, tmp: Path) -> dict[int, str]:
    """Run nbval on one notebook importing cs231n_lib from ``library_root``.

    Returns {code-cell index: failure message} for the cells that failed.
    """
    report = tmp / f"{notebook.stem}-{'lax' if lax else 'strict'}.xml"
    env = dict(os.environ, PYTHONPATH=str(library_root), CS231N_FAST="1")
    env["CS231N_DATA_DIR"] = str(REPO / "datasets")  # reuse the decoded cache
    # -p cs231n_course before nbval imports nbformat: it spares each run ~1 s of CPU (see that
    # package's __init__; it defines no hooks), as the grader's own nbval passes do.
    args = [
        sys.executable, "-m", "pytest", str(notebook), "-p", "no:cacheprovider",
        "-p", "cs231n_course",
        "-o", "addopts=", "--nbval-current-env", f"--junitxml={report}", "-q",
        "--nbval-lax" if lax else "--nbval",
        "--nbval-sanitize-with", str(REPO / "tests" / "sanitize.cfg"),
        "--rootdir", str(notebook.parent), "-c", os.devnull,
    ]  # fmt: skip
    subprocess.run(args, env=env, cwd=notebook.parent, capture_output=True, check=False)
    failed = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            index = int(case.get("name").rsplit("Cell ", 1)[1])
            failed[index] = (problem.get("message") or "") + (problem.text or "")
    assert list(ET.parse(report).getroot().iter("testcase")), f"nbval ran nothing: {report}"
    return failed


def failure_sets(nb: nbformat.NotebookNode, unimplemented: set[str]) -> tuple[set[int], set[int]]:
    """Code-cell indices that must fail, and those that may, given unfinished exercises.

    Must fail: the graded check cell of every unfinished exercise, and every cell holding an
    unfinished student region. May fail: cells that declare they need an unfinished exercise
    (they use its results). Every other cell must pass.
    """
    must, may, index = set(), set(), 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        needs = set(cell.metadata.get("cs231n", {}).get("needs", []))
        if grade_id in unimplemented or cell.id in unimplemented:
            must.add(index)
        elif needs & unimplemented:
            may.add(index)
        index += 1
    return must, may


def assert_fails_exactly(failed: dict[int, str], nb, unimplemented: set[str]) -> None:
    must, may = failure_sets(nb, unimplemented)
    assert must <= set(failed), f"cells {sorted(must - set(failed))} should have failed"
    assert set(failed) <= must | may, f"cells {sorted(set(failed) - must - may)} failed"
    for index in must:
        # A stub says where to write code; a check of an empty notebook result says what is
        # missing. Either way the student sees which exercise to do.
        text = failed[index]
        assert ("NotImplementedError" in text and "implement this in" in text) or (
            "CheckFailed" in text
        ), text[-400:]


KNN = "notebooks/01_knn.ipynb"


NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def spliced(tmp_path_factory) -> Path:
    """A release with every solution spliced into its student regions: a perfect submission."""
    student = tmp_path_factory.mktemp("spliced") / "student"
    build_release(REPO, student)
    assert len(fill_regions(student, solution_regions(REPO))) >= 40
    return student


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_released_notebook_fails_exactly_at_unimplemented_exercises(release, tmp_path, name):
    nb = read_notebook(release / "notebooks" / name)
    # In an unsolved release every exercise is unfinished, including other notebooks' (06
    # builds on 04's layers), and so is every notebook cell holding a student region.
    exercises = set(all_exercises()) | {
        c.id for c in nb.cells if c.cell_type == "code" and "STUDENT REGION" in c.source
    }
    failed = run_nbval(release / "notebooks" / name, release, lax=True, tmp=tmp_path)
    assert_fails_exactly(failed, nb, exercises)
    assert min(failed) > 0, "the setup and data cells must run in an unsolved release"


@pytest.mark.slow
@pytest.mark.notebook
def test_partial_submission_fails_only_where_unfinished(release, tmp_path):
    student = tmp_path / "student"
    build_release(REPO, student)
    done = {"KNearestNeighbor.compute_distances_two_loops", "KNearestNeighbor.predict_labels"}
    filled = fill_regions(student, solution_regions(REPO), only=done)
    assert set(filled) == done
    nb = read_notebook(student / KNN)
    unfinished = {
        "compute_distances_one_loop", "compute_distances_no_loops", "knn_cross_validation",
        "knn_best_k",
    }  # fmt: skip
    failed = run_nbval(student / KNN, student, lax=True, tmp=tmp_path)
    assert_fails_exactly(failed, nb, unfinished)
    must_pass = {"check-compute-distances-two-loops", "check-predict-labels", "accuracy-k1"}
    code_ids = [c.id for c in nb.cells if c.cell_type == "code"]
    assert not {code_ids[i] for i in failed} & must_pass


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_spliced_solutions_reproduce_the_reference_outputs(spliced, tmp_path, name):
    """The released notebook with the solutions spliced into its regions (library and cells),
    given the instructor's stored outputs, passes strict nbval: splicing loses nothing."""
    source = {c.id: c for c in read_notebook(REPO / "notebooks" / name).cells}
    nb = read_notebook(spliced / "notebooks" / name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = source[cell.id].outputs
            cell.execution_count = source[cell.id].execution_count
    target = spliced / "notebooks" / f"reference_{name}"
    target.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    assert run_nbval(target, spliced, lax=False, tmp=tmp_path) == {}
