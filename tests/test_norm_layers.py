"""Batch/layer/group normalisation and dropout: numerical gradients, values worked by hand, a
plain-loop numpy reference, the naive twins, running averages, bad input, no in-place edits.

The comparison with PyTorch is in test_norm_layers_torch.py (skipped without torch)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import frozen

from cs231n_lib.gradient_check import eval_numerical_gradient_array, rel_error
from cs231n_lib.layers import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_backward_naive,
    spatial_batchnorm_forward,
    spatial_batchnorm_forward_naive,
    spatial_groupnorm_backward,
    spatial_groupnorm_backward_naive,
    spatial_groupnorm_forward,
    spatial_groupnorm_forward_naive,
)


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---- a plain-loop reference, written from the definitions ------------------------------------


def reference_normalise(x, axes_of_each_group, eps):
    """Normalise x by the mean and biased variance of each group, with explicit loops.

    ``axes_of_each_group`` lists the axes a group spans; the others index the groups."""
    x = np.asarray(x, dtype=np.float64)
    other = [a for a in range(x.ndim) if a not in axes_of_each_group]
    out = np.empty_like(x)
    for index in np.ndindex(*[x.shape[a] for a in other]):
        sl = [slice(None)] * x.ndim
        for a, i in zip(other, index, strict=True):
            sl[a] = i
        values = x[tuple(sl)].ravel()
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / len(values)
        out[tuple(sl)] = (x[tuple(sl)] - mean) / np.sqrt(var + eps)
    return out


def test_batchnorm_train_matches_the_loop_reference():
    x = _rng().standard_normal((7, 4)) * 5 + 3  # (N, D)
    gamma, beta = _rng(1).standard_normal(4), _rng(2).standard_normal(4)
    out, _ = batchnorm_forward(*frozen(x, gamma, beta), {"mode": "train", "eps": 1e-5})
    expected = gamma * reference_normalise(x, (0,), 1e-5) + beta
    assert rel_error(out, expected) < 1e-12


def test_layernorm_matches_the_loop_reference():
    x = _rng().standard_normal((5, 6)) * 2 - 1
    gamma, beta = _rng(1).standard_normal(6), _rng(2).standard_normal(6)
    out, _ = layernorm_forward(*frozen(x, gamma, beta), {"eps": 1e-5})
    assert rel_error(out, gamma * reference_normalise(x, (1,), 1e-5) + beta) < 1e-12


def test_spatial_norms_match_the_loop_reference():
    x = _rng().standard_normal((3, 6, 4, 5)) * 2 + 1
    gamma, beta = _rng(1).standard_normal(6), _rng(2).standard_normal(6)
    out, _ = spatial_batchnorm_forward(*frozen(x, gamma, beta), {"mode": "train"})
    expected = gamma[:, None, None] * reference_normalise(x, (0, 2, 3), 1e-5)
    assert rel_error(out, expected + beta[:, None, None]) < 1e-12
    out, _ = spatial_groupnorm_forward(*frozen(x, gamma, beta), 2, {"eps": 1e-5})
    grouped = reference_normalise(x.reshape(3, 2, 3, 4, 5), (2, 3, 4), 1e-5).reshape(x.shape)
    assert rel_error(out, gamma[:, None, None] * grouped + beta[:, None, None]) < 1e-12


# ---- values worked by hand ------------------------------------------------------------------


def test_batchnorm_by_hand():
    # Column 0 is [1, 3]: mean 2, biased variance 1, so x_hat = [-1, 1]. Column 1 is [0, 4]:
    # mean 2, variance 4, x_hat = [-1, 1] again. gamma = [2, 1], beta = [0, 10].
    x = np.array([[1.0, 0.0], [3.0, 4.0]])
    bn_param = {"mode": "train", "eps": 0.0, "momentum": 0.5}
    out, _ = batchnorm_forward(x, np.array([2.0, 1.0]), np.array([0.0, 10.0]), bn_param)
    np.testing.assert_allclose(out, [[-2.0, 9.0], [2.0, 11.0]], rtol=1e-12)
    # Running averages from 0 and 1 with momentum 0.5: mean [1, 1]; the unbiased variance
    # (N/(N-1) = 2 times the biased one: [2, 8]) gives 0.5 * 1 + 0.5 * [2, 8] = [1.5, 4.5].
    np.testing.assert_allclose(bn_param["running_mean"], [1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], [1.5, 4.5], rtol=1e-12)
    test_out, cache = batchnorm_forward(x, np.ones(2), np.zeros(2), dict(bn_param, mode="test"))
    assert cache is None
    np.testing.assert_allclose(test_out, (x - 1.0) / np.sqrt([1.5, 4.5]), rtol=1e-12)


def test_layernorm_and_groupnorm_by_hand():
    # One example [1, 2, 3, 4, 5]: mean 3, biased variance 2.
    x = np.arange(1.0, 6.0)[None]
    out, _ = layernorm_forward(x, np.ones(5), np.zeros(5), {"eps": 0.0})
    np.testing.assert_allclose(out, (x - 3) / np.sqrt(2), rtol=1e-12)
    # Group norm with G = 2 on channels [0, 0 | 1, 3] (one pixel each): group 0 has variance
    # 0, so it normalises to 0 (with eps); group 1 normalises to [-1, 1].
    xg = np.array([0.0, 0.0, 1.0, 3.0]).reshape(1, 4, 1, 1)
    out, _ = spatial_groupnorm_forward(xg, np.ones(4), np.zeros(4), 2, {"eps": 1e-12})
    np.testing.assert_allclose(out.ravel(), [0.0, 0.0, -1.0, 1.0], atol=1e-9)


def test_dropout_by_hand_and_inverted():
    x = np.full((400, 500), 3.0)
    out, (_, mask) = dropout_forward(x, {"mode": "train", "p": 0.25, "seed": 7})
    assert set(np.unique(out)) == {0.0, 12.0}  # kept units are divided by p = 0.25
    assert abs(np.mean(out != 0) - 0.25) < 0.01
    assert abs(out.mean() - 3.0) < 0.05  # the expected output equals x
    np.testing.assert_array_equal(mask, out / 3.0)
    again, _ = dropout_forward(x, {"mode": "train", "p": 0.25, "seed": 7})
    np.testing.assert_array_equal(out, again)  # the same int seed, the same mask
    test_out, _ = dropout_forward(x, {"mode": "test", "p": 0.25})
    np.testing.assert_array_equal(test_out, x)


def test_dropout_with_a_generator_gives_a_reproducible_sequence():
    x = np.ones((20, 30))
    first = [dropout_forward(x, {"mode": "train", "p": 0.5, "seed": g})[0]
             for g in [np.random.default_rng(3)] * 2]  # fmt: skip
    gen = np.random.default_rng(3)
    second = [dropout_forward(x, {"mode": "train", "p": 0.5, "seed": gen})[0] for _ in range(2)]
    assert not np.array_equal(first[0], first[1])  # a generator advances between calls
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_dropout_keeps_float32():
    x = np.ones((4, 5), dtype=np.float32)
    out, cache = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 0})
    assert out.dtype == np.float32
    assert dropout_backward(np.ones_like(x), cache).dtype == np.float32


# ---- numerical gradients (float64) ----------------------------------------------------------


def _numeric(f, arrays, name, dout):
    return eval_numerical_gradient_array(
        lambda v: f(**{**arrays, name: v})[0], arrays[name].copy(), dout
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batchnorm_gradients(seed):
    r = _rng(seed)
    N, D = 5, 4
    arrays = {"x": r.standard_normal((N, D)) * 4 + 10, "gamma": r.standard_normal(D),
              "beta": r.standard_normal(D)}  # fmt: skip
    dout = r.standard_normal((N, D))

    def f(x, gamma, beta):
        return batchnorm_forward(x, gamma, beta, {"mode": "train"})

    _, cache = f(**arrays)
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        dx, dgamma, dbeta = backward(*frozen(dout), cache)
        for name, got in (("x", dx), ("gamma", dgamma), ("beta", dbeta)):
            err = rel_error(got, _numeric(f, arrays, name, dout))
            assert err < 1e-7, f"{backward.__name__} d{name}: {err:.1e} (seed {seed})"


@pytest.mark.parametrize("seed", [0, 1])
def test_layernorm_gradients(seed):
    r = _rng(seed)
    arrays = {"x": r.standard_normal((4, 6)) * 3 + 2, "gamma": r.standard_normal(6),
              "beta": r.standard_normal(6)}  # fmt: skip
    dout = r.standard_normal((4, 6))

    def f(x, gamma, beta):
        return layernorm_forward(x, gamma, beta, {})

    dx, dgamma, dbeta = layernorm_backward(*frozen(dout), f(**arrays)[1])
    for name, got in (("x", dx), ("gamma", dgamma), ("beta", dbeta)):
        assert rel_error(got, _numeric(f, arrays, name, dout)) < 1e-7, (name, seed)


@pytest.mark.parametrize(("G", "gamma_shape"), [(1, (6,)), (3, (1, 6, 1, 1)), (6, (6,))])
def test_groupnorm_gradients(G, gamma_shape):
    r = _rng(G)
    arrays = {"x": r.standard_normal((2, 6, 3, 4)) + 1, "gamma": r.standard_normal(gamma_shape),
              "beta": r.standard_normal(gamma_shape)}  # fmt: skip
    dout = r.standard_normal((2, 6, 3, 4))

    def f(x, gamma, beta):
        return spatial_groupnorm_forward(x, gamma, beta, G, {})

    dx, dgamma, dbeta = spatial_groupnorm_backward(*frozen(dout), f(**arrays)[1])
    assert dgamma.shape == dbeta.shape == gamma_shape
    for name, got in (("x", dx), ("gamma", dgamma), ("beta", dbeta)):
        assert rel_error(got, _numeric(f, arrays, name, dout)) < 1e-7, (name, G)


def test_spatial_batchnorm_gradients():
    r = _rng(4)
    arrays = {"x": r.standard_normal((2, 3, 4, 5)) * 2 + 5, "gamma": r.standard_normal(3),
              "beta": r.standard_normal(3)}  # fmt: skip
    dout = r.standard_normal((2, 3, 4, 5))

    def f(x, gamma, beta):
        return spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})

    dx, dgamma, dbeta = spatial_batchnorm_backward(*frozen(dout), f(**arrays)[1])
    for name, got in (("x", dx), ("gamma", dgamma), ("beta", dbeta)):
        assert rel_error(got, _numeric(f, arrays, name, dout)) < 1e-7, name


def test_dropout_gradient():
    r = _rng(5)
    x, dout = r.standard_normal((10, 8)) + 10, r.standard_normal((10, 8))
    param = {"mode": "train", "p": 0.3, "seed": 11}
    _, cache = dropout_forward(x, param)
    dx = dropout_backward(*frozen(dout), cache)
    numeric = eval_numerical_gradient_array(lambda v: dropout_forward(v, param)[0], x, dout)
    assert rel_error(dx, numeric) < 1e-9
    _, test_cache = dropout_forward(x, {"mode": "test", "p": 0.3})
    np.testing.assert_array_equal(dropout_backward(dout, test_cache), dout)


# ---- naive twins == vectorised versions (randomised shapes) ---------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_spatial_batchnorm_equals_its_naive_twin(seed):
    r = _rng(seed)
    N, C, H, W = (int(v) for v in r.integers(2, 6, size=4))
    x = r.standard_normal((N, C, H, W)) * 3 + 1
    gamma, beta, dout = r.standard_normal(C), r.standard_normal(C), r.standard_normal(x.shape)
    config = f"N, C, H, W = {N, C, H, W}, seed {seed}"
    fast_param, naive_param = {"mode": "train"}, {"mode": "train"}
    for _ in range(2):  # two steps: the running averages must agree too
        out, cache = spatial_batchnorm_forward(x, gamma, beta, fast_param)
        out_n, cache_n = spatial_batchnorm_forward_naive(x, gamma, beta, naive_param)
    assert rel_error(out, out_n) < 1e-12, config
    for a, b in zip(spatial_batchnorm_backward(dout, cache),
                    spatial_batchnorm_backward_naive(dout, cache_n), strict=True):  # fmt: skip
        assert rel_error(a, b) < 1e-10, config
    for key in ("running_mean", "running_var"):
        assert rel_error(fast_param[key], naive_param[key]) < 1e-12, (key, config)
    fast_param["mode"] = naive_param["mode"] = "test"
    test_fast, _ = spatial_batchnorm_forward(x, gamma, beta, fast_param)
    test_naive, _ = spatial_batchnorm_forward_naive(x, gamma, beta, naive_param)
    assert rel_error(test_fast, test_naive) < 1e-12, config


@pytest.mark.parametrize("seed", range(4))
def test_spatial_groupnorm_equals_its_naive_twin(seed):
    r = _rng(seed)
    G = int(r.integers(1, 4))
    N, C, H, W = (
        int(r.integers(1, 4)),
        G * int(r.integers(1, 4)),
        *(int(v) for v in r.integers(1, 6, size=2)),
    )
    x = r.standard_normal((N, C, H, W)) * 2 - 1
    gamma, beta, dout = r.standard_normal(C), r.standard_normal(C), r.standard_normal(x.shape)
    out, cache = spatial_groupnorm_forward(x, gamma, beta, G, {})
    out_n, cache_n = spatial_groupnorm_forward_naive(x, gamma, beta, G, {})
    config = f"N, C, H, W, G = {N, C, H, W, G}, seed {seed}"
    assert rel_error(out, out_n) < 1e-12, config
    for a, b in zip(spatial_groupnorm_backward(dout, cache),
                    spatial_groupnorm_backward_naive(dout, cache_n), strict=True):  # fmt: skip
        assert rel_error(a, b) < 1e-10, config


# ---- running averages, inputs left alone ----------------------------------------------------


def test_running_averages_converge_to_the_data_statistics():
    r = _rng(6)
    bn_param = {"mode": "train", "momentum": 0.9}
    gamma, beta = np.ones(3), np.zeros(3)
    for _ in range(200):
        batch = r.standard_normal((64, 3)) * [1.0, 2.0, 3.0] + [5.0, -1.0, 0.0]
        batchnorm_forward(batch, gamma, beta, bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], [5.0, -1.0, 0.0], atol=0.3)
    np.testing.assert_allclose(bn_param["running_var"], [1.0, 4.0, 9.0], rtol=0.15)


def test_bn_param_arrays_are_replaced_not_modified():
    mean, var = np.zeros(2), np.ones(2)
    bn_param = {"mode": "train", "running_mean": mean, "running_var": var}
    batchnorm_forward(np.array([[1.0, 2.0], [3.0, 5.0]]), np.ones(2), np.zeros(2), bn_param)
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(var, 1.0)
    assert bn_param["running_mean"] is not mean and np.any(bn_param["running_mean"])


def test_no_input_is_modified():
    r = _rng(7)
    x, gamma, beta = frozen(r.standard_normal((4, 3)), r.standard_normal(3), r.standard_normal(3))
    dout = frozen(r.standard_normal((4, 3)))[0]
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    batchnorm_backward(dout, cache)
    batchnorm_backward_alt(dout, cache)
    _, cache = layernorm_forward(x, gamma, beta, {})
    layernorm_backward(dout, cache)
    _, cache = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 0})
    dropout_backward(dout, cache)
    x4 = frozen(r.standard_normal((2, 4, 3, 3)))[0]
    d4 = frozen(r.standard_normal((2, 4, 3, 3)))[0]
    g4, b4 = frozen(r.standard_normal(4), r.standard_normal(4))
    _, cache = spatial_batchnorm_forward(x4, g4, b4, {"mode": "train"})
    spatial_batchnorm_backward(d4, cache)
    _, cache = spatial_groupnorm_forward(x4, g4, b4, 2, {})
    spatial_groupnorm_backward(d4, cache)


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {"mode": "eval"}),
         "mode must be 'train' or 'test', got 'eval'"),
        (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {}),
         "mode must be 'train' or 'test', got None"),
        (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(4), np.zeros(3), {"mode": "train"}),
         r"gamma must have shape \(3,\), one value per feature; got shape \(4,\)"),
        (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros((1, 3)), {"mode": "test"}),
         r"beta must have shape \(3,\)"),
        (lambda: batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), {"mode": "train"}),
         "at least 2 examples, got N = 1"),
        (lambda: layernorm_forward(np.ones((4, 3)), np.ones(2), np.zeros(3), {}),
         r"gamma must have shape \(3,\)"),
        (lambda: dropout_forward(np.ones(3), {"mode": "train", "p": 0.0}),
         r"must be in \(0, 1\], got 0.0"),
        (lambda: dropout_forward(np.ones(3), {"mode": "train", "p": 1.5}), "got 1.5"),
        (lambda: dropout_forward(np.ones(3), {"mode": "train"}), "got None"),
        (lambda: dropout_forward(np.ones(3), {"mode": "Train", "p": 0.5}), "got 'Train'"),
        (lambda: dropout_forward(np.ones(3), {"mode": "train", "p": 0.5, "seed": "1"}),
         "must be None, an int or a numpy.random.Generator"),
        (lambda: spatial_batchnorm_forward(np.ones((2, 3, 2, 2)), np.ones(2), np.zeros(2),
                                           {"mode": "train"}), "one value per channel"),
        (lambda: spatial_groupnorm_forward(np.ones((2, 6, 2, 2)), np.ones(6), np.zeros(6), 4, {}),
         "positive divisor of the C = 6 channels, got G = 4"),
        (lambda: spatial_groupnorm_forward(np.ones((2, 6, 2, 2)), np.ones(3), np.zeros(6), 3, {}),
         r"\(6,\) or \(1, 6, 1, 1\)"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_batch_of_one_is_fine_at_test_time():
    out, _ = batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), {"mode": "test"})
    assert out.shape == (1, 3)
