"""What is graded, and the reference outputs submissions are compared with.

:func:`load_course` builds the student release of the instructor's source once (the lead's
``release.build_release``) and reads from it the graded check cells (nbgrader ``grade_id`` and
``points``, declared once in the notebooks) and the student regions of every file.

:func:`reference_templates` runs the instructor's solution through exactly the pipeline a
submission goes through (solution regions spliced into the release, the same sandbox, nbval
with the same grading seed) and stores each cell's outputs into a copy of the release notebook:
the *template* every submission's notebook is built from. Templates are cached by a key over
the release's content, the seed and the settings, so one batch (or a resumed one) computes them
once. They live in the grader's private folder, never inside a sandbox.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from cs231n_lib.course import markers, solutions
from cs231n_lib.course.grade_workspace import RegionSet, code_cells
from cs231n_lib.course.release import atomic_directory, build_release, read_notebook

GRADER_VERSION = "1"  # bump when grading semantics change, so cached results are redone


@dataclass(frozen=True)
class GradedCell:
    notebook: str  # file name: "01_knn.ipynb"
    cell_num: int  # nbval's number: index among the notebook's code cells
    cell_id: str
    exercise: str
    points: float


@dataclass
class Course:
    source_root: Path
    release_root: Path
    notebooks: list[str]
    graded: list[GradedCell]
    py_regions: dict[str, list[str]] = field(default_factory=dict)
    digest: str = ""

    @property
    def max_points(self) -> float:
        return sum(g.points for g in self.graded)

    def exercises(self) -> list[str]:
        return [g.exercise for g in self.graded]


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


def bare_template(course: Course, name: str) -> nbformat.NotebookNode:
    """The release notebook as the reference run executes it (no outputs: nothing compared)."""
    return read_notebook(course.release_root / "notebooks" / name)


def store_templates(course: Course, outputs: dict[str, dict[int, list[dict]]], dest: Path) -> None:
    """Write each release notebook with the reference run's outputs, atomically as a folder.

    Every code cell gets an execution count, so nbval compares every cell (a cell without one
    counts as "not run" and would be compared with nothing).
    """
    with atomic_directory(dest) as tmp:
        for name in course.notebooks:
            nb = bare_template(course, name)
            recorded = outputs.get(name, {})
            for num, cell in enumerate(code_cells(nb)):
                cell.execution_count = num + 1
                cell.outputs = [_as_output(o) for o in recorded.get(num, [])]
            nbformat.validate(nb)
            (tmp / name).write_text(nbformat.writes(nb), encoding="utf-8")
        (tmp / "course.json").write_text(
            json.dumps([asdict(g) for g in course.graded], indent=1), encoding="utf-8"
        )


def _as_output(out: dict) -> nbformat.NotebookNode:
    kind = out.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=out["name"], text=out["text"])
    if kind == "execute_result":
        return nbformat.v4.new_output(
            "execute_result",
            data=out.get("data", {}),
            metadata=out.get("metadata", {}),
            execution_count=out.get("execution_count") or 1,
        )
    if kind == "display_data":
        return nbformat.v4.new_output(
            "display_data", data=out.get("data", {}), metadata=out.get("metadata", {})
        )
    return nbformat.v4.new_output(
        "error",
        ename=out.get("ename", ""),
        evalue=out.get("evalue", ""),
        traceback=out.get("traceback", []),
    )


def load_templates(folder: Path, course: Course) -> dict[str, nbformat.NotebookNode]:
    return {name: read_notebook(folder / name) for name in course.notebooks}


def region_names(course: Course) -> dict[str, list[str]]:
    """Notebook regions of the release, by notebook name (for reports)."""
    found: dict[str, list[str]] = {}
    for name in course.notebooks:
        for cell in code_cells(bare_template(course, name)):
            lines = cell.source.splitlines()
            found.setdefault(name, []).extend(markers.read_student_regions(lines, name))
    return found
