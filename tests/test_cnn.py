"""ThreeLayerConvNet and ConvNet: shapes, sanity losses, gradients, overfitting, errors."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib.classifiers.cnn import ConvNet, ThreeLayerConvNet
from cs231n_lib.gradient_check import eval_numerical_gradient, rel_error
from cs231n_lib.solver import Solver


def test_three_layer_convnet_params_and_dtype():
    model = ThreeLayerConvNet(seed=0)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {
        "W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100), "b2": (100,),
        "W3": (100, 10), "b3": (10,),
    }  # fmt: skip
    assert all(v.dtype == np.float32 for v in model.params.values())
    X = np.random.default_rng(0).standard_normal((2, 3, 32, 32))  # float64 in
    assert model.loss(X).dtype == np.float32


def test_three_layer_convnet_sanity_loss():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 3, 32, 32))
    y = rng.integers(10, size=50)
    loss, _ = ThreeLayerConvNet(seed=0).loss(X, y)
    assert abs(loss - np.log(10)) < 0.01, loss  # small weights: uniform scores
    loss_reg, _ = ThreeLayerConvNet(seed=0, reg=0.5).loss(X, y)
    assert loss < loss_reg < loss + 0.5, (loss, loss_reg)  # CS231n: 2.30 -> about 2.5


def test_three_layer_convnet_gradient_check():
    rng = np.random.default_rng(2)
    model = ThreeLayerConvNet(
        input_dim=(3, 8, 8), num_filters=3, filter_size=3, hidden_dim=7, num_classes=4,
        weight_scale=1e-1, reg=0.2, dtype=np.float64, seed=0,
    )  # fmt: skip
    X = rng.standard_normal((3, 3, 8, 8))
    y = rng.integers(4, size=3)
    _, grads = model.loss(X, y)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(
            lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-6
        )
        assert rel_error(numeric, grads[name]) < 1e-5, name


def test_three_layer_convnet_overfits_small_data():
    rng = np.random.default_rng(3)
    data = {
        "X_train": rng.standard_normal((20, 3, 16, 16)),
        "y_train": rng.integers(10, size=20),
    }
    data["X_val"], data["y_val"] = data["X_train"], data["y_train"]
    model = ThreeLayerConvNet(
        input_dim=(3, 16, 16), num_filters=8, filter_size=3, hidden_dim=50, weight_scale=1e-1,
        seed=0,
    )  # fmt: skip
    solver = Solver(
        model, data, update_rule="adam", optim_config={"learning_rate": 1e-2}, batch_size=10,
        num_epochs=15, verbose=False, progress=False, seed=0,
    )  # fmt: skip
    solver.train()
    assert solver.train_acc_history[-1] == 1.0, solver.train_acc_history


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"filter_size": 4}, "filter_size must be odd"), ({"input_dim": (3, 31, 32)}, "even"),
     ({"reg": -1.0}, "reg must be >= 0"), ({"num_filters": 0}, "num_filters must be a positive")],
)  # fmt: skip
def test_three_layer_convnet_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThreeLayerConvNet(**kwargs)


def test_convnet_architecture_and_gradient_check():
    model = ConvNet(
        input_dim=(3, 8, 8), stages=((4, 3), (5,)), hidden_dims=(6,), num_classes=4, reg=0.1,
        dtype=np.float64, seed=0,
    )  # fmt: skip
    assert model.describe().startswith(
        "[conv3x3x4-relu-conv3x3x3-relu-pool2x2] -> [conv3x3x5-relu-pool2x2] -> fc6-relu -> fc4"
    )
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes["W1"] == (4, 3, 3, 3) and shapes["W3"] == (5, 3, 3, 3)
    assert shapes["W4"] == (5 * 2 * 2, 6) and shapes["W5"] == (6, 4)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2, 3, 8, 8))
    y = rng.integers(4, size=2)
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(
            lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-6
        )
        assert rel_error(numeric, grads[name]) < 1e-5, name


def test_convnet_float32_flip_and_errors():
    model = ConvNet(flip=True, seed=0)
    assert all(v.dtype == np.float32 for v in model.params.values())
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 3, 32, 32))
    X.setflags(write=False)
    scores = model.loss(X)
    assert scores.shape == (4, 10) and scores.dtype == np.float32
    loss, grads = model.loss(X, np.arange(4))
    assert np.isfinite(loss) and grads["W1"].dtype == np.float32
    with pytest.raises(ValueError, match="divisible by 8"):
        ConvNet(input_dim=(3, 20, 20))


def test_convnet_with_batchnorm_gradient_check_and_test_mode():
    model = ConvNet(input_dim=(3, 8, 8), stages=((4, 3), (5,)), hidden_dims=(6,), reg=0.1,
                    dtype=np.float64, batchnorm=True, seed=0)  # fmt: skip
    assert "conv3x3x4-bn-relu" in model.describe()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 3, 8, 8)), rng.integers(10, size=5)
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(
            lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-6
        )
        if name in ("b1", "b2", "b3"):  # batchnorm removes a conv bias: both gradients ~0
            assert np.max(np.abs(numeric)) < 1e-6 and np.max(np.abs(grads[name])) < 1e-6
        else:
            assert rel_error(numeric, grads[name]) < 1e-5, name
    scores = model.loss(X)  # test mode: the running averages, no labels
    assert scores.shape == (5, 10) and all(p["mode"] == "test" for p in model.bn_params.values())


def test_convnet_label_smoothing_loss_and_gradient_check():
    kwargs = dict(input_dim=(3, 8, 8), stages=((4,), (5,)), hidden_dims=(6,), num_classes=4,
                  reg=0.1, dtype=np.float64, seed=0)  # fmt: skip
    smooth, plain = ConvNet(label_smoothing=0.2, **kwargs), ConvNet(**kwargs)
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((3, 3, 8, 8)), rng.integers(4, size=3)
    scores = plain.loss(X)
    log_p = scores - scores.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    target = np.full((3, 4), 0.2 / 4)
    target[np.arange(3), y] += 0.8
    l2 = 0.5 * 0.1 * sum(np.sum(v * v) for k, v in plain.params.items() if k.startswith("W"))
    loss, grads = smooth.loss(X, y)
    assert np.isclose(loss, -np.sum(target * log_p) / 3 + l2, rtol=1e-12)
    assert loss != plain.loss(X, y)[0]
    for name in sorted(smooth.params):
        numeric = eval_numerical_gradient(
            lambda _: smooth.loss(X, y)[0], smooth.params[name], verbose=False, h=1e-6
        )
        assert rel_error(numeric, grads[name]) < 1e-5, name
    with pytest.raises(ValueError, match="label_smoothing"):
        ConvNet(label_smoothing=1.0)
