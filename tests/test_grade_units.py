"""Fast tests of the grader's parts that need no kernel: unpacking, regions, feedback text."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from cs231n_course import markers
from cs231n_course.grader.scoring import describe_mismatch
from cs231n_course.grader.unpack import (
    Submission,
    SubmissionError,
    UnpackLimits,
    content_hash,
    student_id,
    unpack,
)
from cs231n_course.grader.workspace import (
    NBVAL_MARKER_REMOVED,
    SHOWN_ONLY,
    lift_regions,
    region_problem,
    splice_checked,
)

BEGIN = "# >>> BEGIN STUDENT REGION {} (do not edit this line)"
END = "# <<< END STUDENT REGION {} (do not edit this line)"


def _tree(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# -- unpacking -----------------------------------------------------------------------------------
def test_student_id_from_name(tmp_path):
    assert student_id(tmp_path / "alice.zip") == "alice"
    assert student_id(tmp_path / "Bob Smith") == "Bob_Smith"
    assert student_id(tmp_path / "../..") == "submission"


def test_folder_takes_only_gradable_files_and_ignores_venv(tmp_path):
    sub = _tree(
        tmp_path / "alice",
        {"cs231n_lib/layers.py": "x = 1\n", "notebooks/01_knn.ipynb": "{}", "README.md": "hi"},
    )
    (sub / ".venv").mkdir()
    os.symlink("/usr/bin/python3", sub / ".venv" / "python")  # harmless: never read
    out = unpack(Submission(sub, "alice"), tmp_path / "staging")
    assert sorted(out.files) == ["cs231n_lib/layers.py", "notebooks/01_knn.ipynb"]


def test_folder_symlink_into_the_library_is_refused(tmp_path):
    sub = _tree(tmp_path / "alice", {"cs231n_lib/__init__.py": ""})
    os.symlink("/etc/passwd", sub / "cs231n_lib" / "layers.py")
    with pytest.raises(SubmissionError, match="symbolic link"):
        unpack(Submission(sub, "alice"), tmp_path / "staging")


def test_zip_with_release_folder_inside(tmp_path):
    path = tmp_path / "carol.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("carol/release/cs231n_lib/layers.py", "x = 1\n")
        zf.writestr("carol/release/notebooks/01_knn.ipynb", "{}")
    out = unpack(Submission(path, "carol"), tmp_path / "staging")
    assert sorted(out.files) == ["cs231n_lib/layers.py", "notebooks/01_knn.ipynb"]


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "C:/evil.py"])
def test_zip_slip_is_refused_and_writes_nothing(tmp_path, name):
    path = tmp_path / "mallory.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("cs231n_lib/layers.py", "x = 1\n")
        zf.writestr(name, "boom")
    with pytest.raises(SubmissionError, match="outside the submission folder"):
        unpack(Submission(path, "mallory"), tmp_path / "a" / "staging")
    assert not any(p.name == "evil.py" for p in tmp_path.rglob("*"))


def test_zip_symlink_entry_is_refused(tmp_path):
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("cs231n_lib/layers.py")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/work/main/cs231n_lib/layers.py")
    with pytest.raises(SubmissionError, match="symbolic link"):
        unpack(Submission(path, "m"), tmp_path / "staging")


def test_zip_bomb_and_entry_count_limits(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notebooks/01_knn.ipynb", b"0" * (8 << 20))
    limits = UnpackLimits(max_file_bytes=1 << 20)
    with pytest.raises(SubmissionError, match="bytes allowed per file"):
        unpack(Submission(path, "bomb"), tmp_path / "s1", limits)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(30):
            zf.writestr(f"junk/{i}", "")
    with pytest.raises(SubmissionError, match="entries"):
        unpack(Submission(many, "many"), tmp_path / "s2", UnpackLimits(max_files=20))


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        unpack(Submission(path, "x"), tmp_path / "staging")


def test_content_hash_ignores_files_outside_the_gradable_ones(tmp_path):
    sub = _tree(tmp_path / "a", {"cs231n_lib/layers.py": "x = 1\n"})
    before = content_hash(sub)
    (sub / "notes.txt").write_text("scratch")
    assert content_hash(sub) == before
    (sub / "cs231n_lib" / "layers.py").write_text("x = 2\n")
    assert content_hash(sub) != before


# -- regions -------------------------------------------------------------------------------------
def _region(body, indent="        "):
    return markers.StudentRegion("f", body.splitlines(), indent)


@pytest.mark.parametrize(
    "body",
    [
        "return 1",
        "for k in range(3):\n    total += k\ncontinue",
        "x = '''multi\nline'''",
    ],
)
def test_region_that_stands_alone_is_accepted(body):
    lines = [("        " + line) if line else line for line in body.splitlines()]
    assert region_problem(_region("\n".join(lines)), "        ", notebook=False) is None


@pytest.mark.parametrize(
    "body",
    [
        "        x = 1\ndef escape():\n    pass",  # dedented to module level
        "        if True:",  # open block: would swallow the code after the region
        "        x = (",  # open bracket
        '        s = """',  # open string
        "        x = 1\n    y = 2",  # less indented than the region
    ],
)
def test_region_reaching_outside_is_refused(body):
    assert region_problem(_region(body), "        ", notebook=False)


def test_splice_reverts_only_the_bad_region():
    lines = [
        "class A:",
        "    def f(self):",
        "        " + BEGIN.format("A.f"),
        "        raise NotImplementedError",
        "        " + END.format("A.f"),
        "    def g(self):",
        "        " + BEGIN.format("A.g"),
        "        raise NotImplementedError",
        "        " + END.format("A.g"),
        "        return 2",
    ]
    good = markers.StudentRegion("A.f", ["        return 1"], "        ")
    bad = markers.StudentRegion("A.g", ["        if True:"], "        ")
    out, used, refused = splice_checked(lines, "a.py", {"A.f": good, "A.g": bad}, notebook=False)
    assert used == ["A.f"]
    assert "        return 1" in out and "        raise NotImplementedError" in out
    assert list(refused) == ["A.g"] and "graded as not written" in refused["A.g"]


def test_nbval_markers_are_removed_from_notebook_regions():
    cell = [BEGIN.format("cv"), "pass", END.format("cv")]
    region = markers.StudentRegion("cv", ["# NBVAL_SKIP", "#NBVAL_IGNORE_OUTPUT", "x = 1"], "")
    out, used, _ = splice_checked(cell, "nb", {"cv": region}, notebook=True)
    assert used == ["cv"]
    assert out[1:3] == [NBVAL_MARKER_REMOVED] * 2 and "NBVAL_SKIP" not in "\n".join(out)


def test_malformed_notebook_costs_only_its_own_regions(tmp_path):
    lib = "\n".join(
        ["def f():", "    " + BEGIN.format("f"), "    return 1", "    " + END.format("f")]
    )
    root = _tree(tmp_path, {"cs231n_lib/a.py": lib + "\n", "notebooks/01_knn.ipynb": '{"cells": ['})
    regions = lift_regions(
        root,
        ["cs231n_lib/a.py", "notebooks/01_knn.ipynb"],
        {"cs231n_lib/a.py": ["f"]},
        ["01_knn.ipynb"],
    )
    assert list(regions.py["cs231n_lib/a.py"]) == ["f"]
    assert "01_knn.ipynb" not in regions.nb
    assert any("not valid notebook JSON" in n for n in regions.notes)


def test_notebook_regions_ignore_metadata_and_markdown(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "markdown",
                "source": "<!-- >>> BEGIN STUDENT REGION q (do not edit "
                "this line) -->\nanswer\n<!-- <<< END STUDENT "
                "REGION q (do not edit this line) -->",
            },
            {
                "cell_type": "code",
                "metadata": {"tags": ["nbval-skip"]},
                "source": [BEGIN.format("cv") + "\n", "x = 1\n", END.format("cv")],
            },
        ]
    }
    _tree(tmp_path, {"notebooks/01_knn.ipynb": json.dumps(nb)})
    regions = lift_regions(tmp_path, ["notebooks/01_knn.ipynb"], {}, ["01_knn.ipynb"])
    assert list(regions.nb["01_knn.ipynb"]) == ["cv"]


# -- feedback ------------------------------------------------------------------------------------
def _stdout(text):
    return [{"output_type": "stream", "name": "stdout", "text": text}]


def test_mismatch_names_results_but_never_reveals_the_reference():
    ref = _stdout("ex: results\n  dists: f[5, 9] 1111111111111111\n  ok: holds\n")
    got = _stdout("ex: results\n  dists: f[5, 9] 2222222222222222\n  ok: fails\n")
    text = describe_mismatch(ref, got)
    assert "dists" in text and "ok" in text and "1111" not in text


def test_mismatch_when_the_check_was_replaced():
    ref = _stdout("ex: results\n  dists: f[5, 9] 1111111111111111\n")
    text = describe_mismatch(ref, _stdout("ex: OK (all checks pass)\n"))
    assert "did not print its results" in text and "1111" not in text


# -- cells grading skips -------------------------------------------------------------------------
def _names(source: str, ctx) -> set[str]:
    import ast

    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
    tree = ast.parse(code)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}
    if ctx is ast.Store:
        names |= {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        }
        names |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                  if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}  # fmt: skip
    return names


@pytest.mark.parametrize("name", sorted(SHOWN_ONLY))
def test_cells_grading_skips_only_show_something(repo, name):
    """A cell in SHOWN_ONLY is skipped when grading, so it must change nothing a grade reads:
    it exists, is not graded, holds no student region, its output is not compared
    (nbval-ignore-output), and no later cell reads a name it binds."""
    import ast

    from cs231n_course.grader.workspace import code_cells
    from cs231n_course.release import read_notebook

    cells = code_cells(read_notebook(repo / "notebooks" / name))
    ids = [c.get("id") for c in cells]
    assert SHOWN_ONLY[name] <= set(ids), SHOWN_ONLY[name] - set(ids)
    for num, cell in enumerate(cells):
        if cell.get("id") not in SHOWN_ONLY[name]:
            continue
        assert not cell.metadata.get("nbgrader"), cell.id
        assert not markers.has_student_region(cell.source.splitlines()), cell.id
        assert "BEGIN SOLUTION" not in cell.source, cell.id
        assert "nbval-ignore-output" in cell.metadata.get("tags", []), cell.id
        bound = _names(cell.source, ast.Store)
        read_later = set().union(*(_names(c.source, ast.Load) for c in cells[num + 1 :]))
        assert not bound & read_later, (cell.id, bound & read_later)


def test_the_name_check_sees_what_a_cell_binds():
    """The check above would catch a skipped cell whose results a later cell uses."""
    import ast

    bound = _names("import time\nfrom x import y as z\ndef f(): pass\na, b = 1, 2", ast.Store)
    assert bound == {"time", "z", "f", "a", "b"}
    assert _names("print(a + f())", ast.Load) == {"print", "a", "f"}
