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

The work is split by concern: :mod:`cs231n_course.translation_catalogs` (paths, PO files, merging,
status), :mod:`cs231n_course.translation_build` (Korean notebooks and release) and
:mod:`cs231n_course.translation_library` (the library's messages). This module is the command
line and the one import the rest of the course uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cs231n_course.translation_build import ANSWER_STUB_KO, build_korean_release, build_notebook
from cs231n_course.translation_catalogs import (
    _HANGUL,
    BABEL_CFG,
    GLOSSARY_ID,
    LANG,
    LIB_DOMAIN,
    LIB_PO,
    NOTEBOOKS,
    PREVIOUS_HEADER,
    REPO_ROOT,
    STALE_NOTE,
    NotebookStatus,
    catalog_path,
    check_translation,
    english_notebooks,
    glossary_path,
    ko_dir,
    korean_path,
    markdown_cells,
    notebook_status,
    read_catalog,
    translated_notebooks,
    translation_for,
    update_catalog,
    write_catalog,
)
from cs231n_course.translation_library import (
    compiled_mo,
    extract_library,
    library_status,
    update_library,
)

__all__ = [
    "ANSWER_STUB_KO", "BABEL_CFG", "GLOSSARY_ID", "LANG", "LIB_DOMAIN", "LIB_PO", "NOTEBOOKS",
    "PREVIOUS_HEADER", "REPO_ROOT", "STALE_NOTE", "_HANGUL", "NotebookStatus",
    "add_translate_parser", "build_korean_release", "build_notebook", "catalog_path",
    "check_translation", "compiled_mo", "english_notebooks", "extract_library", "glossary_path",
    "ko_dir", "korean_path", "library_status", "markdown_cells", "notebook_status",
    "read_catalog", "translated_notebooks", "translation_for", "update_catalog",
    "update_library", "write_catalog",
]  # fmt: skip


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
