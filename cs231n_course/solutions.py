"""Move region bodies between trees: the source's solutions into a student tree, and back.

``solution_regions(source_root)`` reads every solution region of the instructor's source as the
student region it becomes in the release; ``fill_regions(student_root, regions)`` writes bodies
into the student regions of a released (or submitted) tree. Together they make a "perfect
submission", which the release round-trip tests and the grader's reference run use.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from cs231n_course import markers
from cs231n_course.release import read_notebook, released_files

# {relative path: {region name: region}}; for notebooks the key is "<path>::<cell id>".
Regions = dict[str, dict[str, markers.StudentRegion]]


def _solution_bodies(lines: list[str], path: str, *, python: bool, cell: str | None = None):
    found = markers.find_solution_regions(lines, path, python_functions=python, cell_name=cell)
    return {
        r.name: markers.StudentRegion(r.name, lines[r.begin + 1 : r.end], r.indent) for r in found
    }


def solution_regions(source_root: Path) -> Regions:
    """Every solution region of the released files of ``source_root``, by file and name."""
    regions: Regions = {}
    for rel in released_files(source_root):
        path = source_root / rel
        if rel.endswith(".py"):
            lines = path.read_text(encoding="utf-8").splitlines()
            bodies = _solution_bodies(lines, rel, python=True)
            if bodies:
                regions[rel] = bodies
        elif rel.endswith(".ipynb"):
            for cell in read_notebook(path).cells:
                lines = cell.source.splitlines()
                bodies = _solution_bodies(lines, rel, python=False, cell=cell.get("id"))
                if bodies:
                    regions[f"{rel}::{cell.id}"] = bodies
    return regions


def fill_regions(student_root: Path, regions: Regions, only: set[str] | None = None) -> list[str]:
    """Write region bodies into the student regions of ``student_root``, in place.

    Parameters
    ----------
    student_root : Path
        A released tree.
    regions : Regions
        Bodies to write, e.g. from :func:`solution_regions`.
    only : set of str, optional
        Region names to fill; the others keep their stubs.

    Returns
    -------
    list of str
        The names of the regions filled.
    """
    filled: list[str] = []
    by_file: dict[str, dict[str, dict[str, markers.StudentRegion]]] = {}
    for key, bodies in regions.items():
        rel, _, cell = key.partition("::")
        chosen = {n: r for n, r in bodies.items() if only is None or n in only}
        if chosen:
            by_file.setdefault(rel, {})[cell] = chosen
    for rel, cells in sorted(by_file.items()):
        path = student_root / rel
        if rel.endswith(".py"):
            lines = path.read_text(encoding="utf-8").splitlines()
            new, used = markers.splice_regions(lines, rel, cells[""])
            path.write_text("\n".join(new) + "\n", encoding="utf-8")
            filled.extend(used)
        else:
            nb = read_notebook(path)
            for cell in nb.cells:
                if cell.id in cells:
                    new, used = markers.splice_regions(
                        cell.source.splitlines(), rel, cells[cell.id]
                    )
                    cell.source = "\n".join(new)
                    filled.extend(used)
            path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return filled
