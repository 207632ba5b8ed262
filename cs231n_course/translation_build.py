"""Build the Korean notebooks (``notebooks/ko/*.ipynb``) and the Korean student release from the
English sources and the catalogues (see :mod:`cs231n_course.translate`)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat

from cs231n_course.translation_catalogs import (
    GLOSSARY_ID,
    LANG,
    STALE_NOTE,
    NotebookStatus,
    catalog_path,
    glossary_path,
    korean_path,
    read_catalog,
    translated_notebooks,
    translation_for,
)
from cs231n_lib import submission_rules

# --- build ----------------------------------------------------------------------------------


def build_notebook(english: Path, *, execute: bool = False) -> tuple[Path, NotebookStatus, int]:
    """Write ``notebooks/ko/<name>.ipynb``; return it, its status and code cells without outputs.

    Markdown cells take their current Korean translation (a stale or missing one shows the
    English with a note). Everything else is the English notebook's: code cells byte for byte,
    cell ids, cell and notebook metadata. Stored outputs come from the previous Korean build for
    code cells whose source is unchanged, or from executing it with ``execute=True``.
    """
    nb = nbformat.read(english, as_version=4)
    out_path = korean_path(english)
    catalog = read_catalog(catalog_path(english))
    status = NotebookStatus(english.name)
    previous = nbformat.read(out_path, as_version=4) if out_path.exists() else None
    old_cells = {c.id: c for c in previous.cells} if previous is not None else {}
    ko = copy.deepcopy(nb)
    needs_run = 0
    for cell in ko.cells:
        if cell.cell_type == "markdown":
            state, korean = translation_for(cell, catalog)
            if state == "current":
                status.current.append(cell.id)
                status.english_words += len(cell.source.split())
                status.korean_words += len(korean.split())
                cell.source = korean
            else:
                getattr(status, state if state in ("stale", "missing") else "problems").append(
                    cell.id if state in ("stale", "missing") else f"{cell.id}: {state}"
                )
                if state != "missing":
                    cell.source = f"{STALE_NOTE}\n\n{cell.source}"
        elif cell.cell_type == "code":
            old = old_cells.get(cell.id)
            if old is not None and old.cell_type == "code" and old.source == cell.source:
                cell.outputs = old.outputs
                cell.execution_count = old.execution_count
            else:
                cell.outputs = []
                cell.execution_count = None
                needs_run += 1
    glossary = glossary_path(english)
    if glossary.exists():  # Korean-only: after the title cell, outside every graded structure
        ko.cells.insert(
            1, nbformat.v4.new_markdown_cell(glossary.read_text("utf-8").strip(), id=GLOSSARY_ID)
        )
    if previous is not None and "widgets" in previous.metadata:
        ko.metadata["widgets"] = previous.metadata["widgets"]
    else:
        ko.metadata.pop("widgets", None)
    from cs231n_course.notebooks import execute_notebook, write_notebook_atomic

    write_notebook_atomic(ko, out_path)
    if execute:
        before = os.environ.get("CS231N_LANG")
        os.environ["CS231N_LANG"] = LANG
        try:
            execute_notebook(out_path)
        finally:
            if before is None:
                os.environ.pop("CS231N_LANG", None)
            else:
                os.environ["CS231N_LANG"] = before
        needs_run = 0
    return out_path, status, needs_run


# --- release ------------------------------------------------------------------------------

ANSWER_STUB_KO = submission_rules.MARKDOWN_ANSWER_STUB_KO


def build_korean_release(source: Path, dest: Path, *, force: bool = False) -> list[str]:
    """The student release of the Korean edition; returns the notebooks written in Korean.

    It is the English release (``course release``) with each translated notebook in
    ``notebooks/`` replaced by the student version of ``notebooks/ko/<name>.ipynb``: the same
    file names, cell ids and student regions, so the grader lifts a Korean student's regions
    exactly as an English student's. Inline-question placeholders are in Korean. Notebooks not
    translated yet stay English. Built beside ``dest`` and renamed into place at the end.
    """
    from cs231n_course import markers
    from cs231n_course.release import build_release, release_notebook
    from cs231n_lib.atomic import atomic_directory

    source, dest = Path(source).resolve(), Path(dest).resolve()
    if dest.exists() and not force:
        raise FileExistsError(f"{dest} already exists; choose a new folder or pass --force")
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with atomic_directory(dest) as tmp:
        tree = tmp / "tree"
        build_release(source, tree)
        for english in translated_notebooks(source / "notebooks"):
            korean = korean_path(english)
            if not korean.exists():
                raise FileNotFoundError(
                    f"{korean} is missing; run `python -m cs231n_course translate build "
                    f"--execute {english.relative_to(source)}` first"
                )
            rel = f"notebooks/{english.name}"
            student, _names = release_notebook(nbformat.read(korean, as_version=4), rel)
            for cell in student.cells:
                if cell.cell_type == "markdown":
                    cell.source = cell.source.replace(markers.MARKDOWN_ANSWER_STUB, ANSWER_STUB_KO)
            (tree / rel).write_text(nbformat.writes(student) + "\n", encoding="utf-8")
            written.append(rel)
        for item in tree.iterdir():
            os.replace(item, tmp / item.name)
        tree.rmdir()
    return written
