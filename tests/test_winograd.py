"""The Winograd path of the fast layers (cs231n_lib/winograd.py): equal to the naive layers,
exact on integers with pool ties, the same bits whatever the threads, and taken only where
it applies."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import BLOCKED_SHAPES, frozen

from cs231n_lib import threads, winograd
from cs231n_lib.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    conv_relu_pool_backward_fast,
    conv_relu_pool_forward_fast,
)
from cs231n_lib.gradient_check import eval_numerical_gradient_array
from cs231n_lib.layers import (
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)

SAME = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def case(x_shape, F, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    C = x_shape[1]
    return frozen(
        rng.standard_normal(x_shape).astype(dtype),
        rng.standard_normal((F, C, 3, 3)).astype(dtype),
        rng.standard_normal(F).astype(dtype),
    )


def relative(a, b):
    """Whole-array relative error (entries near 0 would inflate an entry-by-entry one)."""
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_the_one_dimensional_identity():
    # F(2, 3): the two outputs of a 3-tap correlation from four products.
    rng = np.random.default_rng(1)
    for _ in range(5):
        d, g = rng.standard_normal(4), rng.standard_normal(3)
        y = winograd.A_T @ ((winograd.G @ g) * (winograd.B_T @ d))
        np.testing.assert_allclose(y, [d[:3] @ g, d[1:] @ g], rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize(
    "x_shape, F",
    [((3, 16, 8, 8), 32), ((1, 16, 8, 8), 32), ((2, 24, 6, 12), 40), ((5, 32, 4, 16), 64)],
)
def test_conv_forward_fast_by_winograd_equals_the_naive_layer(x_shape, F):
    x, w, b = case(x_shape, F)
    out, cache = conv_forward_fast(x, w, b, SAME)
    assert isinstance(cache[4], tuple)  # the path under test was taken: blocks of Tiles
    expected, naive_cache = conv_forward_naive(x, w, b, SAME)
    assert out.shape == expected.shape and out.dtype == np.float64
    assert relative(out, expected) < 1e-14
    (dout,) = frozen(np.random.default_rng(2).standard_normal(expected.shape))
    for name, g, g_ref in zip(("dx", "dw", "db"), conv_backward_fast(dout, cache),
                              conv_backward_naive(dout, naive_cache), strict=True):  # fmt: skip
        assert g.shape == g_ref.shape and g.dtype == np.float64, name
        assert relative(g, g_ref) < 1e-14, name
    dx, dw, db = conv_backward_fast(dout, cache, compute_dx=False)
    assert dx is None and relative(dw, conv_backward_naive(dout, naive_cache)[1]) < 1e-14


def test_float32_stays_float32_and_is_as_close_as_im2col(monkeypatch):
    x, w, b = case((4, 32, 8, 8), 64, np.float32, seed=3)
    x64, w64, b64 = (a.astype(np.float64) for a in (x, w, b))
    expected = conv_forward_naive(x64, w64, b64, SAME)[0]
    out, cache = conv_forward_fast(x, w, b, SAME)
    assert out.dtype == np.float32 and isinstance(cache[4], tuple)
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 10**9)  # the im2col path, for comparison
    out_im2col, cache_im2col = conv_forward_fast(x, w, b, SAME)
    assert isinstance(cache_im2col[4], np.ndarray)
    error, error_im2col = relative(out, expected), relative(out_im2col, expected)
    assert error < 1e-6 and error < 4 * error_im2col, (error, error_im2col)


def integers(x_shape, F, seed):
    """Small integers: every product and sum is exact in float64 (U has quarters at most)."""
    rng = np.random.default_rng(seed)
    C = x_shape[1]
    return frozen(rng.integers(-2, 3, size=x_shape).astype(np.float64),
                  rng.integers(-1, 2, size=(F, C, 3, 3)).astype(np.float64),
                  rng.integers(-1, 2, size=F).astype(np.float64))  # fmt: skip


@pytest.mark.parametrize("N", [3, 8], ids=["whole-batch", "blocks-of-images"])
def test_fused_layer_equals_the_naive_layers_exactly_with_ties(monkeypatch, N):
    # Integer data: Winograd's sums are exact, so the naive and fast pipelines see the same
    # numbers and must pick the same (first) maximum in every window, ties (many) included.
    monkeypatch.setattr(threads, "MIN_SIZE", 1)  # blocks of images even at these sizes
    x, w, b = integers((N, 16, 8, 8), 32, seed=N)
    out, cache = conv_relu_pool_forward_fast(x, w, b, SAME, POOL)
    assert cache[0][5] == "winograd" and len(cache[0][4]) == min(N, 2)
    a, conv_cache = conv_forward_naive(x, w, b, SAME)
    r = np.maximum(a, 0)
    expected, pool_cache = max_pool_forward_naive(r, POOL)
    windows = r.reshape(N, 32, 4, 2, 4, 2)
    maxima = (windows == expected[:, :, :, None, :, None]).sum(axis=(3, 5))
    assert (maxima > 1).mean() > 0.05  # windows whose maximum appears twice or more: ties
    np.testing.assert_array_equal(out, expected)
    (dout,) = frozen(np.random.default_rng(7).integers(-3, 4, size=out.shape).astype(np.float64))
    da = max_pool_backward_naive(dout, pool_cache) * (a > 0)
    for name, g, g_ref in zip(("dx", "dw", "db"), conv_relu_pool_backward_fast(dout, cache),
                              conv_backward_naive(da, conv_cache), strict=True):  # fmt: skip
        np.testing.assert_array_equal(g, g_ref, err_msg=name)


def test_fused_layer_numerical_gradients():
    x, w, b = case((1, 16, 8, 8), 32, seed=5)
    x, w, b = x.copy(), w.copy(), b.copy()  # the numerical gradient nudges them in place

    def forward(x, w, b):
        return conv_relu_pool_forward_fast(x, w, b, SAME, POOL)

    out, cache = forward(x, w, b)
    assert cache[0][5] == "winograd"
    dout = np.random.default_rng(6).standard_normal(out.shape)
    grads = conv_relu_pool_backward_fast(dout, cache)
    numeric = (
        eval_numerical_gradient_array(lambda v: forward(v, w, b)[0], x, dout),
        eval_numerical_gradient_array(lambda v: forward(x, v, b)[0], w, dout),
        eval_numerical_gradient_array(lambda v: forward(x, w, v)[0], b, dout),
    )
    for name, g, g_num in zip(("dx", "dw", "db"), grads, numeric, strict=True):
        assert relative(g, g_num) < 1e-8, name


@pytest.mark.parametrize("name", ["conv2-like", "conv3-like", "conv3-like-odd-batch"])
def test_the_blocked_bits_test_covers_the_winograd_path(name):
    # tests/test_fast_layers.py holds the fused layer in blocks of images to the same bits with
    # 1-3 layer threads and 1-2 BLAS threads, and to the composed layers' (out and dx); on
    # these of its shapes, the path it holds is this one, in two blocks.
    x_shape, w_shape = BLOCKED_SHAPES[name]
    x, w, b = case(x_shape, w_shape[0], np.float32, seed=8)
    _, cache = conv_relu_pool_forward_fast(x, w, b, SAME, POOL)
    assert cache[0][5] == "winograd" and len(cache[0][4]) == 2  # blocks of images
    _, cache = conv_forward_fast(x, w, b, SAME)
    assert isinstance(cache[4], tuple) and len(cache[4]) == 2  # the same blocks, composed


def test_a_stack_of_winograd_layers_reads_its_input_without_a_copy():
    x, w1, b1 = case((4, 16, 16, 16), 32, np.float32, seed=10)
    _, w2, b2 = case((4, 32, 8, 8), 64, np.float32, seed=11)
    h, cache1 = conv_relu_pool_forward_fast(x, w1, b1, SAME, POOL)
    assert h.transpose(2, 3, 0, 1).flags["C_CONTIGUOUS"]  # pixel-major, as the next one reads
    out, cache2 = conv_relu_pool_forward_fast(h, w2, b2, SAME, POOL)
    out_c, _ = conv_relu_pool_forward_fast(np.ascontiguousarray(h), w2, b2, SAME, POOL)
    np.testing.assert_array_equal(out, out_c)  # any input layout, the same numbers
    dh = conv_relu_pool_backward_fast(np.ones_like(out), cache2)[0]
    dx = conv_relu_pool_backward_fast(dh, cache1)[0]
    dx_c = conv_relu_pool_backward_fast(np.ascontiguousarray(dh), cache1)[0]
    np.testing.assert_array_equal(dx, dx_c)


@pytest.mark.parametrize(
    "x_shape, w_shape, conv_param, dtype",
    [
        ((2, 16, 8, 8), (32, 16, 3, 3), {"stride": 2, "pad": 1}, np.float64),  # stride 2
        ((2, 16, 8, 8), (32, 16, 3, 3), {"stride": 1, "pad": 0}, np.float64),  # not "same"
        ((2, 16, 8, 8), (32, 16, 5, 5), {"stride": 1, "pad": 2}, np.float64),  # 5x5
        ((2, 16, 7, 8), (32, 16, 3, 3), SAME, np.float64),  # odd height
        ((2, 8, 8, 8), (32, 8, 3, 3), SAME, np.float64),  # too few channels
        ((2, 16, 8, 8), (16, 16, 3, 3), SAME, np.float64),  # too few filters
        ((2, 64, 4, 4), (128, 64, 3, 3), SAME, np.float64),  # too small an image
        ((2, 16, 8, 8), (32, 16, 3, 3), SAME, np.int64),  # integers: im2col's business
    ],
    ids=["stride-2", "valid", "5x5", "odd-height", "few-channels", "few-filters", "4x4", "int"],
)
def test_the_path_is_taken_only_where_it_applies(x_shape, w_shape, conv_param, dtype):
    rng = np.random.default_rng(12)
    x = rng.integers(-2, 3, size=x_shape).astype(dtype)
    w = rng.integers(-1, 2, size=w_shape).astype(dtype)
    b = np.zeros(w_shape[0], dtype=dtype)
    _, cache = conv_forward_fast(x, w, b, conv_param)
    assert isinstance(cache[4], np.ndarray)  # im2col's columns
    assert not winograd.applies(x_shape, w_shape, conv_param["stride"], conv_param["pad"], dtype)


def test_filters_that_do_not_fit_get_the_usual_error():
    x, w, b = case((2, 16, 8, 8), 32)
    with pytest.raises(ValueError, match="filters have depth 8 but the input has depth 16"):
        conv_forward_fast(x, w[:, :8], b, SAME)


def test_against_torch_if_installed():
    # An outside reference: torch's float64 conv2d, ReLU and 2x2 max pool, forward and back.
    torch = pytest.importorskip("torch")
    x, w, b = case((3, 32, 8, 12), 64, seed=13)
    out, cache = conv_relu_pool_forward_fast(x, w, b, SAME, POOL)
    assert cache[0][5] == "winograd"
    (dout,) = frozen(np.random.default_rng(14).standard_normal(out.shape))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    functional = torch.nn.functional
    t_out = functional.max_pool2d(torch.relu(functional.conv2d(tx, tw, tb, padding=1)), 2)
    t_out.backward(torch.tensor(dout))
    assert relative(out, t_out.detach().numpy()) < 1e-14
    for name, g, t in zip(("dx", "dw", "db"), conv_relu_pool_backward_fast(dout, cache),
                          (tx, tw, tb), strict=True):  # fmt: skip
        assert relative(g, t.grad.numpy()) < 1e-13, name
