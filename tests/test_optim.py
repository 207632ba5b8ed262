"""Update rules against values worked out by hand from their update equations."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib import optim


def frozen(*values):
    out = []
    for v in values:
        a = np.array(v, dtype=np.float64)
        a.setflags(write=False)
        out.append(a)
    return out


def test_sgd_by_hand():
    w, dw = frozen([1.0, -2.0], [0.5, 0.25])
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.1})
    np.testing.assert_allclose(next_w, [0.95, -2.025])
    assert config == {"learning_rate": 0.1}


def test_sgd_momentum_by_hand():
    w, dw, v = frozen([1.0], [0.5], [0.2])
    # v = 0.9 * 0.2 - 0.1 * 0.5 = 0.13;  w = 1 + 0.13
    w1, config = optim.sgd_momentum(w, dw, {"learning_rate": 0.1, "velocity": v})
    np.testing.assert_allclose(w1, [1.13])
    np.testing.assert_allclose(config["velocity"], [0.13])
    # v = 0.9 * 0.13 - 0.1 * (-1) = 0.217;  w = 1.13 + 0.217
    w2, config = optim.sgd_momentum(w1, np.array([-1.0]), config)
    np.testing.assert_allclose(w2, [1.347])
    np.testing.assert_allclose(config["velocity"], [0.217])
    assert config["momentum"] == 0.9


def test_sgd_momentum_defaults():
    # Fresh config: v = 0.9 * 0 - 1e-2 * 0.5 = -0.005.
    w1, config = optim.sgd_momentum(*frozen([1.0], [0.5]))
    np.testing.assert_allclose(w1, [0.995])
    assert config["learning_rate"] == 1e-2 and config["momentum"] == 0.9


def test_rmsprop_by_hand():
    w, dw = frozen([1.0], [2.0])
    # cache = 0.99 * 0 + 0.01 * 2**2 = 0.04; step = 0.01 * 2 / (0.2 + 1e-8)
    w1, config = optim.rmsprop(w, dw, None)
    np.testing.assert_allclose(config["cache"], [0.04])
    np.testing.assert_allclose(w1, [1 - 0.02 / (0.2 + 1e-8)], rtol=1e-14)
    # cache = 0.99 * 0.04 + 0.01 * 1**2 = 0.0496
    w2, config = optim.rmsprop(w1, np.array([1.0]), config)
    np.testing.assert_allclose(config["cache"], [0.0496])
    np.testing.assert_allclose(w2, w1 - 0.01 / (np.sqrt(0.0496) + 1e-8), rtol=1e-14)
    assert (config["learning_rate"], config["decay_rate"], config["epsilon"]) == (1e-2, 0.99, 1e-8)


def test_adam_by_hand():
    w, dw = frozen([1.0], [2.0])
    # t = 1: m = 0.1 * 2 = 0.2, v = 0.001 * 4 = 0.004, m_hat = 0.2 / 0.1 = 2,
    # v_hat = 0.004 / 0.001 = 4, step = 1e-3 * 2 / (2 + 1e-8)
    w1, config = optim.adam(w, dw)
    assert config["t"] == 1
    np.testing.assert_allclose(config["m"], [0.2])
    np.testing.assert_allclose(config["v"], [0.004])
    np.testing.assert_allclose(w1, [1 - 2e-3 / (2 + 1e-8)], rtol=1e-14)
    # t = 2, dw = -1: m = 0.9 * 0.2 - 0.1 = 0.08, v = 0.999 * 0.004 + 0.001 = 0.004996,
    # m_hat = 0.08 / (1 - 0.9**2) = 0.08 / 0.19,
    # v_hat = 0.004996 / (1 - 0.999**2) = 0.004996 / 0.001999
    w2, config = optim.adam(w1, np.array([-1.0]), config)
    assert config["t"] == 2
    np.testing.assert_allclose(config["m"], [0.08])
    np.testing.assert_allclose(config["v"], [0.004996])
    step = 1e-3 * (0.08 / 0.19) / (np.sqrt(0.004996 / 0.001999) + 1e-8)
    np.testing.assert_allclose(w2, w1 - step, rtol=1e-13)


def test_adam_defaults():
    _, config = optim.adam(*frozen([0.0], [1.0]))
    assert {k: config[k] for k in ("learning_rate", "beta1", "beta2", "epsilon")} == {
        "learning_rate": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-8,
    }


@pytest.mark.parametrize("name", sorted(optim.UPDATE_RULES))
def test_rules_leave_inputs_and_callers_config_alone(name):
    rule = optim.UPDATE_RULES[name]
    rng = np.random.default_rng(0)
    w, dw = frozen(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))
    _, config = rule(w, dw, {"learning_rate": 0.1})  # read-only w, dw: no in-place writes
    state = {k: v for k, v in config.items() if isinstance(v, np.ndarray)}
    for v in state.values():
        v.setflags(write=False)
    snapshot = dict(config)
    next_w, new_config = rule(w, dw, config)
    assert config == snapshot  # the caller's dict still holds the old state
    assert next_w.shape == w.shape
    assert new_config is not config


@pytest.mark.parametrize("name", sorted(optim.UPDATE_RULES))
def test_unknown_config_key_names_the_valid_ones(name):
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['learning_rat'\]; valid"):
        optim.UPDATE_RULES[name](np.zeros(2), np.zeros(2), {"learning_rat": 0.1})


@pytest.mark.parametrize("name", sorted(optim.UPDATE_RULES))
def test_rules_descend_a_quadratic(name):
    # f(w) = 0.5 * |w|^2 has gradient w: every rule must shrink |w| over a few hundred steps.
    w, config = np.array([3.0, -2.0]), {"learning_rate": 0.05}
    for _ in range(300):
        w, config = optim.UPDATE_RULES[name](w, w, config)
    assert np.linalg.norm(w) < 0.1, f"{name}: |w| = {np.linalg.norm(w)}"
