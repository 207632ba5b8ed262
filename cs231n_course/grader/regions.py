"""Read the student regions out of an unpacked submission, and nothing else from it.

``lift_regions`` reads the named student regions of the submission's ``.py`` files and
notebook code cells (through :mod:`cs231n_course.markers`, the one parser of the region
grammar) into a :class:`RegionSet`. A damaged file (not UTF-8, bad JSON, broken marker lines)
costs only the regions in that file, and the set says why they were lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cs231n_course import markers


@dataclass
class RegionSet:
    """Student regions by file: ``py["cs231n_lib/x.py"][name]``, ``nb["01_knn.ipynb"][name]``."""

    py: dict[str, dict[str, markers.StudentRegion]] = field(default_factory=dict)
    nb: dict[str, dict[str, markers.StudentRegion]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Regions that could not be read at all (damaged marker lines, an unreadable file), with
    # why: an exercise that needs one says so instead of "implement this".
    lost: dict[str, str] = field(default_factory=dict)
    broken_notebooks: dict[str, str] = field(default_factory=dict)  # name -> why


def lift_regions(
    root: Path, files: list[str], py_regions: dict[str, list[str]], notebooks: list[str]
) -> RegionSet:
    """Read the student regions of the submission unpacked in ``root``.

    Parameters
    ----------
    root : Path
        Staging folder of the unpacked submission.
    files : list of str
        The files it holds, relative to ``root``.
    py_regions : dict
        Library files of the release and the region names each holds.
    notebooks : list of str
        File names of the graded notebooks (``01_knn.ipynb``).
    """
    out = RegionSet()
    present = set(files)
    for rel, names in sorted(py_regions.items()):
        if rel not in present:
            out.notes.append(f"{rel} is missing from the submission: its functions keep the stubs")
            continue
        try:
            text = (root / rel).read_bytes().decode("utf-8")
            found = markers.read_student_regions(text.splitlines(), rel)
        except UnicodeDecodeError:
            why = f"{rel} is not UTF-8 text, so none of its regions could be read"
            out.notes.append(f"{why}; its regions are graded as not written")
            out.lost.update(dict.fromkeys(names, why))
            continue
        except markers.MarkerError as err:
            why = f"the marker lines of {rel} are damaged ({err}): none of its regions were read"
            out.notes.append(f"{why}; restore the begin/end lines from the release")
            out.lost.update(dict.fromkeys(names, why))
            continue
        out.py[rel] = {n: normalized(r) for n, r in found.items() if n in names}
        for name in names:
            if name not in found:
                out.lost[name] = (
                    f"no region {name} in {rel}: its begin/end lines were not found (edited, "
                    f"removed, or typed with look-alike characters); restore them from the release"
                )
    for name in notebooks:
        rel = f"notebooks/{name}"
        if rel not in present:
            out.notes.append(f"{rel} is missing from the submission: its cells keep the stubs")
            continue
        try:
            out.nb[name] = {n: normalized(r) for n, r in _notebook_regions(root / rel, rel).items()}
        except ValueError as err:
            out.notes.append(f"{err}; the notebook's own regions are graded as not written")
            out.broken_notebooks[name] = str(err)
    return out


def normalized(region: markers.StudentRegion) -> markers.StudentRegion:
    """``region`` with its body dedented to its own indentation when that is deeper than the
    marker lines' (valid Python: the markers are comments), so it is checked and spliced as
    the student wrote it instead of failing on a line the student never wrote."""
    lines = [line for line in region.body if line.strip()]
    if not lines:
        return region
    common = lines[0][: len(lines[0]) - len(lines[0].lstrip(" \t"))]
    for line in lines[1:]:
        while not line.startswith(common):
            common = common[:-1]
    if len(common) > len(region.indent) and common.startswith(region.indent):
        return markers.StudentRegion(region.name, region.body, common)
    return region


def _notebook_regions(path: Path, rel: str) -> dict[str, markers.StudentRegion]:
    """Student regions of every code cell; only the cells' source is read, nothing else."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{rel} is not UTF-8 text ({err})") from err
    except RecursionError as err:
        raise ValueError(
            f"{rel} is JSON nested too deeply to be a notebook (thousands of levels); restore "
            f"it from the release or save it again from JupyterLab"
        ) from err
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{rel} is not valid notebook JSON (line {err.lineno}, column {err.colno}: "
            f"{err.msg}); open it in JupyterLab and save it again, or restore it from git"
        ) from err
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        if isinstance(data, dict) and isinstance(data.get("worksheets"), list):
            raise ValueError(
                f"{rel} is an old-format notebook (nbformat {data.get('nbformat')}, with "
                f"worksheets); the course uses nbformat 4: open it in JupyterLab and save it, "
                f"or start again from the release notebook"
            )
        raise ValueError(f"{rel} is JSON but not a notebook (no list of cells)")
    found: dict[str, markers.StudentRegion] = {}
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            continue
        try:
            regions = markers.read_student_regions(source.splitlines(), f"{rel} cell {index}")
        except markers.MarkerError as err:
            raise ValueError(str(err)) from err
        for region_name, region in regions.items():
            if region_name in found:
                raise ValueError(
                    f"{rel}: student region {region_name} appears in two cells (a duplicated "
                    f"cell?); delete the copy you do not want graded"
                )
            found[region_name] = region
    return found
