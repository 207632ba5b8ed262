"""Tuning exercises cannot be faked: the grader re-evaluates the submitted weights itself.

Graded end to end in real kernels, in one batch over the three tuning notebooks (02_svm,
03_softmax, 04_two_layer_net): the reference earns every point. Two forgeries are tried in
every tuning cell:

- ``lookup_model``: the best "model" looks the validation labels up (``predict`` for the
  linear classifiers, ``loss`` for the net), with a results table to match, so every in-kernel
  property holds; its weights are zeros;
- ``forged_check``: the region replaces ``cs231n_lib.checks.check`` with one printing exactly
  the lines the real check prints for the reference, so nbval's comparison passes.

Both lose exactly the tuning points, because the weights the grader evaluates outside the kernel
do not classify (the lookup model) or were never handed over (the forged check).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hostile.edit import copy_tree, set_cell_region
from test_gradescope import python  # noqa: F401 - fixture: a python the sandbox uid may run

from cs231n_course import sandbox
from cs231n_course.grader import GradeOptions, Limits, grade
from cs231n_course.release import build_release
from cs231n_course.solutions import fill_regions, solution_regions
from cs231n_lib.checks.layers import TWO_LAYER_GOAL
from cs231n_lib.checks.linear import MIN_VAL_ACCURACY

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.slow,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(
        sandbox.probe().get("mount+pid namespaces") != "ok", reason="grading needs namespaces"
    ),
]

LINEAR_LOOKUP = """
class LookupModel:  # "predicts" by looking the validation labels up
    def __init__(self, X, y):
        self.table = {{row.tobytes(): label for row, label in zip(X, y)}}
        self.W = np.zeros((X.shape[1], 10))

    def predict(self, X):
        return np.array([self.table.get(row.tobytes(), 0) for row in X])


{best} = LookupModel(X_val, y_val)
results = {{(lr, reg): (0.9, 1.0) for lr in (1e-7, 2e-7) for reg in (1e3, 1e4)}}
best_val = 1.0
"""
NET_LOOKUP = """
class LookupNet:  # "scores" by looking the validation labels up
    def __init__(self, X, y):
        self.table = {row.tobytes(): label for row, label in zip(X, y)}
        D = int(np.prod(X.shape[1:]))
        self.params = {"W1": np.zeros((D, 10)), "b1": np.zeros(10),
                       "W2": np.zeros((10, 10)), "b2": np.zeros(10)}

    def loss(self, X, y=None):
        return np.eye(10)[[self.table.get(row.tobytes(), 0) for row in X]]


best_net = LookupNet(data["X_val"], data["y_val"])
results = {(50, 1e-3, 0.0): 1.0}
"""
FORGED_CHECK = """
import cs231n_lib.checks

def _forged(name, **values):
    print(f"{{name}}: results")
    for key in {keys!r}:
        print(f"  {{key}}: holds")

cs231n_lib.checks.check = _forged  # what `from cs231n_lib.checks import check` then finds
"""


def _linear_keys(kind: str) -> list[str]:
    """The lines the real linear tuning check prints for the reference (fast mode)."""
    goal = MIN_VAL_ACCURACY[kind]["fast"]
    return [
        "results format",
        "enough combinations",
        "accuracies are fractions",
        "best model kept",
        "best model matches results",
        f"validation accuracy >= {goal:.2f}",
    ]


# notebook -> (tuning exercise, lookup-model region body, the reference check's printed keys)
TUNING = {
    "02_svm": ("svm_tuning", LINEAR_LOOKUP.format(best="best_svm"), _linear_keys("svm")),
    "03_softmax": (
        "softmax_tuning",
        LINEAR_LOOKUP.format(best="best_softmax"),
        _linear_keys("softmax"),
    ),
    "04_two_layer_net": (
        "two_layer_net_tuning",
        NET_LOOKUP,
        [f"validation accuracy >= {TWO_LAYER_GOAL['fast']:.0%}"],
    ),
}


def _points(release: Path) -> dict[str, float]:
    """Every graded exercise of the tuning notebooks with its points, from nbgrader metadata."""
    points = {}
    for name in TUNING:
        nb = json.loads((release / "notebooks" / f"{name}.ipynb").read_text())
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and cell["cell_type"] == "code":
                points[meta["grade_id"]] = float(meta["points"])
    return points


@pytest.fixture(scope="module")
def tuning_batch(tmp_path_factory, repo):
    root = tmp_path_factory.mktemp("tuning")
    build_release(repo, root / "release")
    perfect = root / "perfect-base"
    build_release(repo, perfect)
    fill_regions(perfect, solution_regions(repo))
    subs = root / "subs"
    for sub in ("perfect", "lookup_model", "forged_check"):
        copy_tree(perfect, subs / sub)
    for name, (exercise, lookup, keys) in TUNING.items():
        nb = f"notebooks/{name}.ipynb"
        set_cell_region(subs / "lookup_model", exercise, lookup, nb)
        set_cell_region(subs / "forged_check", exercise, FORGED_CHECK.format(keys=keys), nb)
    out = root / "out"
    report = grade(
        sorted(subs.iterdir()),
        GradeOptions(
            out=out,
            seed=424242,
            notebooks=list(TUNING),
            limits=Limits(cell_timeout=120, notebook_timeout=600, cpu_seconds=600),
            workers=2,
            progress=False,
            uid_base=62100,
        ),
    )
    with open(out / "gradebook.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return report, rows, out, _points(root / "release")


def test_the_reference_earns_every_tuning_point(tuning_batch):
    report, rows, _, points = tuning_batch
    assert report.failed == []
    assert {e: float(rows["perfect"][e]) for e in points} == points
    assert float(rows["perfect"]["total"]) == sum(points.values())


@pytest.mark.parametrize("name", list(TUNING))
@pytest.mark.parametrize(
    ("student", "why"), [("lookup_model", "reach"), ("forged_check", "did not hand")]
)
def test_a_faked_tuning_region_earns_nothing_there(tuning_batch, name, student, why):
    _, rows, out, points = tuning_batch
    exercise = TUNING[name][0]
    tuning = {t[0] for t in TUNING.values()}
    got = {e: float(rows[student][e]) for e in points}
    # exactly the tuning exercises lose their points; everything else is the reference's
    assert got == {e: (0.0 if e in tuning else p) for e, p in points.items()}
    page = (out / "feedback" / f"{student}.md").read_text()
    line = next(ln for ln in page.splitlines() if f"`{exercise}`" in ln)
    assert why in line, line


@pytest.fixture(scope="module")
def uid_only_batch(request, repo):
    """02_svm graded with the uid-only sandbox (a hosted autograder's), where the kernel's
    export folder is a scratch folder copied back after the run (sandbox/uidonly.py). Run by
    the ``grade`` command on an interpreter the sandbox uid may run, as on Gradescope."""
    if os.geteuid() != 0:
        pytest.skip("the uid-only sandbox needs root (it switches the kernel to another uid)")
    interpreter = request.getfixturevalue("python")
    root = Path(tempfile.mkdtemp(prefix="cs231n-uid-only-", dir="/tmp"))
    os.chmod(root, 0o711)
    perfect = root / "perfect-base"
    build_release(repo, perfect)
    fill_regions(perfect, solution_regions(repo))
    exercise, lookup, _ = TUNING["02_svm"]
    subs = root / "subs"
    for sub in ("perfect", "lookup_model"):
        copy_tree(perfect, subs / sub)
    set_cell_region(subs / "lookup_model", exercise, lookup, "notebooks/02_svm.ipynb")
    out = root / "out"
    cmd = [interpreter, "-m", "cs231n_course", "grade", *map(str, sorted(subs.iterdir())),
           "--out", str(out), "--seed", "424242", "--notebooks", "02_svm",
           "--isolation", "uid-only", "--workers", "2", "--cell-timeout", "120",
           "--notebook-timeout", "600", "--cpu", "600", "--no-progress"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    try:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        with open(out / "gradebook.csv") as f:
            rows = {r["student"]: r for r in csv.DictReader(f)}
        pages = {p.stem: p.read_text() for p in (out / "feedback").glob("*.md")}
        yield rows, (out / "summary.md").read_text(), pages, _points(perfect)[exercise]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_uid_only_sandbox_hands_the_tuning_export_back(uid_only_batch):
    rows, summary, pages, points = uid_only_batch
    assert "uid-only" in summary
    # The reference's weights reached the grader (copied back out of the kernel's scratch
    # folder): full tuning points. Without the copy-back it would read "did not hand".
    assert float(rows["perfect"]["svm_tuning"]) == points > 0
    # The lookup model's zero weights were copied back too, and evaluated: at chance.
    assert float(rows["lookup_model"]["svm_tuning"]) == 0
    line = next(ln for ln in pages["lookup_model"].splitlines() if "`svm_tuning`" in ln)
    assert "reach" in line, line


def test_the_readme_states_the_tuning_points_the_notebooks_declare(repo):
    points = _points(repo)
    stated = [f"{points[t[0]]:g}" for t in TUNING.values()]
    text = " ".join((repo / "README.md").read_text().split())
    assert f"tuning points ({stated[0]}, {stated[1]} and {stated[2]})" in text
