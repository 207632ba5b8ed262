"""What is graded: the release of the instructor's source and the graded check cells in it.

:func:`load_course` builds the student release once (``release.build_release``) and reads the
graded check cells (nbgrader ``grade_id`` and ``points``, declared once in the notebooks) and
the student regions of every file. :func:`context_key` names everything a grade depends on
besides the submission (the release, the seed, the settings): results and reference outputs
are stored under it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from cs231n_course import solutions
from cs231n_course.grader.types import GRADER_VERSION, Course, GradedCell
from cs231n_course.grader.workspace import RegionSet, code_cells
from cs231n_course.release import build_release, read_notebook


def _tree_digest(root: Path, rels: list[str]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(rels):
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return digest.hexdigest()


def load_course(source_root: Path, cache: Path, only: list[str] | None = None) -> Course:
    """Build (or reuse) the release of ``source_root`` and read what is graded in it.

    Parameters
    ----------
    only : list of str, optional
        Notebook names or stems to grade (``["01_knn"]``); default all with graded cells.
    """
    source_root = Path(source_root).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".release-", dir=cache))
    try:
        report = build_release(source_root, tmp / "release")
        rels = [r for r in report.files if r.endswith((".py", ".ipynb", ".npz"))]
        digest = _tree_digest(tmp / "release", rels)
        release_root = cache / f"release-{digest[:16]}"
        if not release_root.exists():
            os.replace(tmp / "release", release_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    notebooks, graded = [], []
    for path in sorted((release_root / "notebooks").glob("*.ipynb")):
        if only and path.name not in only and path.stem not in only:
            continue
        cells = _graded_cells(path)
        if cells:
            notebooks.append(path.name)
            graded += cells
    if only and not notebooks:
        raise ValueError(f"no graded notebook matches {only}; the notebooks are in {source_root}")
    seen: dict[str, str] = {}
    for cell in graded:
        if cell.exercise in seen:
            raise ValueError(
                f"grade_id {cell.exercise!r} is declared twice ({seen[cell.exercise]} and "
                f"{cell.notebook}); give every graded check cell its own grade_id"
            )
        seen[cell.exercise] = cell.notebook
    py_regions = {rel: names for rel, names in report.regions.items() if rel.endswith(".py")}
    return Course(source_root, release_root, notebooks, graded, py_regions, digest)


def _graded_cells(path: Path) -> list[GradedCell]:
    nb = read_notebook(path)
    cells = []
    for num, cell in enumerate(code_cells(nb)):
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        points = meta.get("points")
        if not isinstance(points, int | float) or points <= 0 or not meta.get("grade_id"):
            raise ValueError(
                f"{path.name} cell {cell.get('id')}: a graded cell needs nbgrader metadata "
                f'{{"grade": true, "grade_id": "<exercise>", "points": <n>}}, got {dict(meta)}'
            )
        cells.append(GradedCell(path.name, num, cell.get("id", ""), meta["grade_id"], points))
    return cells


def solution_region_set(course: Course) -> RegionSet:
    """The instructor's solutions as if a student had written every region perfectly."""
    out = RegionSet()
    for key, bodies in solutions.solution_regions(course.source_root).items():
        rel, _, cell = key.partition("::")
        if cell:
            name = Path(rel).name
            if name in course.notebooks:
                out.nb.setdefault(name, {}).update(bodies)
        elif rel in course.py_regions:
            out.py[rel] = bodies
    return out


def context_key(course: Course, seed: int, settings: dict) -> str:
    """Key of everything a grade depends on besides the submission itself."""
    payload = json.dumps(
        {
            "version": GRADER_VERSION,
            "release": course.digest,
            "notebooks": course.notebooks,
            "seed": seed,
            "settings": settings,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]
