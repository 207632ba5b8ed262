"""Fast regressions of the hostile-corpus classes (issue 17), without kernels.

The end-to-end cases (each graded in real kernels) are in ``tests/hostile`` and
``tests/test_grade.py``; these pin the mechanisms: per-submission state, per-submission
problems, bounded compilation, readable marker failures, escaped feedback, the seed, and the
tuning re-evaluation outside the kernel.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from hostile.edit import make_chain, remove_chain

from cs231n_course import markers
from cs231n_course.grader import tuning
from cs231n_course.grader.batch import pending, read_submissions
from cs231n_course.grader.reports import escape, feedback_markdown
from cs231n_course.grader.scoring import _verdict
from cs231n_course.grader.submission import _collect_exports, scrubbed, submission_seed
from cs231n_course.grader.types import ExerciseResult, GradedCell, SubmissionResult
from cs231n_course.grader.unpack import (
    MAX_DEPTH,
    Submission,
    SubmissionError,
    UnpackLimits,
    content_hash,
    shown_name,
    unpack,
)
from cs231n_course.grader.workspace import (
    REAL_CHECK,
    assemble_notebook,
    lift_regions,
    normalized,
    region_problem,
    splice_checked,
)

BEGIN = "# >>> BEGIN STUDENT REGION {} (do not edit this line)"
END = "# <<< END STUDENT REGION {} (do not edit this line)"
LIMITS = UnpackLimits()


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in files.items():
            zf.writestr(rel, text)
    return path


# -- one submission's problems stay its own -------------------------------------------------------
def test_names_that_sanitise_alike_stay_distinct_students(tmp_path):
    a = _zip(tmp_path / "Zoë.zip", {"cs231n_lib/a.py": "x = 1\n"})
    b = _zip(tmp_path / "Zoé.zip", {"cs231n_lib/a.py": "x = 2\n"})
    subs = read_submissions([a, b], LIMITS)
    assert len({s.student for s in subs}) == 2
    assert all(s.student.startswith("Zo_-") and s.problem is None for s in subs)


def test_one_student_twice_refuses_both_and_the_rest_goes_on(tmp_path):
    z = _zip(tmp_path / "alice.zip", {"cs231n_lib/a.py": "x = 1\n"})
    d = _tree(tmp_path / "alice", {"cs231n_lib/a.py": "x = 1\n"})
    bob = _tree(tmp_path / "bob", {"cs231n_lib/a.py": "x = 1\n"})
    subs = read_submissions([z, d, bob, tmp_path / "missing.zip"], LIMITS)
    alices = [s for s in subs if s.path.name.startswith("alice")]
    assert len({s.student for s in alices}) == 2
    assert all("2 submissions for student 'alice'" in s.problem for s in alices)
    assert subs[2].student == "bob" and subs[2].problem is None
    assert "no such file" in subs[3].problem


def test_non_utf8_names_neither_stop_nor_garble(tmp_path):
    root = os.fsencode(tmp_path) + b"/caf\xe9"
    os.makedirs(root + b"/cs231n_lib")
    for rel in (b"/cs231n_lib/ok.py", b"/cs231n_lib/\xff.py"):
        with open(root + rel, "w") as f:
            f.write("x = 1\n")
    path = Path(os.fsdecode(root))
    (sub,) = read_submissions([path], LIMITS)
    assert sub.problem is None and sub.student == "caf_"
    assert shown_name(path) == "caf\\xe9"
    out = unpack(sub, tmp_path / "staging")
    assert out.files == ["cs231n_lib/ok.py"]  # a name the release never has is not read
    page = feedback_markdown(sub.student, shown_name(path), _result())
    page.encode("utf-8")  # writable as UTF-8


def test_a_1100_level_chain_refuses_only_that_submission(tmp_path):
    tree = _tree(tmp_path / "deep", {"cs231n_lib/a.py": "x = 1\n"})
    make_chain(tree / "cs231n_lib", 1_100, "d")
    try:
        content_hash(tree)  # no RecursionError
        with pytest.raises(SubmissionError, match=f"more than {MAX_DEPTH} levels"):
            unpack(Submission(tree, "deep"), tmp_path / "staging")
    finally:
        remove_chain(tree / "cs231n_lib", "d")


def test_results_are_per_student_even_for_identical_bytes(tmp_path):
    a = _zip(tmp_path / "a.zip", {"../x.py": "1"})
    b = tmp_path / "b.zip"
    b.write_bytes(a.read_bytes())
    subs = read_submissions([a, b], LIMITS)
    assert subs[0].content_hash == subs[1].content_hash
    results = tmp_path / "results"
    results.mkdir()
    batch = SimpleNamespace(result_path=lambda s: results / f"{s.student}--{s.content_hash}.json")
    assert pending(batch, subs) == subs  # nothing shared: each is graded, each page its own
    for sub in subs:
        with pytest.raises(SubmissionError) as err:
            unpack(sub, tmp_path / f"staging-{sub.student}")
        assert sub.path.name in str(err.value)


# -- regions: bounded, readable, dedented ---------------------------------------------------------
def test_a_region_python_cannot_compile_is_refused_with_the_reason():
    body = "x = " + "+".join(["1"] * 20_000)
    region = markers.StudentRegion("f", ["        " + body], "        ")
    problem = region_problem(region, "        ", notebook=False)
    assert "RecursionError" in problem


def test_region_size_and_compile_time_are_bounded():
    huge = markers.StudentRegion("f", [f"    v{i} = {i}" for i in range(3_000)], "    ")
    assert "too large" in region_problem(huge, "    ", notebook=False)
    start = time.monotonic()
    nested = markers.StudentRegion("f", ["    x = " + "(" * 150 + "1" + ")" * 150] * 40, "    ")
    region_problem(nested, "    ", notebook=False)
    assert time.monotonic() - start < 30


def test_a_region_indented_deeper_than_its_markers_is_used_as_written():
    lines = [
        "def f(x):",
        "    " + BEGIN.format("f"),
        "    raise NotImplementedError",
        "    " + END.format("f"),
    ]
    submitted = [
        "def f(x):",
        "    " + BEGIN.format("f"),
        "            y = x + 1",
        "            return y",
        "    " + END.format("f"),
    ]
    region = normalized(markers.read_student_regions(submitted, "s.py")["f"])
    out, used, refused = splice_checked(lines, "s.py", {"f": region}, notebook=False)
    assert used == ["f"] and refused == {}
    namespace = {}
    exec("\n".join(out), namespace)
    assert namespace["f"](1) == 2


def _notebook(tmp_path, cells) -> Path:
    path = tmp_path / "notebooks" / "01_knn.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}})
    )
    return path


def test_notebook_problems_are_named(tmp_path):
    cell = {"cell_type": "code", "source": f"{BEGIN.format('cv')}\nx = 1\n{END.format('cv')}"}
    _notebook(tmp_path, [cell, dict(cell)])
    found = lift_regions(tmp_path, ["notebooks/01_knn.ipynb"], {}, ["01_knn.ipynb"])
    assert "appears in two cells" in found.broken_notebooks["01_knn.ipynb"]
    (tmp_path / "notebooks" / "01_knn.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    found = lift_regions(tmp_path, ["notebooks/01_knn.ipynb"], {}, ["01_knn.ipynb"])
    assert "nested too deeply" in found.broken_notebooks["01_knn.ipynb"]
    old = {"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}], "metadata": {}}
    (tmp_path / "notebooks" / "01_knn.ipynb").write_text(json.dumps(old))
    found = lift_regions(tmp_path, ["notebooks/01_knn.ipynb"], {}, ["01_knn.ipynb"])
    assert "nbformat 3" in found.broken_notebooks["01_knn.ipynb"]


def test_damaged_markers_say_so_in_the_exercise_verdict(tmp_path):
    text = "\n".join(
        [
            "def g():",
            "    " + BEGIN.format("g"),
            "    return 1",
            "    " + END.format("g").replace("END", "\u0415ND"),
        ]
    )
    _tree(tmp_path, {"cs231n_lib/m.py": text + "\n"})
    found = lift_regions(tmp_path, ["cs231n_lib/m.py"], {"cs231n_lib/m.py": ["g"]}, [])
    assert "marker lines" in found.lost["g"]
    cell = GradedCell("01_knn.ipynb", 3, "c", "g", 2)
    stub = {
        "output_type": "error",
        "ename": "NotImplementedError",
        "evalue": "g: implement this in m",
    }
    event = {"outcome": "failed", "message": "", "outputs": [stub]}
    verdict = _verdict(cell, event, None, {"g": f"g: {found.lost['g']}"})
    assert "not used" in verdict.reason and "marker lines" in verdict.reason


def test_the_graded_check_cell_calls_the_real_check():
    nb = nbformat.v4.new_notebook()
    region = nbformat.v4.new_code_cell(f"{BEGIN.format('cv')}\npass\n{END.format('cv')}")
    graded = nbformat.v4.new_code_cell('check("cv", x=1)')
    graded.metadata["nbgrader"] = {"grade": True, "grade_id": "cv", "points": 1}
    nb.cells = [region, graded]
    fake = markers.StudentRegion("cv", ["def check(name, **kw):", "    print('OK')"], "")
    out, used, _ = assemble_notebook(nb, "01_knn.ipynb", {"cv": fake})
    assert used == ["cv"]
    assert out.cells[1].source.splitlines()[0] == REAL_CHECK
    namespace = {}
    exec(out.cells[0].source, namespace)  # the region binds check ...
    exec(REAL_CHECK, namespace)  # ... and the graded cell's first line rebinds the real one
    from cs231n_lib.checks import check

    assert namespace["check"] is check


# -- the seed and what feedback quotes ------------------------------------------------------------
def test_each_submission_gets_its_own_seed():
    seeds = {submission_seed(1234, f"{i:064x}") for i in range(200)}
    assert len(seeds) == 200
    assert submission_seed(1234, "ab") == submission_seed(1234, "ab")
    assert submission_seed(1234, "ab") != submission_seed(1235, "ab")


def _result(reason="passed", notes=()) -> SubmissionResult:
    ex = ExerciseResult("e", "01_knn.ipynb", 0, 1, False, reason)
    return SubmissionResult("0" * 64, 1, [ex], notes=list(notes))


def test_feedback_never_quotes_the_seed_nor_renders_student_markup():
    result = scrubbed(
        _result("raised ValueError: <script>x</script> [a](http://e) | seed 1398572213 |"),
        {"1398572213": "<the grading seed>"},
    )
    page = feedback_markdown("s", "s.zip", result)
    assert "1398572213" not in page
    assert "<script>" not in page and "[a](http" not in page and "&lt;script&gt;" in page
    row = next(line for line in page.splitlines() if line.startswith("| `e`"))
    assert row.count(" | ") == 3  # the student's | did not add a column
    assert escape("a_b*c") == "a\\_b\\*c"


# -- tuning: judged from the weights, outside the kernel ------------------------------------------
def _split(tmp_path, n=400, d=20, c=4, seed=0):
    rng = np.random.default_rng(seed)
    W_true = rng.normal(size=(d, c))
    X = rng.normal(size=(n, d))
    y = np.argmax(X @ W_true, axis=1)
    ref = tmp_path / "reference.npz"
    np.savez(ref, W=W_true, X_val=X, y_val=y)
    return ref, W_true


def test_tuning_weights_that_classify_pass(tmp_path):
    ref, W = _split(tmp_path)
    sub = tmp_path / "sub.npz"
    np.savez(sub, W=W)
    assert tuning.verify("svm_tuning", sub, ref, fast=True) is None


def test_tuning_lookup_model_or_forged_check_earns_nothing(tmp_path):
    ref, W = _split(tmp_path)
    # A "model" that looks the labels up has no weights to hand over; a replaced check()
    # hands over nothing at all; random weights are at chance.
    assert "did not hand" in tuning.verify("svm_tuning", tmp_path / "none.npz", ref, fast=True)
    junk = tmp_path / "junk.npz"
    np.savez(junk, W=np.random.default_rng(5).normal(size=W.shape))
    assert "reach" in tuning.verify("svm_tuning", junk, ref, fast=False)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, W=np.zeros((3, 4)))
    assert "shape" in tuning.verify("svm_tuning", wrong, ref, fast=True)


def test_two_layer_weights_are_evaluated_with_the_standard_forward(tmp_path):
    ref, W = _split(tmp_path)
    sub = tmp_path / "net.npz"
    # relu(X @ [W, -W]) @ [[I], [-I]] == X @ W: a two-layer net computing the linear scores
    d, c = W.shape
    np.savez(
        sub,
        W1=np.hstack([W, -W]),
        b1=np.zeros(2 * c),
        W2=np.vstack([np.eye(c), -np.eye(c)]),
        b2=np.zeros(c),
    )
    assert tuning.verify("two_layer_net_tuning", sub, ref, fast=False) is None


def test_an_export_link_is_never_followed(tmp_path):
    ref, W = _split(tmp_path)
    export, dest = tmp_path / "export", tmp_path / "kept"
    export.mkdir()
    os.symlink(ref, export / "svm_tuning.npz")  # "my" weights are the reference's file
    _collect_exports(export, dest, ["svm_tuning"])
    assert not (dest / "svm_tuning.npz").exists()


# -- graded properties are decided by the seed, never by chance ----------------------------------
def test_every_library_check_prints_the_same_lines_twice_under_each_seed():
    from cs231n_lib.checks import exercises, run

    for name, ex in sorted(exercises().items()):
        if ex.needs_values:
            continue
        for seed in (1, 987_654_321):
            first, second = (run(name, mode="grading", seed=seed).lines for _ in range(2))
            assert first == second, f"{name} under seed {seed}: {first} then {second}"


@pytest.mark.parametrize("name", ["three_layer_convnet", "two_layer_net"])
def test_the_solution_holds_every_init_property_under_many_seeds(name):
    from cs231n_lib.checks import run

    for seed in range(0, 2_000_000_000, 40_000_000):  # 50 grading seeds
        lines = run(name, mode="grading", seed=seed).lines
        assert not [line for line in lines if line.endswith(": fails")], (seed, lines)


# -- verdicts that say what happened ------------------------------------------------------------
def _failed(outputs=(), message=""):
    return {"outcome": "failed", "message": message, "outputs": list(outputs)}


def test_misleading_failures_are_named():
    cell = GradedCell("01_knn.ipynb", 3, "c", "e", 2)
    text = "no golden value 'x' for exercise 'e'; the instructor must run: python -m ... goldens"
    walked = {"output_type": "error", "ename": "RuntimeError", "evalue": text}
    assert "call stack" in _verdict(cell, _failed([walked]), None, {}).reason
    assert "message format" in _verdict(cell, _failed(message="'msg_id'"), None, {}).reason


def test_stderr_is_quoted_in_a_mismatch():
    from cs231n_course.grader.scoring import describe_mismatch

    reference = [{"output_type": "stream", "name": "stdout", "text": "e: results\n  a: f[2] 1\n"}]
    got = [
        {"output_type": "stream", "name": "stdout", "text": "e: results\n  a: f[2] 2\n"},
        {"output_type": "stream", "name": "stderr", "text": "OSError: [Errno 11] fork failed\n"},
    ]
    assert "OSError: [Errno 11] fork failed" in describe_mismatch(reference, got)


def test_an_end_marker_with_no_begin_line_says_so():
    lines = [
        "def g():",
        "    " + BEGIN.format("g"),
        '    s = """',
        "    " + END.format("g"),  # an end line pasted into a string closes the region here
        '    """',
        "    " + END.format("g"),
    ]
    with pytest.raises(markers.MarkerError, match="no begin line open before it"):
        markers.read_student_regions(lines, "m.py")


def test_a_cells_output_is_cut_at_the_budget_and_counted():
    from cs231n_course.grader.plugin import _OutputBudget

    budget = _OutputBudget(limit=10)
    first = {"msg_type": "stream", "content": {"name": "stdout", "text": "x" * 8}}
    second = {"msg_type": "stream", "content": {"name": "stdout", "text": "y" * 1000}}
    image = {"msg_type": "display_data", "content": {"data": {"image/png": "z" * 50,
             "application/json": {"k": 1}}, "metadata": {}}}  # fmt: skip
    for msg in (first, second, image):
        budget.take(msg)
    assert first["content"]["text"] == "x" * 8 and second["content"]["text"] == "yy"
    assert image["content"]["data"] == {"image/png": ""}  # over: cut, structured data dropped
    assert budget.exceeded and budget.received == 8 + 1000 + 50 + len('{"k": 1}')
    budget.reset()
    assert not budget.exceeded
    error = {"msg_type": "error", "content": {"ename": "E", "evalue": "e" * 20, "traceback": []}}
    budget.take(error)
    assert error["content"]["evalue"] == "e" * 10 and budget.exceeded


def test_the_readme_states_the_output_limit_the_plugin_applies(repo):
    from cs231n_course.grader.plugin import MAX_CELL_OUTPUT

    text = " ".join((repo / "README.md").read_text().split())
    assert f"a cell may print {MAX_CELL_OUTPUT / 1e6:g} MB under the grader" in text
