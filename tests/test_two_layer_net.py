"""TwoLayerNet: CS231n's fixed values, numerical gradients, initialisation, regularisation."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib.classifiers.two_layer_net import TwoLayerNet
from cs231n_lib.gradient_check import eval_numerical_gradient, rel_error

N, D, H, C = 3, 5, 50, 7


def fixed_model(reg=0.0):
    """The network and inputs of CS231n's FullyConnectedNets notebook."""
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-2, seed=0)
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    model.reg = reg
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T  # (N, D)
    y = np.array([0, 5, 1])
    return model, X, y


def test_scores_and_loss_fixed_values():
    model, X, y = fixed_model()
    expected_scores = np.array(
        [
            [
                11.53165108,
                12.2917344,
                13.05181771,
                13.81190102,
                14.57198434,
                15.33206765,
                16.09215096,
            ],
            [
                12.05769098,
                12.74614105,
                13.43459113,
                14.1230412,
                14.81149128,
                15.49994135,
                16.18839143,
            ],
            [
                12.58373087,
                13.20054771,
                13.81736455,
                14.43418138,
                15.05099822,
                15.66781506,
                16.2846319,
            ],
        ]
    )
    assert rel_error(model.loss(X), expected_scores) < 1e-8
    assert model.loss(X, y)[0] == pytest.approx(3.4702243556, abs=1e-10)
    model.reg = 1.0
    assert model.loss(X, y)[0] == pytest.approx(26.5948426952, abs=1e-10)


@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_gradients_numeric(reg):
    rng = np.random.default_rng(0)
    model = TwoLayerNet(
        input_dim=12, hidden_dim=15, num_classes=4, weight_scale=0.1, reg=reg, seed=1
    )
    X = rng.standard_normal((6, 3, 4))
    y = rng.integers(4, size=6)
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param, verbose=False)
        assert grads[name].shape == param.shape
        assert rel_error(grads[name], num) < 1e-6, f"{name}, reg={reg}"  # CS231n: < 1e-6


def test_regularisation_is_half_reg_sum_of_squares():
    model, X, y = fixed_model()
    data_loss, grads0 = model.loss(X, y)
    model.reg = 0.3
    loss, grads = model.loss(X, y)
    W1, W2 = model.params["W1"], model.params["W2"]
    assert loss == pytest.approx(data_loss + 0.5 * 0.3 * (np.sum(W1**2) + np.sum(W2**2)))
    np.testing.assert_allclose(grads["W1"], grads0["W1"] + 0.3 * W1)
    np.testing.assert_allclose(grads["b2"], grads0["b2"])  # biases are not regularised


def test_initialisation():
    model = TwoLayerNet(input_dim=300, hidden_dim=200, num_classes=10, weight_scale=0.01, seed=3)
    p = model.params
    assert {k: v.shape for k, v in p.items()} == {
        "W1": (300, 200),
        "b1": (200,),
        "W2": (200, 10),
        "b2": (10,),
    }
    assert not p["b1"].any() and not p["b2"].any()
    assert 0.0095 < p["W1"].std() < 0.0105 and abs(p["W1"].mean()) < 1e-3
    again = TwoLayerNet(input_dim=300, hidden_dim=200, num_classes=10, weight_scale=0.01, seed=3)
    np.testing.assert_array_equal(again.params["W2"], p["W2"])


def test_inputs_not_modified():
    model, X, y = fixed_model(reg=0.5)
    X.setflags(write=False)
    y.setflags(write=False)
    for v in model.params.values():
        v.setflags(write=False)
    model.loss(X, y)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_dim": 0}, "hidden_dim must be a positive integer, got 0"),
        ({"input_dim": 2.5}, "input_dim must be a positive integer"),
        ({"reg": -1.0}, "reg must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TwoLayerNet(**kwargs)
