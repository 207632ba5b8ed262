"""Static checks of every course notebook: the conventions nbval and the grader rely on.

nbval itself runs the notebooks (pytest collects notebooks/*.ipynb with --nbval); these tests
check what nbval cannot see: stored outputs exist and hold no errors, check cells declare their
points and call a registered exercise, cell ids are stable, markers are well formed.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from cs231n_course import markers
from cs231n_lib.checks import exercises

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CHECK_CALL = re.compile(r'^check\("(?P<name>[A-Za-z0-9_]+)"')


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def nb(request):
    return request.param, nbformat.read(str(request.param), as_version=4)


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


def test_valid_and_named(nb):
    path, book = nb
    nbformat.validate(book)
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", path.stem), f"{path.name}: name it NN_topic.ipynb"
    assert book.metadata.kernelspec.name == "python3"


def test_first_code_cell_sets_up(nb):
    path, book = nb
    first = next(c for c in book.cells if c.cell_type == "code")
    for needed in ("%autoreload 2", "config.SEED", "from cs231n_lib.checks import check"):
        assert needed in first.source, f"{path.name}: first code cell lacks {needed!r}"


def test_cell_ids_unique_and_meaningful(nb):
    path, book = nb
    ids = [c.get("id") for c in book.cells]
    assert all(ids), f"{path.name}: every cell needs an id"
    assert len(set(ids)) == len(ids), f"{path.name}: duplicate cell ids"
    generic = [i for i in ids if re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){0,4}.*", i)]
    assert not generic, f"{path.name}: give these cells meaningful ids: {generic}"


def test_every_code_cell_was_executed_without_error(nb):
    path, book = nb
    for i, cell in enumerate(book.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        assert cell.execution_count is not None, (
            f"{path.name} cell {i} ({cell.id}) has no stored execution; run "
            f"python -m cs231n_course execute {path.relative_to(REPO)}"
        )
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} cell {i} ({cell.id}) stored an error: {errors[0].ename}"


def test_check_cells_are_graded_and_registered(nb):
    path, book = nb
    known = exercises()
    graded = 0
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        match = CHECK_CALL.match(cell.source.strip())
        meta = cell.metadata.get("nbgrader", {})
        if match:
            name = match["name"]
            assert name in known, f"{path.name} ({cell.id}): check({name!r}) is not registered"
            assert meta.get("grade") is True and meta.get("grade_id") == name, (
                f"{path.name} ({cell.id}): a check cell needs nbgrader metadata "
                f'{{"grade": true, "grade_id": "{name}", "points": n}}'
            )
            assert isinstance(meta.get("points"), int | float) and meta["points"] > 0
            assert "\n" not in cell.source.strip(), f"{path.name} ({cell.id}): only check(...)"
            graded += 1
        else:
            assert not meta.get("grade"), f"{path.name} ({cell.id}): graded but not a check cell"
    assert graded, f"{path.name}: no graded check cells"


def test_needs_name_real_exercises(nb):
    path, book = nb
    regions = {c.id for c in book.cells if markers.has_any_marker(c.source)}
    known = set(exercises()) | regions
    for cell in book.cells:
        for need in cell.metadata.get("cs231n", {}).get("needs", []):
            assert need in known, f"{path.name} ({cell.id}): needs unknown exercise {need!r}"


def test_markers_well_formed(nb):
    path, book = nb
    for i, cell in enumerate(book.cells):
        markers.find_solution_regions(
            cell.source.splitlines(), f"{path.name} cell {i}", python_functions=False
        )


def test_library_is_not_pasted_into_cells(nb):
    path, book = nb
    for cell in book.cells:
        if cell.cell_type == "code":
            assert not re.search(
                r"^def (\w+_(forward|backward)|compute_distances)", cell.source, re.M
            ), f"{path.name} ({cell.id}): notebooks import the library, never paste it"
