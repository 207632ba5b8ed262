"""The student release: stubs in place of every solution, nothing leaked, a true round trip."""

from __future__ import annotations

import ast
import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cs231n_course import markers
from cs231n_course.release import build_release, read_notebook, released_files
from cs231n_course.solutions import solution_regions

REPO = Path(__file__).resolve().parents[1]


def _text_files(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".toml", ".txt", ".cfg"):
            yield path


def test_release_is_byte_identical_when_rebuilt(release, tmp_path):
    again = tmp_path / "again"
    build_release(REPO, again)
    cmp = filecmp.dircmp(release, again)
    files = [p.relative_to(release) for p in release.rglob("*") if p.is_file()]
    assert files
    for rel in files:
        assert (release / rel).read_bytes() == (again / rel).read_bytes(), rel
    assert not cmp.left_only and not cmp.right_only


def test_no_marker_reaches_the_release(release):
    for path in _text_files(release):
        text = path.read_text(encoding="utf-8")
        assert not markers.has_any_marker(text), f"solution marker left in {path}"


def _outside_regions(text: str) -> set[str]:
    """Stripped lines of ``text`` that are not inside any solution region."""
    outside, inside = set(), False
    for line in text.splitlines():
        tag = line.strip()
        if tag == markers.BEGIN_SOLUTION:
            inside = True
        elif tag == markers.END_SOLUTION:
            inside = False
        elif not inside:
            outside.add(tag)
    return outside


def test_no_solution_line_reaches_the_release(release):
    """Every line written only inside solution regions is absent from the released file."""
    checked = 0
    for key, bodies in solution_regions(REPO).items():
        rel = key.partition("::")[0]
        source = (REPO / rel).read_text(encoding="utf-8")
        released = (release / rel).read_text(encoding="utf-8")
        if rel.endswith(".ipynb"):
            source = "\n".join(c.source for c in read_notebook(REPO / rel).cells)
            released = "\n".join(c.source for c in read_notebook(release / rel).cells)
        solution_lines = {line.strip() for r in bodies.values() for line in r.body}
        secret = {s for s in solution_lines - _outside_regions(source) if len(s) > 3}
        secret = {s for s in secret if not s.startswith("#")}
        leaked = [s for s in secret if s in {line.strip() for line in released.splitlines()}]
        assert not leaked, f"{key}: solution lines in the release: {leaked[:3]}"
        checked += len(secret)
    assert checked > 20, "expected to check many solution lines"


def test_instructor_only_files_are_left_out(release):
    rels = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    assert not any(r.startswith(("tests/", "benchmarks/", "cs231n_course/")) for r in rels)
    assert "CONTRIBUTING.md" not in rels
    assert "cs231n-course" not in (release / "pyproject.toml").read_text()
    assert "cs231n_course" not in (release / "pyproject.toml").read_text()
    assert "datasets/cifar10-jpeg75.tar.gz" in rels
    assert set(rels) == set(released_files(REPO))


def test_every_library_module_is_released(release):
    """A module missing from the release would be imported from the instructor's editable
    install instead, solutions included; so every non-instructor module must be there."""
    library = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "cs231n_lib").rglob("*.py")
        if "course" not in p.relative_to(REPO / "cs231n_lib").parts
    }
    released = {p.relative_to(release).as_posix() for p in release.rglob("*.py")}
    assert library - released == set()


def test_released_library_imports_only_from_the_release(release):
    modules = sorted(
        ".".join(p.relative_to(release).with_suffix("").parts).removesuffix(".__init__")
        for p in (release / "cs231n_lib").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = [n for n, m in sys.modules.items() if n.startswith('cs231n_lib')"
        f" and not (getattr(m, '__file__', None) or '').startswith({str(release)!r})]\n"
        "assert not bad, bad\n"
        "import cs231n_course\n"
    )
    env = dict(os.environ, PYTHONPATH=str(release))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=release.parent, capture_output=True, text=True
    )
    # Everything imports from the release; only the instructor tools (not released) are
    # reachable through the editable install, which the grader's sandbox does not have.
    assert "AssertionError" not in proc.stderr, proc.stderr
    assert len(modules) > 20


def test_every_stub_compiles_and_raises_the_actionable_message(release):
    stubs = 0
    for path in sorted((release / "cs231n_lib").rglob("*.py")):
        rel = path.relative_to(release).as_posix()
        text = path.read_text(encoding="utf-8")
        compile(text, rel, "exec")
        lines = text.splitlines()
        for name, region in markers.read_student_regions(lines, rel).items():
            (stmt,) = [line for line in region.body if line.strip()]
            node = ast.parse(stmt.strip()).body[0]
            assert isinstance(node, ast.Raise), f"{rel}:{name}: stub is not a raise"
            with pytest.raises(NotImplementedError) as err:
                exec(compile(stmt.strip(), rel, "exec"), {})
            message = str(err.value)
            assert message == markers.stub_message(name, rel)
            assert message.startswith(f"{name}: implement this in cs231n_lib/")
            assert message.endswith("(see the TODO above)")
            stubs += 1
    assert stubs >= 5


def test_notebooks_released_without_outputs_and_with_answer_placeholders(release):
    for path in sorted((release / "notebooks").glob("*.ipynb")):
        nb = read_notebook(path)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            if cell.cell_type == "markdown" and "<!-- >>> BEGIN STUDENT REGION" in cell.source:
                assert markers.MARKDOWN_ANSWER_STUB in cell.source


def test_release_refuses_to_overwrite(release):
    with pytest.raises(FileExistsError, match="--force"):
        build_release(REPO, release)


def test_release_cli(tmp_path):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "cs231n_course", "release", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "student regions" in proc.stdout and (out / "notebooks" / "01_knn.ipynb").exists()


def test_malformed_marker_stops_the_release_with_file_and_line(tmp_path):
    src = tmp_path / "src"
    (src / "cs231n_lib").mkdir(parents=True)
    (src / "cs231n_lib" / "bad.py").write_text(
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n", encoding="utf-8"
    )
    with pytest.raises(markers.MarkerError, match=r"cs231n_lib/bad.py:2: .* never closed"):
        build_release(src, tmp_path / "out")
    assert not (tmp_path / "out").exists(), "a failed release must leave nothing behind"


def test_student_readme_has_no_instructor_sections(release):
    text = (release / "README.md").read_text(encoding="utf-8")
    assert "## For students" in text and "## For instructors" not in text
    assert "instructor-only" not in text and "python -m pytest" not in text


def test_unbalanced_instructor_section_is_rejected():
    from cs231n_course.release import strip_instructor_sections

    with pytest.raises(markers.MarkerError, match=r"README.md:2: .* never closed"):
        strip_instructor_sections("a\n<!-- instructor-only -->\nb\n", "README.md")
