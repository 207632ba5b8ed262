"""The library's Korean catalogue (``cs231n_lib/locale/ko/LC_MESSAGES/cs231n.po``): extract the
``_()`` messages with Babel, merge, compile the shipped ``.mo``, report its state."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo

from cs231n_course.translation_catalogs import (
    _FIXED_DATE,
    BABEL_CFG,
    LIB_PO,
    REPO_ROOT,
    _new_catalog,
    read_catalog,
    write_catalog,
)
from cs231n_lib.atomic import write_atomic


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
