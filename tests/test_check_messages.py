"""The mistakes students make by hand get a message that says what happened and what to do.

Each test writes the mistake as a student would (the unwritten cell, the leaky cross-validation,
the textbook route, the forgotten padding...) and asserts the check catches it with an
actionable message, not a misleading property name or a raw numpy error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cs231n_lib import layers
from cs231n_lib.checks import CheckFailed, check
from cs231n_lib.classifiers.knn import KNearestNeighbor

K_CHOICES = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]


def _cross_validate(X, y, leak=False, same_fold=False, num_folds=5):
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(y, num_folds)
    acc = {}
    for fold in range(num_folds):
        held = 0 if same_fold else fold
        if leak:  # trains on all five folds, the held-out one included
            X_tr, y_tr = np.concatenate(X_folds), np.concatenate(y_folds)
        else:
            X_tr = np.concatenate(X_folds[:held] + X_folds[held + 1 :])
            y_tr = np.concatenate(y_folds[:held] + y_folds[held + 1 :])
        knn = KNearestNeighbor()
        knn.train(X_tr, y_tr)
        dists = knn.compute_distances_no_loops(X_folds[held])
        for k in K_CHOICES:
            accuracy = np.mean(knn.predict_labels(dists, k=k) == y_folds[held])
            acc.setdefault(k, []).append(float(accuracy))
    return acc


@pytest.fixture(scope="module")
def knn_data():
    # Two noisy clusters per class: a learnable problem where honest kNN is far from 100%.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=500)
    X = rng.standard_normal((500, 20)) * 3 + y[:, None] * 0.8
    return X, y


def test_unwritten_cross_validation_says_not_implemented_without_warnings(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (mean of an empty array) would fail
        with pytest.raises(NotImplementedError, match="not implemented yet.*has not run"):
            check("knn_cross_validation", k_to_accuracies={}, k_choices=K_CHOICES)
    out = capsys.readouterr().out
    assert "near chance" not in out and "fractions" not in out


def test_honest_cross_validation_passes(knn_data, capsys):
    acc = _cross_validate(*knn_data)
    check("knn_cross_validation", k_to_accuracies=acc, k_choices=K_CHOICES)
    out = capsys.readouterr().out
    assert "no leak: 1-NN well below 100%" in out and "each fold held out once" in out


def test_leaky_cross_validation_is_caught(knn_data, capsys):
    acc = _cross_validate(*knn_data, leak=True)
    assert acc[1] == [1.0] * 5  # each validation point is its own nearest neighbour
    with pytest.raises(CheckFailed):
        check("knn_cross_validation", k_to_accuracies=acc, k_choices=K_CHOICES)
    assert "validation images are among the training images" in capsys.readouterr().out


def test_same_fold_every_time_is_caught(knn_data, capsys):
    acc = _cross_validate(*knn_data, same_fold=True)
    with pytest.raises(CheckFailed):
        check("knn_cross_validation", k_to_accuracies=acc, k_choices=K_CHOICES)
    assert "the same fold is held out" in capsys.readouterr().out


def test_no_loop_distances_without_the_clip_give_nan_and_are_told(monkeypatch, capsys):
    def unclipped(self, X):
        sq = (X**2).sum(1)[:, None] + (self.X_train**2).sum(1)[None, :] - 2 * X @ self.X_train.T
        with np.errstate(invalid="ignore"):
            return np.sqrt(sq)

    monkeypatch.setattr(KNearestNeighbor, "compute_distances_no_loops", unclipped)
    with pytest.raises(CheckFailed):
        check("compute_distances_no_loops")
    out = capsys.readouterr().out
    assert "no nan for identical points: the distance between identical points is nan" in out


def test_np_linalg_norm_is_flagged_where_the_todo_forbids_it(monkeypatch, capsys):
    def with_norm(self, X):
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            dists[i] = np.linalg.norm(self.X_train - X[i], axis=1)
        return dists

    monkeypatch.setattr(KNearestNeighbor, "compute_distances_one_loop", with_norm)
    with pytest.raises(CheckFailed):
        check("compute_distances_one_loop")
    out = capsys.readouterr().out
    assert "no np.linalg.norm or scipy: compute_distances_one_loop calls norm" in out
    assert "dists: values differ" not in out  # the values are right; only the rule is broken


def test_relu_backward_with_x_ge_0_fails_at_exact_zero(monkeypatch, capsys):
    monkeypatch.setattr(layers, "relu_backward", lambda dout, x: np.where(x >= 0, dout, 0.0))
    with pytest.raises(CheckFailed):
        check("relu_backward")
    assert "dx: values differ at index (0, 0)" in capsys.readouterr().out


def test_textbook_softmax_loss_layer_gets_the_underflow_explanation(monkeypatch, capsys):
    def textbook(x, y):
        N = x.shape[0]
        e = np.exp(x - x.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(p[np.arange(N), y]))
        dx = p.copy()
        dx[np.arange(N), y] -= 1
        return loss, dx / N

    monkeypatch.setattr(layers, "softmax_loss", textbook)
    with pytest.raises(CheckFailed):
        check("softmax_loss")
    out = capsys.readouterr().out
    assert "loss for scores of 1e4: the loss is not finite" in out
    assert "underflows to exactly 0" in out


def test_conv_forward_without_padding_asks_did_you_pad(monkeypatch):
    def unpadded(x, w, b, conv_param):
        N, C, H, W = x.shape
        F, _, HH, WW = w.shape
        S, P = conv_param["stride"], conv_param["pad"]
        H_out, W_out = (H + 2 * P - HH) // S + 1, (W + 2 * P - WW) // S + 1
        out = np.zeros((N, F, H_out, W_out))
        for n in range(N):
            for f in range(F):
                for i in range(H_out):
                    for j in range(W_out):
                        window = x[n, :, i * S : i * S + HH, j * S : j * S + WW]  # no x_pad
                        out[n, f, i, j] = np.sum(window * w[f]) + b[f]
        return out, (x, w, b, conv_param)

    monkeypatch.setattr(layers, "conv_forward_naive", unpadded)
    with pytest.raises(CheckFailed, match=r"Did you pad x\? .*np\.pad"):
        check("conv_forward_naive")


def test_unrun_tuning_cells_say_not_implemented():
    with pytest.raises(NotImplementedError, match="two_layer_net_tuning: not implemented yet"):
        check("two_layer_net_tuning", best_net=None, X_val=np.zeros((2, 3)), y_val=np.zeros(2))
    with pytest.raises(NotImplementedError, match="softmax_tuning: not implemented yet"):
        check("softmax_tuning", results={}, best_softmax=None, X_val=None, y_val=None)


def test_unrun_overfitting_cells_say_not_implemented_and_name_the_solver():
    # The notebook sets solver_3 = None / solver_5 = None before each cell's region, so a
    # cell that raised (a stubbed FullyConnectedNet) hands the check None.
    with pytest.raises(NotImplementedError, match="fc_overfit: not implemented yet: solver_5 is"):
        check("fc_overfit", three_layer=object(), five_layer=None)
    with pytest.raises(NotImplementedError, match="solver_3 and solver_5 are None"):
        check("fc_overfit", three_layer=None, five_layer=None)
    with pytest.raises(CheckFailed, match="the check cell was changed"):
        check("fc_overfit", three_layer=None)


@pytest.mark.parametrize(
    "method",
    ["compute_distances_two_loops", "compute_distances_one_loop", "compute_distances_no_loops"],
)
def test_distances_without_the_square_root_are_told(method, monkeypatch, capsys):
    def squared(self, X):
        return ((X[:, None, :] - self.X_train[None, :, :]) ** 2).sum(axis=2)

    monkeypatch.setattr(KNearestNeighbor, method, squared)
    with pytest.raises(CheckFailed):
        check(method)
    out = capsys.readouterr().out
    assert "dists: these are the squared distances" in out
    assert "dists: values differ" not in out


def test_distances_wrong_otherwise_still_show_the_first_mismatch(monkeypatch, capsys):
    def off_by_one(self, X):
        return np.sqrt(((X[:, None, :] - self.X_train[None, :, :]) ** 2).sum(axis=2)) + 1

    monkeypatch.setattr(KNearestNeighbor, "compute_distances_two_loops", off_by_one)
    with pytest.raises(CheckFailed):
        check("compute_distances_two_loops")
    out = capsys.readouterr().out
    assert "dists: values differ at index (0, 0)" in out
    assert "squared" not in out
