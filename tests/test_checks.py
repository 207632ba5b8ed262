"""The self-check framework: verdicts, messages, grading fingerprints, and fresh goldens."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib import checks
from cs231n_lib.checks import CheckFailed, check, compare, exercises, fingerprint, run
from cs231n_lib.classifiers.knn import KNearestNeighbor


def test_every_exercise_passes_on_the_solution(capsys):
    needs_values = set()
    for name, ex in sorted(exercises().items()):
        if ex.needs_values:  # notebook checks need the notebook's values
            needs_values.add(name)
            continue
        t = run(name)
        assert not t.problems, f"{name}: {t.problems}"
        assert t.passed, f"{name} checked nothing"
        assert ex.where.count(" in ") >= 1 or "notebook" in ex.where
    assert "knn_cross_validation" in needs_values


def test_goldens_are_up_to_date():
    """Golden files equal what the current solutions produce (re-run `course goldens`)."""
    for name, ex in exercises().items():
        if ex.needs_values:
            continue
        t = run(name, mode="record", seed=0)
        stored = checks._load_golden(name)
        assert set(stored) == set(t.recorded), (
            f"{name}: golden keys {sorted(stored)} != {sorted(t.recorded)}; "
            f"run: python -m cs231n_course goldens {name}"
        )
        for key, value in t.recorded.items():
            np.testing.assert_allclose(
                stored[key], value, rtol=1e-10, atol=1e-12,
                err_msg=f"{name}/{key} is stale; run: python -m cs231n_course goldens {name}",
            )  # fmt: skip


def test_failure_report_names_index_values_and_function(monkeypatch, capsys):
    def wrong(self, X):
        return np.zeros((X.shape[0], self.X_train.shape[0]))

    monkeypatch.setattr(KNearestNeighbor, "compute_distances_two_loops", wrong)
    with pytest.raises(CheckFailed, match="fix KNearestNeighbor.compute_distances_two_loops"):
        check("compute_distances_two_loops")
    out = capsys.readouterr().out
    assert "compute_distances_two_loops: FAILED" in out
    assert "dists: values differ at index (0, 0)" in out or "at index (" in out
    assert "expected" in out and "got 0" in out
    assert "cs231n_lib/classifiers/knn.py" in out


def test_shape_and_none_and_nan_are_explained(monkeypatch, capsys):
    monkeypatch.setattr(KNearestNeighbor, "compute_distances_one_loop", lambda self, X: None)
    with pytest.raises(CheckFailed, match="missing return"):
        check("compute_distances_one_loop")
    assert "x: expected shape (2, 3), got shape (3, 2)" == compare(
        "x", np.zeros((3, 2)), np.zeros((2, 3)), exact=False, rtol=1e-7, atol=0
    )
    problem = compare("x", np.array([1.0, np.nan]), np.ones(2), exact=False, rtol=1e-7, atol=0)
    assert "not finite at index (1,)" in problem


def test_not_implemented_propagates_with_its_message(monkeypatch):
    def stub(self, X):
        raise NotImplementedError("KNearestNeighbor.compute_distances_no_loops: implement this")

    monkeypatch.setattr(KNearestNeighbor, "compute_distances_no_loops", stub)
    with pytest.raises(NotImplementedError, match="implement this"):
        check("compute_distances_no_loops")


def test_grading_mode_prints_fingerprints_that_depend_on_seed_and_correctness(monkeypatch):
    a = run("compute_distances_two_loops", mode="grading", seed=11).lines
    c = run("compute_distances_two_loops", mode="grading", seed=12).lines
    assert a != c  # a different hidden seed gives a different case
    with monkeypatch.context() as m:  # another correct implementation: the same fingerprint
        m.setattr(
            KNearestNeighbor, "compute_distances_two_loops",
            KNearestNeighbor.compute_distances_no_loops,
        )  # fmt: skip
        assert run("compute_distances_two_loops", mode="grading", seed=11).lines == a
    monkeypatch.setattr(
        KNearestNeighbor, "compute_distances_two_loops",
        lambda self, X: KNearestNeighbor.compute_distances_one_loop(self, X) + 1e-3,
    )  # fmt: skip
    assert run("compute_distances_two_loops", mode="grading", seed=11).lines != a


def test_fingerprint_tolerates_rounding_noise_only():
    x = np.random.default_rng(0).standard_normal(50)
    assert fingerprint(x) == fingerprint(x * (1 + 1e-13))
    assert fingerprint(x) != fingerprint(x * (1 + 1e-4))
    assert fingerprint(np.array([1e-17, 1.0])) == fingerprint(np.array([-2e-17, 1.0]))
    assert fingerprint(np.array([1, 2])) != fingerprint(np.array([2, 1]))


def test_unknown_exercise_suggests_names():
    with pytest.raises(KeyError, match="did you mean"):
        check("compute_distances_two_loop")


def test_not_implemented_reaches_the_student_without_framework_frames(monkeypatch):
    import traceback

    def stub(self, X):
        raise NotImplementedError("KNearestNeighbor.compute_distances_no_loops: implement this")

    monkeypatch.setattr(KNearestNeighbor, "compute_distances_no_loops", stub)
    with pytest.raises(NotImplementedError) as info:
        check("compute_distances_no_loops")
    frames = traceback.extract_tb(info.value.__traceback__)
    assert [f.name for f in frames][-1] == "check" and len(frames) <= 2
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_golden_files_keep_shapes_and_are_byte_stable(tmp_path):
    arrays = {"loss": np.float64(2.5), "grad": np.arange(6.0).reshape(2, 3).T, "k": np.int64(3)}
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    checks._write_npz_deterministic(first, arrays)
    checks._write_npz_deterministic(second, arrays)
    assert first.read_bytes() == second.read_bytes()
    with np.load(first, allow_pickle=False) as data:
        assert data["loss"].shape == () and data["k"].shape == ()
        np.testing.assert_array_equal(data["grad"], arrays["grad"])


def test_cross_validation_results_are_fingerprinted_for_the_grader():
    table = {k: [0.2 + 0.01 * k, 0.25, 0.3, 0.22, 0.27] for k in (1, 3)}
    lines = run(
        "knn_cross_validation", mode="grading", seed=5, k_to_accuracies=table, k_choices=[1, 3]
    ).lines
    assert any(line.startswith("  accuracies per k and fold: f[2, 5] ") for line in lines)
    faked = {k: [0.25] * 5 for k in (1, 3)}
    other = run(
        "knn_cross_validation", mode="grading", seed=5, k_to_accuracies=faked, k_choices=[1, 3]
    ).lines
    assert other != lines
    public = run("knn_cross_validation", k_to_accuracies=table, k_choices=[1, 3])
    assert not public.problems and not public.lines  # nothing printed for a student
