"""Helpers that turn a release tree into a (hostile) submission: edit regions, cells, zip."""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

KNN = "cs231n_lib/classifiers/knn.py"
NOTEBOOK = "notebooks/01_knn.ipynb"


def copy_tree(base: Path, dest: Path) -> Path:
    """What a student hands in: the library and the notebooks of their release folder."""
    dest.mkdir(parents=True)
    for part in ("cs231n_lib", "notebooks"):
        shutil.copytree(base / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _replace_body(lines: list[str], name: str, body: str) -> list[str]:
    begin = re.compile(rf"^(\s*)(# |<!-- )>>> BEGIN STUDENT REGION {re.escape(name)} ")
    end = re.compile(rf"^\s*(# |<!-- )<<< END STUDENT REGION {re.escape(name)} ")
    for i, line in enumerate(lines):
        match = begin.match(line)
        if match:
            j = next(k for k in range(i + 1, len(lines)) if end.match(lines[k]))
            new = textwrap.indent(textwrap.dedent(body).strip("\n"), match[1]).splitlines()
            return lines[: i + 1] + new + lines[j:]
    raise KeyError(f"no student region {name}")


def set_region(tree: Path, rel: str, name: str, body: str) -> None:
    """Replace the body of student region ``name`` in the .py file ``rel``."""
    path = tree / rel
    lines = _replace_body(path.read_text().splitlines(), name, body)
    path.write_text("\n".join(lines) + "\n")


def edit_notebook(tree: Path, fn: Callable[[dict], None], rel: str = NOTEBOOK) -> None:
    """Edit the notebook's raw JSON in place with ``fn(nb)``."""
    path = tree / rel
    nb = json.loads(path.read_text())
    fn(nb)
    path.write_text(json.dumps(nb, indent=1))


def source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def set_cell_region(tree: Path, name: str, body: str, rel: str = NOTEBOOK) -> None:
    """Replace the body of the student region ``name`` in the notebook's code cells."""

    def fn(nb):
        for cell in nb["cells"]:
            if f"STUDENT REGION {name} " in source(cell):
                cell["source"] = "\n".join(_replace_body(source(cell).splitlines(), name, body))
                return
        raise KeyError(name)

    edit_notebook(tree, fn, rel)


def zip_tree(tree: Path, dest: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(tree.parent).as_posix())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return dest


def make_chain(top: Path, depth: int, name: str = "a") -> None:
    """Folders ``top/a/a/...`` ``depth`` levels deep (made through directory descriptors, so
    no path grows beyond PATH_MAX)."""
    fd = os.open(top, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            new = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
    finally:
        os.close(fd)


def remove_chain(top: Path, name: str = "a") -> None:
    """Remove what :func:`make_chain` made, bottom up without recursion (``shutil.rmtree``
    of Python 3.11 recurses, and pytest's temporary-folder cleanup would crash on it)."""
    if not os.path.isdir(top / name):
        return
    fds = [os.open(top, os.O_RDONLY)]
    while True:
        try:
            fds.append(os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fds[-1]))
        except OSError:
            break
    for i in range(len(fds) - 1, 0, -1):
        os.close(fds[i])
        os.rmdir(name, dir_fd=fds[i - 1])
    os.close(fds[0])


def answer_in_korean(nb: dict) -> None:
    """The first inline-question answer written in Korean: the feedback's language (use with
    :func:`edit_notebook`)."""
    for cell in nb["cells"]:
        lines = source(cell).splitlines()
        marks = [i for i, x in enumerate(lines) if x.lstrip().startswith(("<!-- >>>", "<!-- <<<"))]
        if cell["cell_type"] == "markdown" and len(marks) == 2:
            begin, end = marks
            lines[begin + 1 : end] = ["밝기 차이가 L2 거리를 좌우하기 때문입니다."]
            cell["source"] = "\n".join(lines)
            return
    raise KeyError("no answer region")
