"""Build the workspace one submission is graded in: the instructor's files plus the student's
regions, and nothing else from the submission.

``lift_regions`` (:mod:`.regions`) reads the named student regions out of a submission's ``.py``
files and notebook code cells. ``assemble_library`` copies the instructor's release of the
library and splices those regions in (regions a student did not write keep their stubs).
``assemble_notebook`` takes the instructor's notebook *template* (release cells, reference
outputs, nbgrader metadata, nbval tags) and splices the notebook regions into its code cells.

A region is used only if it stands on its own (:mod:`.region_check`: it must compile as a block
at its own indentation, so it cannot close the enclosing function, open a string that swallows
the instructor's code after it, or otherwise reach outside its begin/end lines), and nbval
comment markers (``# NBVAL_SKIP`` ...) inside it are removed. A region that fails is replaced by
its stub and the feedback says why.

This module is the workspace's one entry: the names of :mod:`.regions` and
:mod:`.region_check` the rest of the grader uses are importable from here too.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

from cs231n_course import markers
from cs231n_course.grader.region_check import (
    region_problem,
    skeleton_of,
    whole_problem,
)
from cs231n_course.grader.regions import RegionSet, lift_regions, normalized

__all__ = [
    "NBVAL_MARKER_REMOVED",
    "REAL_CHECK",
    "SHOWN_ONLY",
    "SKIP_TAG",
    "RegionSet",
    "assemble_library",
    "assemble_notebook",
    "code_cells",
    "lift_regions",
    "normalized",
    "region_problem",
    "splice_checked",
]

_NBVAL_MARKER = re.compile(r"^\s*#+\s*(NBVAL_|PYTEST_VALIDATE_)", re.IGNORECASE)
NBVAL_MARKER_REMOVED = "# (an nbval marker was removed here by the grader)"
SKIP_TAG = "nbval-skip"
REAL_CHECK = "from cs231n_lib.checks import check  # (added by the grader)"
# Cells that only show something (a timing, a picture, a widget) and that no later cell reads
# (tests/test_grade_units.py holds each to that): grading skips them, in the reference run and
# in every submission's, so a grade never waits for them. In 01 they were a third of a run's
# cell time, and a quarter of its CPU.
SHOWN_ONLY = {
    "01_knn.ipynb": frozenset({"class-grid", "dists-image", "timing", "cv-plot", "explorer"}),
    "02_svm.ipynb": frozenset(
        {
            "svm-loss-curve",
            "svm-tuning-plot",
            "svm-templates",
            "svm-score-explorer",
            "svm-retrain-explorer",
        }
    ),
    "03_softmax.ipynb": frozenset(
        {
            "mean-image",
            "softmax-loss-curve",
            "softmax-tuning-plot",
            "softmax-templates",
            "softmax-score-explorer",
            "softmax-retrain-explorer",
        }
    ),
    "04_two_layer_net.ipynb": frozenset({"graph-stepper", "first-layer-weights"}),
}


def _strip_nbval_markers(region: markers.StudentRegion) -> markers.StudentRegion:
    body = [NBVAL_MARKER_REMOVED if _NBVAL_MARKER.match(line) else line for line in region.body]
    return markers.StudentRegion(region.name, body, region.indent)


# -- splicing ------------------------------------------------------------------------------------
def _region_indents(lines: list[str], path: str) -> dict[str, str]:
    return {name: r.indent for name, r in markers.read_student_regions(lines, path).items()}


def splice_checked(
    lines: list[str], path: str, submitted: dict[str, markers.StudentRegion], *, notebook: bool
) -> tuple[list[str], list[str], dict[str, str]]:
    """Splice the usable regions of ``submitted`` into instructor lines ``lines``.

    Returns the new lines, the names used, and {region: why it was refused} for the others.
    """
    indents = _region_indents(lines, path)
    usable, refused = {}, {}
    for name, region in submitted.items():
        if name not in indents:
            continue
        if notebook:
            region = _strip_nbval_markers(region)
        problem = region_problem(region, indents[name], notebook=notebook)
        if problem:
            refused[name] = f"{name} ({path}): {problem}; graded as not written"
        else:
            usable[name] = region
    skeleton = None if notebook else skeleton_of(lines)
    while True:
        out, used = markers.splice_regions(lines, path, usable)
        culprit = whole_problem(out, used, notebook=notebook, skeleton=skeleton)
        if culprit is None:
            return out, used, refused
        name, problem = culprit
        refused[name] = f"{name} ({path}): {problem}; graded as not written"
        del usable[name]


def assemble_library(
    release_root: Path, dest: Path, regions: RegionSet
) -> tuple[list[str], dict[str, str]]:
    """Copy the release's ``cs231n_lib`` to ``dest/cs231n_lib`` and splice the regions in.

    Returns the regions used and {region: why it was refused}.
    """
    shutil.copytree(
        release_root / "cs231n_lib",
        dest / "cs231n_lib",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    used, refused = [], {}
    for rel, submitted in sorted(regions.py.items()):
        path = dest / rel
        lines = path.read_text(encoding="utf-8").splitlines()
        new, names, bad = splice_checked(lines, rel, submitted, notebook=False)
        path.write_text("\n".join(new) + "\n", encoding="utf-8")
        used += names
        refused.update(bad)
    return used, refused


def assemble_notebook(
    template: nbformat.NotebookNode,
    name: str,
    submitted: dict[str, markers.StudentRegion],
    skip: set[int] = frozenset(),
) -> tuple[nbformat.NotebookNode, list[str], list[str]]:
    """The notebook nbval runs: ``template`` with the notebook regions spliced in.

    ``skip`` holds code-cell numbers (nbval's numbering) that get the ``nbval-skip`` tag: cells
    that crashed or hung the kernel in an earlier run of this submission. The notebook's
    :data:`SHOWN_ONLY` cells get it too.
    Returns the notebook, the regions used, and {region: why it was refused}.
    """
    nb = nbformat.from_dict(template)
    used, refused = [], {}
    code_num = -1
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_num += 1
        lines = cell.source.splitlines()
        if submitted and markers.has_student_region(lines):
            new, names, bad = splice_checked(
                lines, f"notebooks/{name} ({cell.get('id')})", submitted, notebook=True
            )
            cell.source = "\n".join(new)
            used += names
            refused.update(bad)
        if cell.metadata.get("nbgrader", {}).get("grade") and "check(" in cell.source:
            # A region may have bound the name ``check`` to anything: the graded cell calls
            # the course's own, whatever the notebook's namespace holds.
            cell.source = REAL_CHECK + "\n" + cell.source
        if code_num in skip or cell.get("id") in SHOWN_ONLY.get(name, ()):
            tags = list(cell.metadata.get("tags", []))
            cell.metadata["tags"] = [*tags, SKIP_TAG]
    return nb, used, refused


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells in nbval's numbering (``Cell 0`` is the first code cell)."""
    return [cell for cell in nb.cells if cell.cell_type == "code"]
