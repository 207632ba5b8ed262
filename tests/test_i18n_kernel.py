"""A stub reached outside a check cell, in a real Jupyter kernel: with ``CS231N_LANG=ko`` the
student sees its message in Korean (an IPython custom-exception handler that the library
installs when imported), while the exception itself, and the ``ename``/``evalue`` the kernel
reports and a notebook stores, keep the English stub text the grader recognises stubs by."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

STUB = "affine_forward: implement this in cs231n_lib/layers.py (see the TODO above)"
KOREAN = "affine_forward: 아직 구현되지 않았습니다. cs231n_lib/layers.py에 구현하세요"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# A student module with an unfilled stub, as the release writes it, and a caller: the error
# comes from two frames deep, so the traceback must still show where it was raised.
STUDENT_MODULE = f'''
import numpy as np

def affine_forward(x, w, b):
    raise NotImplementedError("{STUB}")

def two_layer(x):
    return affine_forward(x, np.ones((2, 2)), np.zeros(2))
'''


def _run(tmp_path, monkeypatch, env: dict[str, str]) -> list[dict]:
    """Run the cells in a fresh kernel; the error output of each cell (or None)."""
    (tmp_path / "student_code.py").write_text(STUDENT_MODULE)
    for name in ("CS231N_LANG", "CS231N_GRADING_SEED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cells = [
        "from cs231n_lib import config\nfrom cs231n_lib.checks import check",
        "import student_code\nstudent_code.two_layer([[1.0, 2.0]])",
        'raise NotImplementedError("a message of my own")',
        "try:\n    student_code.two_layer(0)\nexcept NotImplementedError as err:\n"
        "    caught = str(err)\nprint(caught)",
        "raise ValueError('other errors are untouched')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        nb, timeout=120, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # fmt: skip
    return nb.cells


def _error(cell) -> dict | None:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    return errors[0] if errors else None


def _shown(error: dict) -> str:
    return _ANSI.sub("", "\n".join(error["traceback"]))


def test_a_stub_outside_a_check_cell_is_shown_in_korean(tmp_path, monkeypatch):
    cells = _run(tmp_path, monkeypatch, {"CS231N_LANG": "ko"})
    assert _error(cells[0]) is None
    stub = _error(cells[1])
    # What the kernel reports (and a saved notebook stores) is the English stub, unchanged.
    assert (stub["ename"], stub["evalue"]) == ("NotImplementedError", STUB)
    shown = _shown(stub)
    assert f"NotImplementedError: {KOREAN}" in shown, shown
    assert STUB not in shown.splitlines()[-1]
    # ...with the traceback: the student's call, the caller and the raising line.
    for frame in ("student_code.two_layer([[1.0, 2.0]])", "in two_layer", "in affine_forward"):
        assert frame in shown, (frame, shown)
    # Any other NotImplementedError, or any other error, is shown as it is.
    own = _error(cells[2])
    assert own["evalue"] == "a message of my own"
    assert _shown(own).splitlines()[-1] == "NotImplementedError: a message of my own"
    assert "untouched" in _shown(_error(cells[4]))
    # Code that catches the stub gets the English exception: only the drawing is Korean.
    assert cells[3].outputs[0]["text"].strip() == STUB


@pytest.mark.parametrize(
    "env", [{"CS231N_LANG": "en"}, {"CS231N_LANG": "ko", "CS231N_GRADING_SEED": "7"}],
    ids=["english", "under-the-grader"],
)  # fmt: skip
def test_english_and_the_grader_see_the_stub_as_it_is(tmp_path, monkeypatch, env):
    cells = _run(tmp_path, monkeypatch, env)
    stub = _error(cells[1])
    assert stub["evalue"] == STUB
    shown = _shown(stub)
    assert shown.splitlines()[-1] == f"NotImplementedError: {STUB}"
    assert not re.search("[\uac00-\ud7a3]", shown)
