"""FullyConnectedNet: shapes, numerical gradients at float64 for every option, modes, seeds,
bad input; and the new self-checks catch the classic mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib import layers
from cs231n_lib.checks import CheckFailed, check, run
from cs231n_lib.classifiers.fc_net import FullyConnectedNet
from cs231n_lib.gradient_check import eval_numerical_gradient, rel_error
from cs231n_lib.solver import Solver

N, D, H1, H2, C = 4, 15, 20, 30, 10


def _data(seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal((N, D)), r.integers(C, size=N)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("keep", [1, 0.5])
@pytest.mark.parametrize("reg", [0.0, 3.14])
def test_gradients_match_numerical_ones(normalization, keep, reg):
    X, y = _data()
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, normalization=normalization,
                              dropout_keep_ratio=keep, reg=reg, weight_scale=5e-2,
                              dtype=np.float64, seed=0)  # fmt: skip
    if keep < 1:
        model.dropout_param["seed"] = 123  # the same masks on every call
    loss, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(
            lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-5
        )
        if normalization == "batchnorm" and name in ("b1", "b2"):
            # Batch norm subtracts the batch mean, so a bias before it has no effect at all.
            assert np.abs(grads[name]).max() < 1e-8 and np.abs(numeric).max() < 1e-6
            continue
        err = rel_error(numeric, grads[name])
        # Batch norm couples the examples: a ReLU kink of one moves the others' gradients, and
        # the centred difference sees more kinks (CS231n accepts up to 1e-4 there too).
        tolerance = 1e-4 if normalization == "batchnorm" else 1e-5
        assert err < tolerance, f"{name}: {err:.1e} ({normalization}, keep {keep}, reg {reg})"


def test_initial_loss_is_about_log_c_and_reg_adds_to_it():
    X, y = _data(1)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=1e-3, seed=0)
    loss, _ = model.loss(X, y)
    assert abs(loss - np.log(C)) < 0.01
    model.reg = 1.0
    expected = loss + 0.5 * sum(np.sum(model.params[f"W{i}"] ** 2) for i in (1, 2, 3))
    assert model.loss(X, y)[0] == pytest.approx(expected, rel=1e-5)


def test_params_of_a_deep_net_and_dtype():
    model = FullyConnectedNet([7, 6, 5, 4], input_dim=8, num_classes=3,
                              normalization="batchnorm", seed=1)  # fmt: skip
    assert model.num_layers == 5
    assert model.params["W1"].shape == (8, 7) and model.params["W5"].shape == (4, 3)
    assert "gamma4" in model.params and "gamma5" not in model.params
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert len(model.bn_params) == 4


def test_the_seed_fixes_the_weights():
    a = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=7).params["W1"]
    b = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=7).params["W1"]
    c = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=8).params["W1"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_masks_follow_the_seed_and_vanish_at_test_time():
    X, y = _data(2)

    def two_losses(seed):
        model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=0.5,
                                  dropout_keep_ratio=0.5, dtype=np.float64, seed=seed)  # fmt: skip
        return model.loss(X, y)[0], model.loss(X, y)[0], model

    first, second, model = two_losses(4)
    assert first != second  # a new mask on every training step ...
    assert two_losses(4)[:2] == (first, second)  # ... and the same sequence from the same seed
    scores = model.loss(X)
    np.testing.assert_array_equal(scores, model.loss(X))  # test mode: no dropout
    assert model.dropout_param["mode"] == "test"


def test_batchnorm_running_averages_move_only_in_training():
    X, y = _data(3)
    model = FullyConnectedNet([H1], input_dim=D, num_classes=C, normalization="batchnorm",
                              dtype=np.float64, seed=0)  # fmt: skip
    model.loss(X, y)
    mean = model.bn_params[0]["running_mean"].copy()
    model.loss(X)
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], mean)
    model.loss(X, y)
    assert not np.array_equal(model.bn_params[0]["running_mean"], mean)


def test_a_deep_batchnorm_net_overfits_a_small_set():
    r = np.random.default_rng(5)
    data = {"X_train": r.standard_normal((40, 20)), "y_train": r.integers(5, size=40)}
    data |= {"X_val": data["X_train"][:10], "y_val": data["y_train"][:10]}
    model = FullyConnectedNet([30, 30, 30, 30], input_dim=20, num_classes=5,
                              normalization="batchnorm", weight_scale=0.1, seed=0)  # fmt: skip
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    batch_size=20, num_epochs=30, verbose=False, progress=False,
                    seed=0)  # fmt: skip
    solver.train()
    assert solver.train_acc_history[-1] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"normalization": "groupnorm"}, "normalization must be None, 'batchnorm' or 'layernorm'"),
        ({"dropout_keep_ratio": 0}, r"must be in \(0, 1\], got 0"),
        ({"dropout_keep_ratio": 1.2}, "got 1.2"),
        ({"hidden_dims": [10, 0]}, r"hidden_dims\[1\] must be a positive integer, got 0"),
        ({"reg": -1}, "reg must be >= 0"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    kwargs = {"hidden_dims": [10], "input_dim": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        FullyConnectedNet(**kwargs)


# ---- the self-checks catch the classic mistakes ----------------------------------------------


def test_batchnorm_check_catches_test_statistics_in_training(monkeypatch, capsys):
    real = layers.batchnorm_forward

    def uses_running_stats(x, gamma, beta, bn_param):
        return real(x, gamma, beta, dict(bn_param, mode="test"))

    monkeypatch.setattr(layers, "batchnorm_forward", uses_running_stats)
    with pytest.raises(CheckFailed):
        check("batchnorm_forward")
    assert "the batch's own statistics" in capsys.readouterr().out


def test_dropout_check_catches_dropout_that_is_not_inverted(monkeypatch, capsys):
    real = layers.dropout_forward

    def not_inverted(x, dropout_param):
        out, cache = real(x, dropout_param)
        return out * dropout_param["p"] if dropout_param["mode"] == "train" else out, cache

    monkeypatch.setattr(layers, "dropout_forward", not_inverted)
    with pytest.raises(CheckFailed):
        check("dropout_forward")
    assert "kept units are divided by p" in capsys.readouterr().out


def test_dropout_check_catches_p_as_drop_probability(monkeypatch):
    real = layers.dropout_forward
    monkeypatch.setattr(
        layers, "dropout_forward",
        lambda x, param: real(x, dict(param, p=1 - param["p"]) if param["p"] < 1 else param),
    )  # fmt: skip
    assert any("fraction p" in p for p in run("dropout_forward").problems)


def test_batchnorm_backward_check_catches_a_missing_path(monkeypatch):
    def only_direct_path(dout, cache):
        x, x_hat, mu, var, gamma, beta, eps = cache
        return dout * gamma / np.sqrt(var + eps), (dout * x_hat).sum(0), dout.sum(0)

    monkeypatch.setattr(layers, "batchnorm_backward", only_direct_path)
    problems = run("batchnorm_backward").problems
    assert any("dx sums to 0" in p for p in problems) and any(p.startswith("dx:") for p in problems)


def test_norm_checks_fingerprint_the_same_for_the_same_seed():
    for name in ("batchnorm_forward", "dropout_forward", "fc_net_dropout",
                 "spatial_groupnorm_backward"):  # fmt: skip
        a = run(name, mode="grading", seed=21).lines
        assert a == run(name, mode="grading", seed=21).lines, name
        assert a != run(name, mode="grading", seed=22).lines, name


@pytest.mark.parametrize("seed", [3, 4])
def test_grading_fingerprints_expose_the_classic_mistakes(monkeypatch, seed):
    """What the grader compares: wrong implementations print different fingerprints than the
    solution under a hidden seed (the full-submission hostile corpus covers kNN only)."""
    bn_ok = run("batchnorm_forward", mode="grading", seed=seed).lines
    drop_ok = run("dropout_forward", mode="grading", seed=seed).lines
    real_bn, real_drop = layers.batchnorm_forward, layers.dropout_forward
    with monkeypatch.context() as m:
        m.setattr(layers, "batchnorm_forward",
                  lambda x, g, b, p: real_bn(x, g, b, dict(p, mode="test")))  # fmt: skip
        assert run("batchnorm_forward", mode="grading", seed=seed).lines != bn_ok
    with monkeypatch.context() as m:

        def not_inverted(x, param):
            out, cache = real_drop(x, param)
            return (out * param["p"] if param["mode"] == "train" else out), cache

        m.setattr(layers, "dropout_forward", not_inverted)
        assert run("dropout_forward", mode="grading", seed=seed).lines != drop_ok
