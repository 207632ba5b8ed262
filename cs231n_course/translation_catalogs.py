"""The Korean edition's catalogues: where they live, reading, writing and merging them, and
whether a translation is current (the commands are in :mod:`cs231n_course.translate`)."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from cs231n_lib.atomic import write_atomic

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"
LANG = "ko"
LIB_DOMAIN = "cs231n"
LIB_PO = REPO_ROOT / "cs231n_lib" / "locale" / LANG / "LC_MESSAGES" / f"{LIB_DOMAIN}.po"
BABEL_CFG = REPO_ROOT / "babel.cfg"
# Catalogue headers carry a fixed date: the same sources always give byte-identical files.
_FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_SOLUTION_LINE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
_HANGUL = re.compile("[\uac00-\ud7a3]")
GLOSSARY_ID = "ko-glossary"
PREVIOUS_HEADER = "previous English (the Korean below translates it):"
STALE_NOTE = (
    "> ⚠️ **번역 갱신 중** — 이 셀의 영어 원문이 바뀌어 한국어 번역이 아직 따라가지 "
    "못했습니다. 아래는 영어 원문입니다."
)


def ko_dir(notebooks: Path = NOTEBOOKS) -> Path:
    return notebooks / LANG


def catalog_path(english: Path) -> Path:
    """``notebooks/ko/01_knn.po`` for ``notebooks/01_knn.ipynb``."""
    return english.parent / LANG / f"{english.stem}.po"


def korean_path(english: Path) -> Path:
    return english.parent / LANG / english.name


def glossary_path(english: Path) -> Path:
    """``notebooks/ko/01_knn.glossary.md``: a Korean-only cell inserted after the title."""
    return english.parent / LANG / f"{english.stem}.glossary.md"


def english_notebooks(notebooks: Path = NOTEBOOKS) -> list[Path]:
    return sorted(notebooks.glob("*.ipynb"))


def translated_notebooks(notebooks: Path = NOTEBOOKS) -> list[Path]:
    """The English notebooks that have a Korean catalogue."""
    return [nb for nb in english_notebooks(notebooks) if catalog_path(nb).exists()]


# --- catalogues -----------------------------------------------------------------------------


def _new_catalog(project: str) -> Catalog:
    return Catalog(
        locale=LANG,
        project=project,
        version="1.0",
        creation_date=_FIXED_DATE,
        revision_date=_FIXED_DATE,
        language_team="Korean",
        last_translator="cs231n course",
        fuzzy=False,
        header_comment=(
            f"# Korean translation of {project} (CS231n in numpy), from the English source.\n"
            "# Edit msgstr only; `python -m cs231n_course translate` merges and builds."
        ),
    )


def read_catalog(path: Path) -> Catalog:
    with open(path, "rb") as fh:
        return read_po(fh, locale=LANG)


def write_catalog(catalog: Catalog, path: Path) -> None:
    """Write a PO file atomically (a crash never leaves half a catalogue)."""
    buf = io.BytesIO()
    write_po(buf, catalog, width=0, include_previous=True, include_lineno=False)
    write_atomic(path, buf.getvalue())


def markdown_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "markdown"]


def _by_context(catalog: Catalog) -> dict[str, Message]:
    return {m.context: m for m in catalog if m.id and m.context}


def update_catalog(english: Path) -> tuple[Path, dict[str, int]]:
    """Merge the English markdown cells into the notebook's Korean catalogue.

    New cells get empty entries; a cell whose English changed keeps its old Korean marked fuzzy
    with the old English as ``previous_id``; entries of deleted cells become obsolete. Returns
    the catalogue path and counts of what changed.
    """
    nb = nbformat.read(english, as_version=4)
    path = catalog_path(english)
    old = _by_context(read_catalog(path)) if path.exists() else {}
    catalog = _new_catalog(f"cs231n {english.stem}")
    counts = {"new": 0, "changed": 0, "unchanged": 0, "removed": 0}
    for cell in markdown_cells(nb):
        source = cell.source
        previous = old.pop(cell.id, None)
        comments = ["Markdown cell; keep the ### BEGIN/END SOLUTION lines as they are."]
        if previous is None:
            catalog.add(source, "", context=cell.id, auto_comments=comments)
            counts["new"] += 1
        elif previous.id == source:
            fuzzy = "fuzzy" in previous.flags
            catalog.add(
                source,
                previous.string,
                context=cell.id,
                auto_comments=comments,
                user_comments=previous.user_comments if fuzzy else (),
                flags=previous.flags,
            )
            counts["unchanged"] += 1
        else:
            # The old English goes into translator comments (Babel cannot read back a
            # multi-line ``#| msgid``), so the translator sees what changed.
            before = previous.user_comments if "fuzzy" in previous.flags else []
            was = before or [PREVIOUS_HEADER, *previous.id.splitlines()]
            catalog.add(source, previous.string, context=cell.id, auto_comments=comments,
                        flags=["fuzzy"], user_comments=was)  # fmt: skip
            counts["changed"] += 1
    for ctx, message in old.items():
        catalog.obsolete[(message.id, ctx)] = message
        counts["removed"] += 1
    write_catalog(catalog, path)
    return path, counts


# --- status ---------------------------------------------------------------------------------


@dataclass
class NotebookStatus:
    """Per-notebook translation state: cell ids by state, and English words translated."""

    notebook: str
    current: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    english_words: int = 0
    korean_words: int = 0

    @property
    def complete(self) -> bool:
        return not (self.stale or self.missing or self.problems)


def _solution_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if _SOLUTION_LINE.match(line)]


def check_translation(english: str, korean: str) -> str | None:
    """Why ``korean`` cannot replace ``english`` in a notebook, or None if it can."""
    if _solution_lines(english) != _solution_lines(korean):
        return "the ### BEGIN/END SOLUTION lines differ from the English (the release needs them)"
    if english.count("$$") != korean.count("$$") or english.count("$") != korean.count("$"):
        return "the number of $ (math) delimiters differs from the English"
    if not _HANGUL.search(korean):
        return "the translation has no Hangul"
    return None


def translation_for(cell: nbformat.NotebookNode, catalog: Catalog) -> tuple[str, str | None]:
    """``("current", korean)``, ``("stale", None)``, ``("missing", None)`` or a problem."""
    message = catalog.get(cell.source, context=cell.id)
    if message is not None and message.string and not message.fuzzy:
        problem = check_translation(cell.source, message.string)
        return ("problem: " + problem, None) if problem else ("current", message.string)
    if message is not None and message.string:
        return "stale", None
    if any(m.context == cell.id and m.string for m in catalog):
        return "stale", None
    return "missing", None


def notebook_status(english: Path) -> NotebookStatus:
    nb = nbformat.read(english, as_version=4)
    status = NotebookStatus(english.name)
    path = catalog_path(english)
    catalog = read_catalog(path) if path.exists() else _new_catalog("empty")
    for cell in markdown_cells(nb):
        state, korean = translation_for(cell, catalog)
        if state == "current":
            status.current.append(cell.id)
            status.english_words += len(cell.source.split())
            status.korean_words += len(korean.split())
        elif state == "stale":
            status.stale.append(cell.id)
        elif state == "missing":
            status.missing.append(cell.id)
        else:
            status.problems.append(f"{cell.id}: {state}")
    return status
