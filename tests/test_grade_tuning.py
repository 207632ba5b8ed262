"""Tuning exercises cannot be faked: the grader re-evaluates the submitted weights itself.

Graded end to end on 02_svm in real kernels: the reference earns every point; a "model" whose
``predict`` looks the validation labels up (and a ``results`` table to match) passes every
in-kernel property, and a region that replaces ``cs231n_lib.checks.check`` with one printing
exactly the reference's lines passes nbval's comparison; both lose the tuning points because
the weights the grader evaluates outside the kernel do not classify.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hostile.edit import copy_tree, set_cell_region

from cs231n_course import sandbox
from cs231n_course.grader import GradeOptions, Limits, grade
from cs231n_course.release import build_release
from cs231n_course.solutions import fill_regions, solution_regions

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.slow,
    pytest.mark.skipif(
        sandbox.probe().get("mount+pid namespaces") != "ok", reason="grading needs namespaces"
    ),
]

NB = "notebooks/02_svm.ipynb"
POINTS = {
    "svm_loss_naive": 4,
    "svm_loss_vectorized": 4,
    "linear_classifier_train": 3,
    "linear_classifier_predict": 1,
    "svm_tuning": 3,
}
LOOKUP_MODEL = """
class LookupModel:  # "predicts" by looking the validation labels up
    def __init__(self, X, y):
        self.table = {row.tobytes(): label for row, label in zip(X, y)}
        self.W = np.zeros((X.shape[1], 10))

    def predict(self, X):
        return np.array([self.table.get(row.tobytes(), 0) for row in X])


best_svm = LookupModel(X_val, y_val)
results = {(lr, reg): (0.9, 1.0) for lr in (1e-7, 2e-7) for reg in (1e3, 1e4)}
best_val = 1.0
"""
# The lines the real check prints for the reference under the grader (fast mode).
FORGED_CHECK = """
import cs231n_lib.checks

def _forged(name, **values):
    print(f"{name}: results")
    for key in ("results format", "enough combinations", "accuracies are fractions",
                "best model kept", "best model matches results", "validation accuracy >= 0.22"):
        print(f"  {key}: holds")

cs231n_lib.checks.check = _forged  # what `from cs231n_lib.checks import check` then finds
"""


def test_tuning_is_judged_from_the_weights(tmp_path, repo):
    build_release(repo, tmp_path / "release")
    perfect = tmp_path / "perfect-base"
    build_release(repo, perfect)
    fill_regions(perfect, solution_regions(repo))
    subs = tmp_path / "subs"
    copy_tree(perfect, subs / "perfect")
    copy_tree(perfect, subs / "lookup_model")
    set_cell_region(subs / "lookup_model", "svm_tuning", LOOKUP_MODEL, NB)
    copy_tree(perfect, subs / "forged_check")
    set_cell_region(subs / "forged_check", "svm_tuning", FORGED_CHECK, NB)
    out = tmp_path / "out"
    report = grade(
        sorted(subs.iterdir()),
        GradeOptions(
            out=out,
            seed=424242,
            notebooks=["02_svm"],
            limits=Limits(cell_timeout=120, notebook_timeout=600, cpu_seconds=600),
            workers=2,
            progress=False,
            uid_base=62100,
        ),
    )
    assert report.failed == []
    with open(out / "gradebook.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert float(rows["perfect"]["total"]) == sum(POINTS.values())
    for name, why in (("lookup_model", "reach"), ("forged_check", "did not hand")):
        assert float(rows[name]["svm_tuning"]) == 0, name
        assert float(rows[name]["total"]) == sum(POINTS.values()) - POINTS["svm_tuning"]
        page = Path(out / "feedback" / f"{name}.md").read_text()
        line = next(ln for ln in page.splitlines() if "`svm_tuning`" in ln)
        assert why in line, line
