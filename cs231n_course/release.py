"""Build the student release from the instructor's source tree.

``python -m cs231n_course release OUT`` writes a tree that holds

- the library, with every solution region replaced by a student region holding a stub that
  raises ``NotImplementedError("<name>: implement this in <file> (see the TODO above)")``;
- the notebooks, with solution regions in code cells replaced the same way, inline-question
  answers replaced by a placeholder, and every output cleared;
- the embedded data, README, requirements and packaging.

Instructor-only material (the ``cs231n_course`` package: release and grading tools;
``tests/``; ``benchmarks/``; authoring notes) is never matched by ``INCLUDE``. The same
source always gives a byte-identical tree. The tree is built in a temporary folder beside
``OUT`` and renamed into place at the end, so a failed release never leaves a half-written
one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cs231n_course import markers
from cs231n_course.release_text import student_pyproject
from cs231n_lib.atomic import atomic_directory

# What a student gets, as glob patterns relative to the source root. Everything else stays.
INCLUDE = (
    "README.md",
    "README.ko.md",  # the Korean student guide (korean3)
    "requirements.txt",
    "pyproject.toml",
    ".gitignore",
    "cs231n_lib/**/*.py",
    "cs231n_lib/checks/golden/*.npz",
    "cs231n_lib/locale/*/LC_MESSAGES/*.mo",
    "notebooks/*.ipynb",
    "datasets/README.md",
    "datasets/cifar10-jpeg75.tar.gz",
)


@dataclass
class ReleaseReport:
    """What a release wrote: files, and the student regions per file."""

    files: list[str] = field(default_factory=list)
    regions: dict[str, list[str]] = field(default_factory=dict)
    replaced: int | None = None  # with --force: how many files the replaced folder held

    @property
    def region_count(self) -> int:
        return sum(len(v) for v in self.regions.values())


def released_files(source_root: Path) -> list[str]:
    """Relative paths (POSIX, sorted) of the source files that go into the release."""
    found = set()
    for pattern in INCLUDE:
        for path in source_root.glob(pattern):
            rel = path.relative_to(source_root).as_posix()
            if path.is_file():
                found.add(rel)
    return sorted(found)


def release_python_text(text: str, relpath: str) -> tuple[str, list[str]]:
    """Student version of one ``.py`` file's text, and its region names."""
    lines = text.splitlines()
    out, names = markers.strip_solutions(lines, relpath, relpath, python_functions=True)
    return "\n".join(out) + ("\n" if text.endswith("\n") else ""), names


def release_notebook(
    nb: nbformat.NotebookNode, relpath: str
) -> tuple[nbformat.NotebookNode, list[str]]:
    """Student version of a notebook (a new object), and its region names.

    Code regions are named by cell id and their stubs point at the notebook; outputs and
    execution counts are cleared.
    """
    nb = nbformat.from_dict(nb)  # deep copy
    names: list[str] = []
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id") or f"cell-{index}"
        where = f"{relpath} (cell {cell_id})"
        lines = cell.source.splitlines()
        if cell.cell_type in ("code", "markdown"):
            is_md = cell.cell_type == "markdown"
            if is_md:  # instructor-only spans, as in the README
                lines = strip_instructor_sections(cell.source, where).splitlines()
            new, found = markers.strip_solutions(
                lines,
                f"{relpath} cell {index} ({cell_id})",
                where,
                python_functions=False,
                cell_name=cell_id,
                markdown=is_md,
            )
            cell.source = "\n".join(new)
            names.extend(found)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)  # saved widget state belongs to the executed source
    return nb, names


def build_release(source_root: Path, dest: Path, *, force: bool = False) -> ReleaseReport:
    """Write the student tree for ``source_root`` to ``dest``.

    Parameters
    ----------
    source_root : Path
        The instructor's repository (solutions included).
    dest : Path
        Where the release goes. Must not exist, unless ``force`` (then it is replaced).

    Raises
    ------
    markers.MarkerError
        A solution marker is malformed (the message starts with ``file:line``).
    FileExistsError
        ``dest`` exists and ``force`` is False.
    """
    source_root, dest = Path(source_root).resolve(), Path(dest).resolve()
    if source_root.is_relative_to(dest) or (
        dest.parent == source_root and (source_root / dest.name).exists() and dest.name != "release"
    ):
        raise ValueError(
            f"refusing to release into {dest}: it would overwrite the source; "
            f"choose a folder outside it, e.g. ../student-release"
        )
    if dest.exists() and not force:
        raise FileExistsError(
            f"{dest} already exists; choose a new folder or pass --force to replace it"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    report = ReleaseReport()
    if dest.exists():
        report.replaced = sum(len(files) for _, _, files in os.walk(dest))
    with atomic_directory(dest) as tmp:
        for rel in released_files(source_root):
            _release_file(source_root / rel, tmp / rel, rel, report)
    return report


def _release_file(src: Path, dst: Path, rel: str, report: ReleaseReport) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if rel.endswith(".py"):
        text, names = release_python_text(src.read_text(encoding="utf-8"), rel)
        dst.write_text(text, encoding="utf-8")
    elif rel.endswith(".ipynb"):
        nb = read_notebook(src)
        student, names = release_notebook(nb, rel)
        dst.write_text(nbformat.writes(student) + "\n", encoding="utf-8")
    elif rel.endswith(".md"):  # README.md, datasets/README.md
        text = strip_instructor_sections(src.read_text(encoding="utf-8"), rel)
        dst.write_text(text, encoding="utf-8")
        names = []
    elif rel == "pyproject.toml":
        dst.write_text(student_pyproject(src.read_text(encoding="utf-8")), encoding="utf-8")
        names = []
    else:
        shutil.copyfile(src, dst)
        names = []
    report.files.append(rel)
    if names:
        report.regions[rel] = names


INSTRUCTOR_BEGIN = "<!-- instructor-only -->"
INSTRUCTOR_END = "<!-- /instructor-only -->"


def strip_instructor_sections(text: str, path: str) -> str:
    """Drop the README's instructor-only sections (between the two HTML comment lines)."""
    out: list[str] = []
    opened: int | None = None
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        tag = line.strip()
        if tag == INSTRUCTOR_BEGIN:
            if opened is not None:
                raise markers.MarkerError(f"{path}:{number}: nested {INSTRUCTOR_BEGIN}")
            opened = number
        elif tag == INSTRUCTOR_END:
            if opened is None:
                raise markers.MarkerError(f"{path}:{number}: {INSTRUCTOR_END} without a begin")
            opened = None
        elif opened is None:
            out.append(line)
    if opened is not None:
        raise markers.MarkerError(f"{path}:{opened}: {INSTRUCTOR_BEGIN} is never closed")
    return "".join(out)


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook, with an error that names the file and the problem."""
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several unrelated exception types
        raise ValueError(
            f"{path}: not a valid Jupyter notebook ({type(err).__name__}: {err}); "
            f"open it in JupyterLab and save it again, or restore it from git"
        ) from err
    return nb
