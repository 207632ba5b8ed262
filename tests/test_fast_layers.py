"""Fast (im2col) conv and pool layers against the naive ones on seeded random shapes.

Every comparison names the configuration it ran, so a failure says which shape broke.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import frozen

from cs231n_lib import fast_layers, im2col
from cs231n_lib.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from cs231n_lib.gradient_check import rel_error
from cs231n_lib.im2col import col2im
from cs231n_lib.im2col import im2col as im2col_fn
from cs231n_lib.layers import (
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)


def random_conv_configs(count, seed):
    """Conv configurations whose output sizes are integers: stride 1-3, pad 0-2, any shape."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        HH, WW = (int(v) for v in rng.integers(1, 6, size=2))
        stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        H = HH - 2 * pad + stride * int(rng.integers(0, 5))
        W = WW - 2 * pad + stride * int(rng.integers(0, 5))
        if H >= 1 and W >= 1:
            configs.append(((N, C, H, W), (F, C, HH, WW), stride, pad))
    return configs


def scaled_error(x, y) -> float:
    """Largest absolute difference relative to the largest magnitude in the two arrays."""
    return float(np.max(np.abs(x - y)) / max(1e-8, np.max(np.abs(x)), np.max(np.abs(y))))


CONV_CONFIGS = random_conv_configs(40, seed=0) + [
    ((2, 3, 31, 31), (4, 3, 3, 3), 2, 1),  # CS231n's benchmark layout, smaller
    ((1, 2, 28, 31), (2, 2, 5, 5), 3, 2),  # the lecture's (28, 31) example -> 10 x 11
    ((2, 3, 8, 8), (3, 3, 1, 1), 1, 0),  # 1x1 convolution
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_fast_equals_naive_on_random_shapes(dtype):
    rng = np.random.default_rng(1)
    if dtype == np.float64:
        tol, differ = 1e-10, rel_error
    else:
        # float32 sums of ~100 terms of size ~1 carry absolute errors of ~1e-6 in *either*
        # summation order, so an entry that cancels to ~1e-3 has an elementwise relative error
        # of ~1e-3 in the naive loops themselves. Measure float32 against the array's scale.
        tol, differ = 1e-5, scaled_error
    for x_shape, w_shape, stride, pad in CONV_CONFIGS:
        config = f"x {x_shape}, w {w_shape}, stride {stride}, pad {pad}, {dtype.__name__}"
        x, w, b = frozen(
            rng.standard_normal(x_shape).astype(dtype),
            rng.standard_normal(w_shape).astype(dtype),
            rng.standard_normal(w_shape[0]).astype(dtype),
        )
        conv_param = {"stride": stride, "pad": pad}
        out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
        out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
        assert out_fast.dtype == dtype, config
        assert out_fast.shape == out_naive.shape, config
        assert differ(out_naive, out_fast) < tol, config
        (dout,) = frozen(rng.standard_normal(out_naive.shape).astype(dtype))
        naive = conv_backward_naive(dout, cache_naive)
        fast = conv_backward_fast(dout, cache_fast)
        for name, g_naive, g_fast in zip(("dx", "dw", "db"), naive, fast, strict=True):
            assert g_fast.dtype == dtype, f"{name}: {config}"
            assert g_fast.shape == g_naive.shape, f"{name}: {config}"
            assert differ(g_naive, g_fast) < tol * 10, f"{name}: {config}"


def random_pool_configs(count, seed):
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(count):
        N, C = (int(v) for v in rng.integers(1, 4, size=2))
        ph, pw = (int(v) for v in rng.integers(1, 4, size=2))
        stride = int(rng.integers(1, 4))
        H = ph + stride * int(rng.integers(0, 5))
        W = pw + stride * int(rng.integers(0, 5))
        configs.append(((N, C, H, W), ph, pw, stride))
    return configs


POOL_CONFIGS = random_pool_configs(30, seed=2) + [
    ((2, 3, 8, 8), 2, 2, 2),  # windows tile the input: the reshape path
    ((2, 3, 6, 9), 3, 3, 3),
    ((2, 2, 7, 7), 3, 3, 2),  # overlapping: the sliding-window path
    ((1, 2, 8, 8), 2, 2, 3),  # gaps between windows
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("relu", [False, True], ids=["random", "after-relu-ties"])
def test_max_pool_fast_equals_naive_on_random_shapes(dtype, relu):
    rng = np.random.default_rng(3)
    for shape, ph, pw, stride in POOL_CONFIGS:
        pool = {"pool_height": ph, "pool_width": pw, "stride": stride}
        config = f"x {shape}, pool {pool}, {dtype.__name__}, relu={relu}"
        x = rng.standard_normal(shape).astype(dtype)
        if relu:  # many windows of zeros: ties must go to the same (first) maximum
            x = np.maximum(x, 0)
        (x,) = frozen(x)
        out_naive, cache_naive = max_pool_forward_naive(x, pool)
        out_fast, cache_fast = max_pool_forward_fast(x, pool)
        assert out_fast.dtype == dtype, config
        np.testing.assert_array_equal(out_naive, out_fast, err_msg=config)
        (dout,) = frozen(rng.standard_normal(out_naive.shape).astype(dtype))
        dx_naive = max_pool_backward_naive(dout, cache_naive)
        dx_fast = max_pool_backward_fast(dout, cache_fast)
        assert dx_fast.dtype == dtype, config
        # Overlapping windows add in a different order: equal up to rounding.
        rtol = 1e-12 if dtype == np.float64 else 1e-6
        np.testing.assert_allclose(dx_fast, dx_naive, rtol=rtol, atol=rtol, err_msg=config)


def test_pool_fast_accepts_a_non_contiguous_input():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 2, 8, 8)).transpose(1, 0, 2, 3)  # (2, 4, 8, 8), a view
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = max_pool_forward_fast(x, pool)
    np.testing.assert_array_equal(out, max_pool_forward_naive(x, pool)[0])
    dout = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(
        max_pool_backward_fast(dout, cache),
        max_pool_backward_naive(dout, max_pool_forward_naive(x, pool)[1]),
    )


def test_im2col_layout_and_col2im_is_its_adjoint():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 6))
    HH, WW, stride, pad = 3, 2, 2, 1
    cols = im2col_fn(x, HH, WW, stride, pad)  # (C*HH*WW, N*H_out*W_out)
    H_out, W_out = (7 + 2 - 3) // 2 + 1, (6 + 2 - 2) // 2 + 1
    assert cols.shape == (3 * HH * WW, 2 * H_out * W_out)
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # cols[(c, a, b), (n, i, j)] = xpad[n, c, i*stride + a, j*stride + b]
    c, a, b, n, i, j = 2, 1, 0, 1, 2, 3
    row, col = (c * HH + a) * WW + b, (n * H_out + i) * W_out + j
    assert cols[row, col] == xpad[n, c, i * stride + a, j * stride + b]
    # <im2col(x), y> == <x, col2im(y)>: col2im is the transpose of im2col.
    y = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * y)
    rhs = np.sum(x * col2im(y, x.shape, HH, WW, stride, pad))
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


def test_fast_code_has_no_add_at_and_col2im_loops_over_kernel_offsets_only():
    for module in (fast_layers, im2col):
        assert "add.at" not in inspect.getsource(module), module.__name__
    source = inspect.getsource(col2im)
    assert source.count("for ") == 2 and "range(HH)" in source and "range(WW)" in source


def test_fast_conv_raises_like_naive():
    x = np.zeros((1, 1, 7, 7))
    with pytest.raises(ValueError, match=r"\(7 \+ 2\*0 - 3\)/3 \+ 1 = 2.33 is not an integer"):
        conv_forward_fast(x, np.zeros((1, 1, 3, 3)), np.zeros(1), {"stride": 3, "pad": 0})
    with pytest.raises(ValueError, match="pool output width"):
        max_pool_forward_fast(
            np.zeros((1, 1, 4, 5)), {"pool_height": 2, "pool_width": 2, "stride": 2}
        )
