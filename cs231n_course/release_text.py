"""Student versions of the release's packaging text: what a student's install needs, and no
name of a file the release leaves out.

The instructor's ``pyproject.toml`` configures pytest (``tests/sanitize.cfg``, xdist) and ruff
and installs the instructor's console script; none of that exists in a student tree, so the
release keeps only the packaging tables.
"""

from __future__ import annotations

import re

INSTRUCTOR_SCRIPT_LINE = 'cs231n-course = "cs231n_course.__main__:main"'
# The package list names the instructor package, which a student tree does not hold.
INCLUDE_LINE = ('include = ["cs231n_lib*", "cs231n_course*"]', 'include = ["cs231n_lib*"]')
# Tables a student tree has no use for (they name tests/, benchmarks and instructor tools).
INSTRUCTOR_TABLES = re.compile(r"^\[tool\.(pytest|ruff)(\.|\])")


def student_pyproject(text: str) -> str:
    """``pyproject.toml`` without the instructor package, its script line and tool tables."""
    out: list[str] = []
    dropping = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            dropping = bool(INSTRUCTOR_TABLES.match(stripped))
        if dropping or stripped == INSTRUCTOR_SCRIPT_LINE:
            continue
        out.append(INCLUDE_LINE[1] + "\n" if stripped == INCLUDE_LINE[0] else line)
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).rstrip("\n") + "\n"
