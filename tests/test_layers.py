"""Layers and losses: fixed values, numerical gradients, randomised shapes, no in-place edits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import frozen

from cs231n_lib.checks import GOLDEN_DIR, CheckFailed, check, run
from cs231n_lib.classifiers.two_layer_net import TwoLayerNet
from cs231n_lib.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from cs231n_lib.layer_utils import affine_relu_backward, affine_relu_forward
from cs231n_lib.layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_loss,
    svm_loss,
)

# ---- fixed values (the same cases CS231n's notebooks use) ----------------------------------


def test_affine_forward_fixed_values():
    x = np.linspace(-0.1, 0.5, num=2 * 120).reshape(2, 4, 5, 6)  # (N, d1, d2, d3)
    w = np.linspace(-0.2, 0.3, num=120 * 3).reshape(120, 3)  # (D, M)
    b = np.linspace(-0.3, 0.1, num=3)
    out, _ = affine_forward(*frozen(x, w, b))
    expected = np.array([[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]])
    assert rel_error(out, expected) < 1e-8


def test_relu_forward_fixed_values():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = relu_forward(*frozen(x))
    expected = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.04545455, 0.13636364],
            [0.22727273, 0.31818182, 0.40909091, 0.5],
        ]
    )
    assert rel_error(out, expected) < 5e-8


def test_affine_backward_by_hand_2x2():
    # The lecture's example: [x1 x2] @ [[w11, w21], [w12, w22]] = [y1 y2], L = a*y1 + b*y2.
    x = np.array([[1.0, 2.0]])
    w = np.array([[3.0, 5.0], [4.0, 6.0]])
    dout = np.array([[0.5, -1.0]])  # dL/dY = [a, b]
    dx, dw, db = affine_backward(*frozen(dout), tuple(frozen(x, w, np.zeros(2))))
    # dL/dX = dL/dY W^T = [0.5*3 - 1*5, 0.5*4 - 1*6]; dL/dW = X^T dL/dY.
    np.testing.assert_allclose(dx, [[-3.5, -4.0]])
    np.testing.assert_allclose(dw, [[0.5, -1.0], [1.0, -2.0]])
    np.testing.assert_allclose(db, [0.5, -1.0])


def test_sigmoid_fixed_values_and_no_overflow():
    x = np.array([-1e4, -1000.0, -1.0, 0.0, 1.0, 1000.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        out, cache = sigmoid_forward(*frozen(x))
    e = np.exp(-1.0)
    np.testing.assert_allclose(out, [0.0, 0.0, e / (1 + e), 0.5, 1 / (1 + e), 1.0, 1.0])
    dx = sigmoid_backward(*frozen(np.ones_like(x)), cache)
    np.testing.assert_allclose(dx, [0.0, 0.0, e / (1 + e) ** 2, 0.25, e / (1 + e) ** 2, 0, 0])


def test_svm_loss_by_hand():
    x = np.array([[3.0, 1.0, 2.5], [0.0, 2.0, 1.5]])
    y = np.array([0, 2])
    loss, dx = svm_loss(*frozen(x, y))
    # Row 0: margins max(0, 1-3+1)=0, max(0, 2.5-3+1)=0.5; row 1: max(0, 0-1.5+1)=0, 1.5.
    assert loss == pytest.approx((0.5 + 1.5) / 2)
    np.testing.assert_allclose(dx, [[-0.5, 0.0, 0.5], [0.0, 0.5, -0.5]])


def test_softmax_loss_uniform_and_huge_scores():
    loss, dx = softmax_loss(np.zeros((4, 10)), np.arange(4))
    assert loss == pytest.approx(np.log(10))
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dx = softmax_loss(*frozen(np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4]]), [1, 2]))
    assert loss == pytest.approx(0.5 * (2e4 + np.log(2)))
    np.testing.assert_allclose(dx, [[0.5, -0.5, 0.0], [0.0, 0.25, -0.25]], atol=1e-15)


@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss])
def test_losses_reject_bad_labels(loss_fn):
    with pytest.raises(ValueError, match=r"labels y must lie in 0..2"):
        loss_fn(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"shape \(N,\) = \(2,\)"):
        loss_fn(np.zeros((2, 3)), np.array([0, 1, 2]))


# ---- numerical gradients --------------------------------------------------------------------


def test_affine_backward_numeric():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 2, 3))
    w = rng.standard_normal((6, 5))
    b = rng.standard_normal(5)
    dout = rng.standard_normal((10, 5))
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(*frozen(dout), cache)
    dx_num = eval_numerical_gradient_array(lambda x: affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: affine_forward(x, w, b)[0], b, dout)
    # Entrywise relative error; entries near 0 make it ~1e-9 even for an exact gradient.
    assert rel_error(dx, dx_num) < 1e-8
    assert rel_error(dw, dw_num) < 1e-8
    assert rel_error(db, db_num) < 1e-8


@pytest.mark.parametrize(
    ("forward", "backward"),
    [(relu_forward, relu_backward), (sigmoid_forward, sigmoid_backward)],
    ids=["relu", "sigmoid"],
)
def test_activation_backward_numeric(forward, backward):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 10))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from relu's kink
    dout = rng.standard_normal((10, 10))
    _, cache = forward(x)
    dx = backward(*frozen(dout), cache)
    dx_num = eval_numerical_gradient_array(lambda x: forward(x)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-9


@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss])
def test_loss_dx_numeric(loss_fn):
    rng = np.random.default_rng(2)
    N, C = 50, 10
    x = 0.001 * rng.standard_normal((N, C))
    y = rng.integers(C, size=N)
    _, dx = loss_fn(x, y)
    dx_num = eval_numerical_gradient(lambda x: loss_fn(x, y)[0], x, verbose=False)
    assert rel_error(dx, dx_num) < 1e-8


def test_affine_relu_numeric():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal((12, 10))
    b = rng.standard_normal(10)
    dout = rng.standard_normal((2, 10))
    out, cache = affine_relu_forward(*frozen(x, w, b))
    np.testing.assert_allclose(out, np.maximum(0, x.reshape(2, 12) @ w + b))
    dx, dw, db = affine_relu_backward(*frozen(dout), cache)
    assert (
        rel_error(
            dx, eval_numerical_gradient_array(lambda x: affine_relu_forward(x, w, b)[0], x, dout)
        )
        < 1e-9
    )
    assert (
        rel_error(
            dw, eval_numerical_gradient_array(lambda w: affine_relu_forward(x, w, b)[0], w, dout)
        )
        < 1e-9
    )
    assert (
        rel_error(
            db, eval_numerical_gradient_array(lambda b: affine_relu_forward(x, w, b)[0], b, dout)
        )
        < 1e-9
    )


# ---- randomised shapes against independent references ----------------------------------------


def _svm_loop(x, y):
    """Loop reference for svm_loss."""
    N, C = x.shape
    loss, dx = 0.0, np.zeros_like(x)
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - x[i, y[i]] + 1
            if margin > 0:
                loss += margin
                dx[i, j] += 1
                dx[i, y[i]] -= 1
    return loss / N, dx / N


def _softmax_loop(x, y):
    """Loop reference for softmax_loss, in extended precision."""
    N, C = x.shape
    loss, dx = 0.0, np.zeros_like(x)
    for i in range(N):
        s = x[i].astype(np.longdouble)
        p = np.exp(s - s.max())
        p /= p.sum()
        loss -= np.log(p[y[i]])
        dx[i] = p
        dx[i, y[i]] -= 1
    return float(loss) / N, dx / N


@pytest.mark.parametrize("seed", range(6))
def test_random_shapes(seed):
    rng = np.random.default_rng(100 + seed)
    N = int(rng.integers(1, 6))
    dims = tuple(int(d) for d in rng.integers(1, 4, size=rng.integers(1, 4)))
    M = int(rng.integers(1, 6))
    C = int(rng.integers(2, 6))
    config = f"seed={seed}: N={N}, x dims={dims}, M={M}, C={C}"
    D = int(np.prod(dims))
    x, w, b = rng.standard_normal((N, *dims)), rng.standard_normal((D, M)), rng.standard_normal(M)
    dout = rng.standard_normal((N, M))

    out, cache = affine_forward(*frozen(x, w, b))
    assert out.shape == (N, M), config
    np.testing.assert_allclose(out, np.einsum("nd,dm->nm", x.reshape(N, D), w) + b, err_msg=config)
    dx, dw, db = affine_backward(*frozen(dout), cache)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape), config
    np.testing.assert_allclose(dx, np.einsum("nm,dm->nd", dout, w).reshape(x.shape), err_msg=config)
    np.testing.assert_allclose(dw, np.einsum("nd,nm->dm", x.reshape(N, D), dout), err_msg=config)

    r, r_cache = relu_forward(*frozen(x))
    assert r.shape == x.shape and np.all(r >= 0), config
    dr = relu_backward(*frozen(np.ones_like(x)), r_cache)
    np.testing.assert_array_equal(dr, (x > 0).astype(float), err_msg=config)

    sg, sg_cache = sigmoid_forward(*frozen(x))
    np.testing.assert_allclose(sg, 1 / (1 + np.exp(-x)), rtol=1e-14, err_msg=config)
    dsg = sigmoid_backward(*frozen(dr), sg_cache)
    np.testing.assert_allclose(
        dsg, dr * np.exp(-x) / (1 + np.exp(-x)) ** 2, rtol=1e-12, err_msg=config
    )

    scores, labels = rng.standard_normal((N, C)) * 3, rng.integers(C, size=N)
    for fn, ref in ((svm_loss, _svm_loop), (softmax_loss, _softmax_loop)):
        loss, dscores = fn(*frozen(scores, labels))
        loss_ref, dscores_ref = ref(scores, labels)
        assert loss == pytest.approx(loss_ref, rel=1e-12), f"{fn.__name__}, {config}"
        np.testing.assert_allclose(
            dscores, dscores_ref, atol=1e-15, err_msg=f"{fn.__name__}, {config}"
        )


def test_against_torch_if_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((4, 3, 2)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    y = rng.integers(5, size=4)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    scores_t = torch.sigmoid(torch.relu(tx.reshape(4, 6) @ tw + tb))
    loss_t = torch.nn.functional.cross_entropy(scores_t, torch.tensor(y))
    loss_t.backward()

    a, c1 = affine_forward(x, w, b)
    r, c2 = relu_forward(a)
    s, c3 = sigmoid_forward(r)
    loss, ds = softmax_loss(s, y)
    dx, dw, db = affine_backward(relu_backward(sigmoid_backward(ds, c3), c2), c1)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for ours, theirs in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


# ---- the self-checks of this assignment ---------------------------------------------------

EXERCISES = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "svm_loss",
    "softmax_loss",
    "affine_relu",
    "sgd_momentum",
    "rmsprop",
    "adam",
    "two_layer_net",
]


@pytest.mark.parametrize("name", EXERCISES)
def test_checks_pass_on_the_solution(name, capsys):
    check(name)
    assert capsys.readouterr().out.startswith(f"{name}: OK (")


@pytest.mark.parametrize("name", EXERCISES)
def test_goldens_are_fresh(name):
    recorded = run(name, mode="record", seed=0).recorded
    with np.load(GOLDEN_DIR / f"{name}.npz", allow_pickle=False) as stored:
        assert sorted(recorded) == sorted(stored.files)
        for key, value in recorded.items():
            assert np.shape(value) == stored[key].shape, f"{name}: {key}"
            np.testing.assert_allclose(value, stored[key], rtol=1e-12, err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", EXERCISES)
def test_checks_work_for_any_grading_seed(name):
    for seed in (1, 987654):
        t = run(name, mode="grading", seed=seed)
        assert t.lines and not any("fails" in line for line in t.lines), (seed, t.lines)


def test_check_reports_in_place_modification(monkeypatch, capsys):
    import cs231n_lib.layers as layers_module

    def relu_in_place(x):
        x[x < 0] = 0  # the mistake the lecture's homework made on dz2
        return x, x

    monkeypatch.setattr(layers_module, "relu_forward", relu_in_place)
    with pytest.raises(CheckFailed):
        check("relu_forward")
    out = capsys.readouterr().out
    assert "relu_forward modified x in place" in out
    assert "fix: relu_forward in cs231n_lib/layers.py" in out


def test_check_reports_overflowing_sigmoid(monkeypatch, capsys):
    import cs231n_lib.layers as layers_module

    def naive_sigmoid(x):
        out = 1 / (1 + np.exp(-x))
        return out, out

    monkeypatch.setattr(layers_module, "sigmoid_forward", naive_sigmoid)
    with pytest.raises(CheckFailed):
        check("sigmoid_forward")
    assert "no overflow for large |x|: sigmoid_forward warned" in capsys.readouterr().out


def test_check_reports_wrong_regularisation(monkeypatch, capsys):
    original = TwoLayerNet.loss

    def full_reg_loss(self, X, y=None):
        result = original(self, X, y)
        if y is None:
            return result
        loss, grads = result
        W1, W2 = self.params["W1"], self.params["W2"]
        return loss + 0.5 * self.reg * (np.sum(W1**2) + np.sum(W2**2)), grads  # reg * sum(W**2)

    monkeypatch.setattr(TwoLayerNet, "loss", full_reg_loss)
    with pytest.raises(CheckFailed):
        check("two_layer_net")
    assert "loss with reg = 0.7: values differ" in capsys.readouterr().out


def test_tuning_check_judges_validation_accuracy(capsys):
    X_val = np.arange(40, dtype=float).reshape(20, 2)
    y_val = np.arange(20) % 10

    class Oracle:  # scores that put the right label first for these 20 examples
        def loss(self, X):
            return np.eye(10)[(X[:, 0] / 2).astype(int) % 10]

    class AlwaysZero:
        def loss(self, X):
            return np.eye(10)[np.zeros(len(X), dtype=int)]

    check("two_layer_net_tuning", best_net=Oracle(), X_val=X_val, y_val=y_val)
    assert "two_layer_net_tuning: OK" in capsys.readouterr().out
    with pytest.raises(CheckFailed):
        check("two_layer_net_tuning", best_net=AlwaysZero(), X_val=X_val, y_val=y_val)
    assert "best_net reaches 10.0% on the validation set" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="the check cell was changed: run it as"):
        check("two_layer_net_tuning")


def test_affine_forward_shape_mismatch_says_what_to_do():
    with pytest.raises(
        ValueError, match=r"D = 12 numbers per example, so w must have shape \(D, M\) = \(12, M\)"
    ):
        affine_forward(np.zeros((2, 3, 4)), np.zeros((10, 5)), np.zeros(5))
    with pytest.raises(ValueError, match=r"b shape \(M,\); got w \(12, 5\) and b \(4,\)"):
        affine_forward(np.zeros((2, 3, 4)), np.zeros((12, 5)), np.zeros(4))
