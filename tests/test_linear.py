"""Tests of cs231n_lib.classifiers.linear (losses, SGD, save/load) and its self-checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cs231n_course.markers import find_solution_regions
from cs231n_lib.checks import CheckFailed, check, run
from cs231n_lib.checks import linear as linear_checks
from cs231n_lib.classifiers import linear
from cs231n_lib.classifiers.linear import (
    LinearClassifier,
    LinearSVM,
    Softmax,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)
from cs231n_lib.gradient_check import eval_numerical_gradient, rel_error

LOSSES = [svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized]
PAIRS = [(svm_loss_naive, svm_loss_vectorized), (softmax_loss_naive, softmax_loss_vectorized)]
EXERCISES = [
    "svm_loss_naive",
    "svm_loss_vectorized",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "linear_classifier_train",
    "linear_classifier_predict",
    "svm_tuning",
    "softmax_tuning",
]


def _case(seed, N=12, D=9, C=4, scale=0.3):
    rng = np.random.default_rng(seed)
    W = scale * rng.standard_normal((D, C))
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, size=N)
    return W, X, y


# -- values worked out by hand ------------------------------------------------------------
def test_svm_loss_by_hand():
    # X = first two rows of I, so the scores are the first two rows of W.
    X = np.eye(3)[:2]  # (2, 3)
    W = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [0.2, 0.0, 0.0]])  # (3, 3)
    y = np.array([0, 2])
    # example 0: margins 2 - 1 + 1 = 2 and 0.5 - 1 + 1 = 0.5; example 1: all margins < 0.
    expected_dW = np.zeros((3, 3))
    expected_dW[0] = [-2 / 2, 1 / 2, 1 / 2]  # X[0] added to columns 1, 2, twice removed from 0
    for fn in (svm_loss_naive, svm_loss_vectorized):
        loss, dW = fn(W, X, y, 0.0)
        assert loss == pytest.approx(2.5 / 2)
        np.testing.assert_allclose(dW, expected_dW)
        loss, dW = fn(W, X, y, 0.1)
        assert loss == pytest.approx(2.5 / 2 + 0.5 * 0.1 * np.sum(W * W))  # 0.5 * reg convention
        np.testing.assert_allclose(dW, expected_dW + 0.1 * W)


def test_softmax_loss_by_hand():
    X = np.array([[1.0]])  # (1, 1): the scores are the row of W
    W = np.log(np.array([[1.0, 2.0, 3.0]]))  # (1, 3): probabilities 1/6, 2/6, 3/6
    for fn in (softmax_loss_naive, softmax_loss_vectorized):
        loss, dW = fn(W, X, np.array([2]), 0.0)
        assert loss == pytest.approx(-np.log(0.5))
        np.testing.assert_allclose(dW, [[1 / 6, 2 / 6, 3 / 6 - 1]])
        loss, _ = fn(np.zeros((1, 10)), X, np.array([4]), 0.0)
        assert loss == pytest.approx(np.log(10))  # the -log(0.1) sanity check of the notebook


# -- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_gradient_matches_numerical(fn, reg):
    W, X, y = _case(1)
    _, dW = fn(W, X, y, reg)
    numeric = eval_numerical_gradient(lambda w: fn(w, X, y, reg)[0], W.copy(), verbose=False)
    assert rel_error(dW, numeric) < 1e-7, f"{fn.__name__} reg={reg}"


@pytest.mark.parametrize("naive, fast", PAIRS, ids=["svm", "softmax"])
def test_naive_equals_vectorized_on_random_shapes(naive, fast):
    rng = np.random.default_rng(2024)
    for trial in range(25):
        N, D, C = (int(v) for v in rng.integers(1, 30, size=3))
        C = max(C, 2)
        reg = float(rng.choice([0.0, 1e-3, 2.5]))
        seed = int(rng.integers(2**31))
        W, X, y = _case(seed, N, D, C, scale=float(rng.choice([1e-3, 1.0])))
        config = f"trial {trial}: N={N} D={D} C={C} reg={reg} seed={seed}"
        l1, g1 = naive(W, X, y, reg)
        l2, g2 = fast(W, X, y, reg)
        assert np.isclose(l1, l2, rtol=1e-10, atol=1e-12), f"loss differs, {config}: {l1} vs {l2}"
        assert g1.shape == g2.shape == (D, C), config
        assert rel_error(g1, g2) < 1e-9, f"dW differs, {config}: rel error {rel_error(g1, g2)}"


@pytest.mark.parametrize("fn", LOSSES, ids=lambda f: f.__name__)
def test_loss_is_float_and_dW_has_W_shape(fn):
    W, X, y = _case(3, N=5, D=4, C=3)
    loss, dW = fn(W, X, y, 0.1)
    assert isinstance(loss, float)
    assert dW.shape == W.shape and dW.dtype == np.float64


# -- stability and purity ------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn", [softmax_loss_naive, softmax_loss_vectorized], ids=lambda f: f.__name__
)
def test_softmax_is_stable_for_huge_scores(fn):
    X = np.eye(3)  # scores are the rows of W
    W = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, -1e4]])
    # Examples 0 and 1 score their own class 1e4 above the rest: loss ~ 0. Example 2 scores
    # its class 1e4 below two zeros: loss log(2 e^0) - (-1e4).
    loss, dW = fn(W, X, np.array([0, 1, 2]), 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert loss == pytest.approx((1e4 + np.log(2)) / 3, rel=1e-12)
    loss, dW = fn(-W, X, np.array([0, 1, 2]), 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert loss == pytest.approx(2e4 * 2 / 3, rel=1e-9)


@pytest.mark.parametrize("fn", LOSSES, ids=lambda f: f.__name__)
def test_losses_are_finite_for_huge_scores(fn):
    W, X, y = _case(4)
    loss, dW = fn(1e4 * W, X, y, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))


def _read_only(*arrays):
    out = []
    for a in arrays:
        a = a.copy()
        a.flags.writeable = False
        out.append(a)
    return out


@pytest.mark.parametrize("fn", LOSSES, ids=lambda f: f.__name__)
def test_losses_never_modify_inputs(fn):
    W, X, y = _read_only(*_case(5))
    fn(W, X, y, 0.3)  # writing into a read-only array would raise


def test_train_and_predict_never_modify_inputs():
    X, y = _separable(seed=6)
    X, y = _read_only(X, y)
    W0 = _read_only(np.zeros((X.shape[1], 3)))[0]
    clf = LinearSVM(W0)
    clf.train(X, y, learning_rate=0.1, num_iters=5, batch_size=10, seed=0)
    clf.predict(X)
    assert np.all(W0 == 0)


# -- training and prediction ---------------------------------------------------------------
def _separable(seed, N=90, C=3):
    """Three well-separated 2-D blobs, with the bias trick: X (N, 3), y (N,)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[4.0, 0.0], [-2.0, 3.5], [-2.0, -3.5]])  # (C, 2)
    y = np.arange(N) % C
    X = centres[y] + 0.5 * rng.standard_normal((N, 2))
    return np.hstack([X, np.ones((N, 1))]), y


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_train_reduces_loss_and_separates(cls):
    X, y = _separable(seed=7)
    clf = cls()
    history = clf.train(X, y, learning_rate=0.05, reg=1e-4, num_iters=300, batch_size=30, seed=1)
    assert len(history) == 300 and all(isinstance(v, float) for v in history)
    assert np.mean(history[-20:]) < 0.2 * history[0]
    assert clf.W.shape == (3, 3)
    y_pred = clf.predict(X)
    assert y_pred.shape == (90,) and np.issubdtype(y_pred.dtype, np.integer)
    assert np.mean(y_pred == y) == 1.0


def test_train_is_reproducible_with_seed_and_batches_may_exceed_data():
    X, y = _separable(seed=8, N=12)
    runs = [Softmax().train(X, y, num_iters=10, batch_size=50, seed=3) for _ in range(2)]
    assert runs[0] == runs[1]
    assert Softmax().train(X, y, num_iters=10, batch_size=50, seed=4) != runs[0]


def test_train_samples_with_replacement_from_the_seeded_generator():
    X, y = _separable(seed=9, N=20)
    seen = []

    class Spy(LinearClassifier):
        def loss(self, X_batch, y_batch, reg):
            seen.append(X_batch.copy())
            return 0.0, np.zeros_like(self.W)

    Spy(np.zeros((3, 3))).train(X, y, num_iters=3, batch_size=7, seed=11)
    rng = np.random.default_rng(11)
    for batch in seen:
        np.testing.assert_array_equal(batch, X[rng.choice(20, 7)])


def test_train_verbose_shows_a_progress_bar(capsys):
    X, y = _separable(seed=10, N=30)
    LinearSVM().train(X, y, num_iters=3, batch_size=5, verbose=True, seed=0)
    assert "LinearSVM SGD" in capsys.readouterr().err


def test_train_and_predict_reject_mismatched_shapes():
    X, y = _separable(seed=11, N=30)
    clf = LinearSVM(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="bias trick"):
        clf.train(X, y, num_iters=1)
    with pytest.raises(ValueError, match="X of shape"):
        LinearSVM().train(X.reshape(30, 3, 1), y)
    with pytest.raises(ValueError, match="labels must lie in 0 .. 1"):
        LinearSVM(np.zeros((3, 2))).train(X, y, num_iters=1)
    with pytest.raises(ValueError, match=r"shape \(N, 5\)"):
        clf.predict(X)
    with pytest.raises(RuntimeError, match="no weights"):
        Softmax().predict(X)
    with pytest.raises(NotImplementedError, match="LinearSVM or Softmax"):
        LinearClassifier().train(X, y, num_iters=1)


# -- save and load -------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    W = np.random.default_rng(12).standard_normal((3073, 10))
    path = tmp_path / "svm.npz"
    LinearSVM(W).save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["svm.npz"]  # no temporary left
    loaded = LinearSVM().load(path)
    np.testing.assert_array_equal(loaded.W, W)
    assert loaded.W.dtype == W.dtype
    # Saving over an existing file replaces it whole.
    LinearSVM(2 * W).save(path)
    np.testing.assert_array_equal(LinearSVM().load(str(path)).W, 2 * W)


def test_save_without_weights_and_load_errors(tmp_path):
    with pytest.raises(RuntimeError, match="nothing to save"):
        LinearSVM().save(tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="no weights file"):
        LinearSVM().load(tmp_path / "missing.npz")

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="not a readable .npz"):
        LinearSVM().load(garbage)

    truncated = tmp_path / "truncated.npz"
    LinearSVM(np.ones((4, 3))).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:-40])
    with pytest.raises(ValueError, match="truncated"):
        LinearSVM().load(truncated)

    no_w = tmp_path / "no_w.npz"
    np.savez(no_w, weights=np.ones((3, 2)))
    with pytest.raises(ValueError, match="no 'W'"):
        LinearSVM().load(no_w)

    objects = tmp_path / "objects.npz"
    np.savez(objects, W=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="never unpickled"):
        LinearSVM().load(objects)

    flat = tmp_path / "flat.npz"
    np.savez(flat, W=np.ones(5))
    with pytest.raises(ValueError, match=r"2-D float array .* shape \(5,\)"):
        LinearSVM().load(flat)

    nan = tmp_path / "nan.npz"
    np.savez(nan, W=np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        LinearSVM().load(nan)

    good = tmp_path / "good.npz"
    LinearSVM(np.ones((4, 3))).save(good)
    with pytest.raises(ValueError, match=r"shape \(4, 3\) .* shape \(5, 3\)"):
        LinearSVM(np.zeros((5, 3))).load(good)


# -- student regions and self-checks -------------------------------------------------------
def test_student_regions_are_the_documented_ones():
    path = Path(linear.__file__)
    regions = find_solution_regions(path.read_text().splitlines(), str(path), python_functions=True)
    assert [r.name for r in regions] == [
        "svm_loss_naive",
        "svm_loss_vectorized",
        "softmax_loss_naive",
        "softmax_loss_vectorized",
        "LinearClassifier.train",
        "LinearClassifier.train#2",
        "LinearClassifier.predict",
    ]


@pytest.mark.parametrize("name", EXERCISES[:6])
def test_checks_pass_on_the_solution(name, capsys):
    check(name)
    assert capsys.readouterr().out.startswith(f"{name}: OK (")


@pytest.mark.parametrize("name", EXERCISES[:6])
def test_goldens_are_fresh(name):
    recorded = run(name, mode="record", seed=0).recorded
    path = Path(linear_checks.__file__).parent / "golden" / f"{name}.npz"
    if name == "linear_classifier_predict":
        assert not recorded and not path.exists()  # predict is checked against argmax itself
        return
    with np.load(path, allow_pickle=False) as stored:
        assert sorted(recorded) == sorted(stored.files)
        for key, value in recorded.items():
            np.testing.assert_allclose(value, stored[key], rtol=1e-12, err_msg=f"{name}: {key}")
            assert np.shape(value) == stored[key].shape, f"{name}: {key}"


@pytest.mark.parametrize("name", EXERCISES[:6])
def test_checks_work_for_any_grading_seed(name):
    for seed in (1, 987654):
        t = run(name, mode="grading", seed=seed)
        assert t.lines and not any("fails" in line for line in t.lines), t.lines


def test_wrong_loss_is_reported_with_where_to_fix(monkeypatch, capsys):
    def half_loss(W, X, y, reg):
        loss, dW = svm_loss_vectorized(W, X, y, reg)
        return loss / 2, dW  # a wrong loss, a right gradient

    monkeypatch.setattr(linear, "svm_loss_vectorized", half_loss)
    with pytest.raises(
        CheckFailed, match="svm_loss_vectorized in cs231n_lib/classifiers/linear.py"
    ):
        check("svm_loss_vectorized")
    out = capsys.readouterr().out
    assert "svm_loss_vectorized: FAILED" in out and "loss: values differ" in out
    assert "dW:" not in out  # the gradient is right and is not blamed


def test_unstable_softmax_is_reported(monkeypatch, capsys):
    def naive_exp(W, X, y, reg):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            scores = np.exp(X @ W)  # no shift: overflows for large scores
            probs = scores / scores.sum(axis=1, keepdims=True)
            N = X.shape[0]
            loss = -np.mean(np.log(probs[np.arange(N), y])) + 0.5 * reg * np.sum(W * W)
            probs[np.arange(N), y] -= 1
            return loss, X.T @ probs / N + reg * W

    monkeypatch.setattr(linear, "softmax_loss_vectorized", naive_exp)
    with pytest.raises(CheckFailed):
        check("softmax_loss_vectorized")
    out = capsys.readouterr().out
    assert "loss_large_scores: not finite" in out
    assert "loss: values differ" not in out  # ordinary scores are fine


def test_train_check_tells_sampling_from_update(monkeypatch, capsys):
    original = LinearClassifier.train

    def shuffled_train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
                       verbose=False, seed=None):  # fmt: skip
        order = np.random.default_rng(99).permutation(len(X))
        return original(self, X[order], y[order], learning_rate, reg, num_iters, batch_size,
                        verbose, seed)  # fmt: skip

    monkeypatch.setattr(LinearClassifier, "train", shuffled_train)
    with pytest.raises(CheckFailed):
        check("linear_classifier_train")
    assert "first minibatch: the loss of the first step" in capsys.readouterr().out


def test_stub_error_propagates_from_checks(monkeypatch):
    def stub(W, X, y, reg):
        raise NotImplementedError("svm_loss_naive: implement this in cs231n_lib/classifiers/...")

    monkeypatch.setattr(linear, "svm_loss_naive", stub)
    with pytest.raises(NotImplementedError, match="implement this"):
        check("svm_loss_naive")


def _tuning_values(seed=13):
    X, y = _separable(seed=seed, N=60)
    results, best_val, best = {}, -1.0, None
    for lr in (1e-2, 1e-1):
        for reg in (1e-4, 1e-2):
            clf = LinearSVM()
            clf.train(X, y, learning_rate=lr, reg=reg, num_iters=50, batch_size=20, seed=0)
            acc = float(np.mean(clf.predict(X) == y))
            results[lr, reg] = (acc, acc)
            if acc > best_val:
                best_val, best = acc, clf
    return dict(results=results, best_svm=best, X_val=X, y_val=y)


def test_tuning_check(capsys):
    values = _tuning_values()
    check("svm_tuning", **values)
    assert capsys.readouterr().out.startswith("svm_tuning: OK (results format;")
    untrained = LinearSVM(np.zeros((3, 3)))  # predicts class 0 for everything: 1/3 accuracy
    with pytest.raises(CheckFailed):
        check("svm_tuning", **{**values, "best_svm": untrained})
    assert "best model matches results: the model passed as the best" in capsys.readouterr().out
    with pytest.raises(TypeError, match="best_svm=best_svm"):
        check("svm_tuning", results=values["results"])
    with pytest.raises(CheckFailed):
        check("svm_tuning", **{**values, "results": {}, "best_svm": None})  # unsolved search
    assert "it is empty: did the search cell run to the end?" in capsys.readouterr().out
    with pytest.raises(CheckFailed):
        check("svm_tuning", **{**values, "best_svm": None})
    assert "best_svm is None" in capsys.readouterr().out
    small = dict(list(values["results"].items())[:2])
    with pytest.raises(CheckFailed):
        check("svm_tuning", **{**values, "results": small})
    assert "enough combinations" in capsys.readouterr().out
