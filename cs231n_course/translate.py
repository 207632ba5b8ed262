"""The Korean edition, built from the English source: ``python -m cs231n_course translate``.

English stays the source of every notebook and message. Translations are gettext catalogues
(PO files, read and written with Babel):

- ``notebooks/ko/<notebook>.po`` holds one entry per markdown cell of
  ``notebooks/<notebook>.ipynb``: ``msgctxt`` is the cell id, ``msgid`` the English text, and
  ``msgstr`` the Korean text. An entry is *current* when its ``msgid`` is the cell's English
  text exactly and it is not marked fuzzy; when the English changes, ``update`` keeps the old
  Korean, marks it fuzzy and records the old English in translator comments, so the translator
  sees what changed; a fuzzy entry is *stale* and is never built into a notebook.
- ``cs231n_lib/locale/ko/LC_MESSAGES/cs231n.po`` holds the library's messages (extracted from
  ``_("...")`` calls, see ``cs231n_lib.i18n``); ``lib`` extracts, merges and compiles it to the
  ``.mo`` that the package ships.

Commands::

    translate update [NOTEBOOK...]        merge the English cells into notebooks/ko/*.po
    translate build [NOTEBOOK...] [--execute]
                                          write notebooks/ko/*.ipynb (Korean markdown, code
                                          cells, ids and metadata as in English)
    translate status [--check]            what is current, stale or missing (word counts)
    translate lib                         extract, merge and compile the library catalogue
    translate release OUT                 the student release with the Korean notebooks

``build`` keeps the stored outputs of code cells whose source did not change (translating
markdown does not change what code prints); ``--execute`` runs the Korean notebook with
``CS231N_LANG=ko`` and stores fresh outputs (needed when code or library messages changed).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from cs231n_lib import submission_rules
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


def library_status(po: Path = LIB_PO) -> dict[str, list[str]]:
    """The library catalogue's messages by state (after ``translate lib``)."""
    catalog = read_catalog(po)
    out: dict[str, list[str]] = {"current": [], "stale": [], "missing": []}
    for m in catalog:
        if not m.id:
            continue
        text = m.id if isinstance(m.id, str) else m.id[0]
        key = "stale" if m.fuzzy else ("current" if m.string else "missing")
        out[key].append(text)
    return out


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


# --- library catalogue ----------------------------------------------------------------------


def extract_library() -> Catalog:
    """The library's messages (every ``_()``/``pgettext()`` call that babel.cfg covers)."""
    with open(BABEL_CFG) as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    template = _new_catalog("cs231n_lib")
    for filename, lineno, message, comments, context in extract_from_dir(
        REPO_ROOT, method_map, options_map, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def update_library(po: Path = LIB_PO) -> dict[str, list[str]]:
    """Merge the extracted messages into the Korean catalogue and compile its ``.mo``."""
    template = extract_library()
    catalog = read_catalog(po) if po.exists() else _new_catalog("cs231n_lib")
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
    catalog.revision_date = _FIXED_DATE
    catalog.creation_date = _FIXED_DATE
    write_catalog(catalog, po)
    write_atomic(po.with_suffix(".mo"), compiled_mo(po))
    return library_status(po)


def compiled_mo(po: Path = LIB_PO) -> bytes:
    """The ``.mo`` bytes that ``po`` compiles to (fuzzy entries left out, as gettext does)."""
    buf = io.BytesIO()
    write_mo(buf, read_catalog(po), use_fuzzy=False)
    return buf.getvalue()


# --- command line ---------------------------------------------------------------------------


def _selected(names: list[str]) -> list[Path]:
    if not names:
        return translated_notebooks()
    paths = []
    for name in names:
        path = Path(name)
        if not path.exists():
            path = NOTEBOOKS / Path(name).name
        if not path.exists() or path.suffix != ".ipynb":
            raise ValueError(f"{name}: no such English notebook (give e.g. notebooks/01_knn.ipynb)")
        paths.append(path.resolve())
    return paths


def _print_status(status: NotebookStatus) -> None:
    total = len(status.current) + len(status.stale) + len(status.missing) + len(status.problems)
    print(
        f"{status.notebook}: {len(status.current)}/{total} markdown cells current "
        f"({status.english_words} English words -> {status.korean_words} Korean words)"
    )
    for label in ("stale", "missing", "problems"):
        ids = getattr(status, label)
        if ids:
            print(f"  {label}: {', '.join(ids)}")


def _cmd_update(args: argparse.Namespace) -> int:
    for nb in _selected(args.notebooks):
        path, counts = update_catalog(nb)
        print(f"{path.relative_to(REPO_ROOT)}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    for nb in _selected(args.notebooks):
        out, status, needs_run = build_notebook(nb, execute=args.execute)
        print(f"wrote {out.relative_to(REPO_ROOT)}")
        _print_status(status)
        if needs_run:
            print(f"  {needs_run} code cells have no outputs yet: run again with --execute")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    ok = True
    for nb in english_notebooks():
        if not catalog_path(nb).exists():
            print(f"{nb.name}: not translated yet (no {catalog_path(nb).relative_to(REPO_ROOT)})")
            continue
        status = notebook_status(nb)
        _print_status(status)
        ok = ok and status.complete
    lib = library_status()
    print(
        f"library messages: {len(lib['current'])} current, {len(lib['stale'])} stale, "
        f"{len(lib['missing'])} missing"
    )
    for label in ("stale", "missing"):
        for text in lib[label]:
            print(f"  {label}: {text!r}")
    ok = ok and not lib["stale"] and not lib["missing"]
    return 0 if ok or not args.check else 1


def _cmd_lib(args: argparse.Namespace) -> int:
    lib = update_library()
    print(
        f"{LIB_PO.relative_to(REPO_ROOT)}: {len(lib['current'])} current, "
        f"{len(lib['stale'])} stale (fuzzy), {len(lib['missing'])} missing; compiled "
        f"{LIB_PO.with_suffix('.mo').name}"
    )
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    written = build_korean_release(Path(args.source), Path(args.out), force=args.force)
    print(f"Korean release written to {args.out}: {', '.join(written) or 'no notebook'} in Korean")
    return 0


def add_translate_parser(sub) -> None:
    """Register ``translate`` and its subcommands on the course CLI."""
    p = sub.add_parser("translate", help="the Korean edition: catalogues and notebooks/ko/")
    tsub = p.add_subparsers(dest="translate_command", required=True)
    q = tsub.add_parser("update", help="merge English markdown cells into notebooks/ko/*.po")
    q.add_argument("notebooks", nargs="*", help="English notebooks (default: all translated)")
    q.set_defaults(func=_cmd_update)
    q = tsub.add_parser("build", help="write notebooks/ko/*.ipynb from English + catalogues")
    q.add_argument("notebooks", nargs="*", help="English notebooks (default: all translated)")
    q.add_argument(
        "--execute", action="store_true", help="run them (CS231N_LANG=ko) to store outputs"
    )
    q.set_defaults(func=_cmd_build)
    q = tsub.add_parser("status", help="current / stale / missing translations")
    q.add_argument("--check", action="store_true", help="exit 1 if anything is stale or missing")
    q.set_defaults(func=_cmd_status)
    q = tsub.add_parser("release", help="the student release with the Korean notebooks")
    q.add_argument("out", help="folder to create (must not exist unless --force)")
    q.add_argument("--source", default=str(REPO_ROOT), help="instructor source tree")
    q.add_argument("--force", action="store_true", help="replace OUT if it exists")
    q.set_defaults(func=_cmd_release)
    q = tsub.add_parser("lib", help="extract, merge and compile the library catalogue")
    q.set_defaults(func=_cmd_lib)
