"""Fast (im2col) conv and pool layers against the naive ones on seeded random shapes.

Every comparison names the configuration it ran, so a failure says which shape broke.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import BLOCKED_SHAPES, frozen

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
    ((1, 2, 3, 3), (3, 2, 7, 7), 1, 3),  # a "same" kernel larger than the image
    ((1, 1, 1, 5), (2, 1, 9, 9), 1, 4),
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


# ---- The fast paths of the redesign: threads, the fused layer, compute_dx, layout ----

from cs231n_lib import threads  # noqa: E402
from cs231n_lib.layer_utils import (  # noqa: E402
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cs231n_lib.layers import relu_backward, relu_forward  # noqa: E402


def integer_case(x_shape, w_shape, seed):
    """Small integers: every conv output is exact in float64, so pooling windows tie often."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=x_shape).astype(np.float64)
    w = rng.integers(-1, 2, size=w_shape).astype(np.float64)
    b = rng.integers(-1, 2, size=w_shape[0]).astype(np.float64)
    return frozen(x, w, b)


@pytest.mark.parametrize("pad, size", [(1, 3), (2, 5), (0, 3)], ids=["same3", "same5", "valid"])
def test_fused_conv_relu_pool_equals_the_naive_layers_exactly_with_ties(pad, size):
    # Integer data: conv outputs are exact, so the naive and fast pipelines see the same
    # numbers and must pick the same maximum in every window, ties (many) included.
    x, w, b = integer_case((3, 2, 8, 8), (4, 2, size, size), seed=pad + size)
    conv_param = {"stride": 1, "pad": pad}
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    r, relu_cache = relu_forward(a)
    expected, pool_cache = max_pool_forward_naive(r, pool)
    out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool)
    np.testing.assert_array_equal(out, expected)
    rng = np.random.default_rng(7)
    (dout,) = frozen(rng.integers(-3, 4, size=out.shape).astype(np.float64))
    dr = max_pool_backward_naive(dout, pool_cache)
    da = relu_backward(dr, relu_cache)
    dx_n, dw_n, db_n = conv_backward_naive(da, conv_cache)
    dx, dw, db = conv_relu_pool_backward(dout, cache)
    np.testing.assert_array_equal(dx, dx_n)  # integer sums: exact
    np.testing.assert_array_equal(dw, dw_n)
    np.testing.assert_array_equal(db, db_n)


def test_fused_conv_relu_pool_equals_naive_on_random_integer_cases(monkeypatch):
    # Every path of the fused layer (pixel-major im2col for any "same" kernel, Winograd for
    # 3x3 with enough channels), on random shapes (images as small as 2x2 under a 7x7
    # kernel), mixed dtypes, non-contiguous inputs and 1-3 threads, with blocks of images or
    # without. Small integers make every sum exact: values and dtypes must be the naive
    # pipeline's exactly, ties in the pool included.
    rng = np.random.default_rng(23)
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    paths = set()
    for trial in range(60):
        k = int(rng.choice([1, 3, 5, 7]))
        N, C, F = int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 9))
        H, W = 2 * int(rng.integers(1, 6)), 2 * int(rng.integers(1, 6))
        if trial % 4 == 0:  # a shape that takes the Winograd path
            k, C, F, H, W = 3, 16, 32, 8, 8
        x_dtype, w_dtype, d_dtype = rng.choice([np.float32, np.float64], 3)
        x = rng.integers(-3, 4, size=(N, C, H, W)).astype(x_dtype)
        if trial % 3 == 1:
            x = np.asfortranarray(x)
        w = rng.integers(-2, 3, size=(F, C, k, k)).astype(w_dtype)
        b = rng.integers(-2, 3, size=F).astype(w_dtype)
        x, w, b = frozen(x, w, b)
        monkeypatch.setattr(threads, "THREADS", 1 + trial % 3)
        monkeypatch.setattr(threads, "MIN_SIZE", 1 if trial % 2 else 1 << 18)  # blocks or not
        conv_param = {"stride": 1, "pad": (k - 1) // 2}
        config = f"x {x.shape} {x.dtype}, w {w.shape} {w.dtype}, dout {d_dtype.__name__}"
        a, conv_cache = conv_forward_naive(x, w, b, conv_param)
        r, relu_cache = relu_forward(a)
        expected, pool_cache = max_pool_forward_naive(r, pool)
        out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool)
        paths.add(cache[0][5])
        (dout,) = frozen(rng.integers(-3, 4, size=out.shape).astype(d_dtype))
        da = relu_backward(max_pool_backward_naive(dout, pool_cache), relu_cache)
        naive = (expected, *conv_backward_naive(da, conv_cache))
        fused = (out, *conv_relu_pool_backward(dout, cache))
        for name, ours, ref in zip(("out", "dx", "dw", "db"), fused, naive, strict=True):
            np.testing.assert_array_equal(ours, ref, err_msg=f"{name}: {config}")
            assert ours.dtype == ref.dtype, f"{name} dtype: {config}"
    assert paths == {"pixel-major", "winograd"}


@pytest.mark.parametrize("pool_order", [True, False], ids=["pool-order", "channel-order"])
def test_fused_layer_equals_the_fast_layers_composed(monkeypatch, pool_order):
    # The fused layer orders its im2col columns for the pool (cs231n_lib.im2col) unless that
    # is switched off. The output and dx are the same numbers bit for bit either way; dw and
    # db are sums over the N*H*W positions, which pooling order adds up in another order, so
    # there they agree to float32 rounding (and bitwise in channel order).
    monkeypatch.setattr(fast_layers, "_use_pool_order", lambda *args: pool_order)
    rng = np.random.default_rng(8)
    x, w, b = frozen(
        rng.standard_normal((4, 3, 12, 12)).astype(np.float32),
        rng.standard_normal((6, 3, 3, 3)).astype(np.float32),
        rng.standard_normal(6).astype(np.float32),
    )
    conv_param, pool = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    pooled, pool_cache = max_pool_forward_fast(a, pool)
    expected = np.maximum(pooled, 0)
    out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool)
    assert len(cache[0]) == (6 if pool_order else 5)  # the path asked for was taken
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32
    (dout,) = frozen(rng.standard_normal(out.shape).astype(np.float32))
    da = max_pool_backward_fast(np.where(expected > 0, dout, 0), pool_cache)
    dx, dw, db = conv_relu_pool_backward(dout, cache)
    dx_ref, dw_ref, db_ref = conv_backward_fast(da, conv_cache)
    np.testing.assert_array_equal(dx, dx_ref)
    for g, g_ref in ((dw, dw_ref), (db, db_ref)):
        assert g.dtype == np.float32 and g.shape == g_ref.shape
        if pool_order:
            np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-5 * np.max(np.abs(g_ref)))
        else:
            np.testing.assert_array_equal(g, g_ref)


POOL_ORDER_CASES = [((2, 3, 8, 6), 3), ((3, 2, 4, 4), 5), ((2, 4, 8, 8), 7), ((1, 1, 2, 2), 3),
                    ((2, 3, 6, 10), 1), ((4, 16, 8, 8), 3),
                    ((1, 2, 2, 2), 7), ((2, 1, 2, 4), 5)]  # fmt: skip
"""(x_shape, k): "same" k×k convolutions (pad (k - 1)/2) of inputs with even H and W; the last
two have kernels larger than the image (im2col used to fail on those)."""


@pytest.mark.parametrize("x_shape, k", POOL_ORDER_CASES)
@pytest.mark.parametrize("n_threads", [1, 3])
def test_pool_order_im2col_is_a_column_permutation_and_col2im_is_bitwise_col2im(
    monkeypatch, x_shape, k, n_threads
):
    monkeypatch.setattr(threads, "MIN_SIZE", 1)
    monkeypatch.setattr(threads, "THREADS", n_threads)
    N, C, H, W = x_shape
    pad = (k - 1) // 2
    rng = np.random.default_rng(15)
    (x,) = frozen(rng.standard_normal(x_shape).astype(np.float32))
    assert im2col.pool_order_applies(x_shape, k, k, 1, pad)
    cols = im2col_fn(x, k, k, 1, pad, ones_row=True)

    def to_pool_order(a):  # columns (n, 2i + a, 2j + b) -> (a, b, n, i, j)
        a6 = a.reshape(-1, N, H // 2, 2, W // 2, 2)
        return np.ascontiguousarray(a6.transpose(0, 3, 5, 1, 2, 4)).reshape(a.shape[0], -1)

    np.testing.assert_array_equal(im2col.im2col_pool_order(x, k, k, pad, ones_row=True),
                                  to_pool_order(cols))  # fmt: skip
    dcols = rng.standard_normal((C * k * k, cols.shape[1])).astype(np.float32)
    dx = col2im(dcols, x_shape, k, k, 1, pad)
    dx_pool = im2col.col2im_pool_order(to_pool_order(dcols), x_shape, k, k, pad)
    np.testing.assert_array_equal(dx_pool, dx)  # same sums in the same order
    assert dx_pool.transpose(1, 0, 2, 3).flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("x_shape, k", POOL_ORDER_CASES)
def test_pixel_major_im2col_is_a_column_permutation_and_col2im_is_bitwise_col2im(x_shape, k):
    # The fused layer's columns: image index innermost, (a, b, i, j, n), from the padded
    # phase planes; its col2im must add every pixel's terms in col2im's order (same bits).
    N, C, H, W = x_shape
    pad = (k - 1) // 2
    rng = np.random.default_rng(16)
    (x,) = frozen(rng.standard_normal(x_shape).astype(np.float32))
    cols = im2col_fn(x, k, k, 1, pad, ones_row=True)

    def to_pixel_major(a):  # columns (n, 2i + a, 2j + b) -> (a, b, i, j, n)
        a6 = a.reshape(-1, N, H // 2, 2, W // 2, 2)
        return np.ascontiguousarray(a6.transpose(0, 3, 5, 2, 4, 1)).reshape(a.shape[0], -1)

    xs = im2col.phase_planes(x, pad, np.float32)
    assert xs.shape == (C, 2, 2, (H + 2 * pad) // 2, (W + 2 * pad) // 2, N)
    np.testing.assert_array_equal(im2col.im2col_pixel_major(xs, k, k, (H, W)),
                                  to_pixel_major(cols))  # fmt: skip
    dcols = rng.standard_normal((C * k * k, cols.shape[1])).astype(np.float32)
    dx = col2im(dcols, x_shape, k, k, 1, pad)
    out = np.full((C, H, W, N), np.nan, dtype=np.float32)  # every entry must be written
    dx_pm = im2col.col2im_pixel_major(to_pixel_major(dcols), x_shape, k, k, pad, out=out)
    np.testing.assert_array_equal(out.transpose(3, 0, 1, 2), dx)  # same sums, same order
    assert dx_pm is out


def test_pool_order_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="even H and W"):
        im2col.im2col_pool_order(np.zeros((1, 1, 5, 6)), 3, 3, 1)
    assert not im2col.pool_order_applies((1, 1, 8, 8), 3, 3, 2, 1)  # stride 2
    assert not im2col.pool_order_applies((1, 1, 8, 8), 3, 3, 1, 0)  # not "same"
    x, w, b = np.ones((2, 1, 4, 4)), np.ones((2, 1, 3, 3)), np.zeros(2)
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = conv_relu_pool_forward(x, w, b, {"stride": 1, "pad": 1}, pool)
    with pytest.raises(ValueError, match="conv_relu_pool_backward"):
        conv_backward_fast(np.ones((2, 2, 4, 4)), cache[0])  # columns in pooling order


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, pad",
    [((8, 16, 16, 16), (8, 16, 3, 3), 1, 1), ((6, 8, 16, 16), (4, 8, 4, 4), 2, 1)],
    ids=["same-shift", "strided"],
)
def test_threads_give_bitwise_the_same_results(monkeypatch, x_shape, w_shape, stride, pad):
    # Every job split, however small (threads.MIN_SIZE), in 1 and then 3 parts.
    monkeypatch.setattr(threads, "MIN_SIZE", 1)
    rng = np.random.default_rng(9)
    x, w, b = frozen(
        np.maximum(rng.standard_normal(x_shape), 0).astype(np.float32),
        rng.standard_normal(w_shape).astype(np.float32),
        rng.standard_normal(w_shape[0]).astype(np.float32),
    )
    conv_param, pool = {"stride": stride, "pad": pad}, {"pool_height": 2, "pool_width": 2,
                                                         "stride": 2}  # fmt: skip

    def run():
        out, cache = conv_forward_fast(x, w, b, conv_param)
        grads = conv_backward_fast(np.ones_like(out), cache)
        pooled, pcache = max_pool_forward_fast(x, pool)
        dpool = max_pool_backward_fast(np.arange(pooled.size, dtype=np.float32).reshape(
            pooled.shape), pcache)  # fmt: skip
        results = [out, *grads, pooled, dpool]
        if stride == 1:
            fused, fcache = conv_relu_pool_forward(x, w, b, conv_param, pool)
            results += [fused, *conv_relu_pool_backward(np.ones_like(fused), fcache)]
            cr, ccache = conv_relu_forward(x, w, b, conv_param)
            results += [cr, *conv_relu_backward(np.ones_like(cr), ccache)]
        return results

    monkeypatch.setattr(threads, "THREADS", 1)
    single = run()
    monkeypatch.setattr(threads, "THREADS", 3)  # uneven parts too
    for k, (a, b_) in enumerate(zip(single, run(), strict=True)):
        np.testing.assert_array_equal(a, b_, err_msg=f"result {k}")
    # and the pooling, with many ties (x is after a ReLU), equals the naive layer
    pooled, pcache = max_pool_forward_fast(x, pool)
    out_n, cache_n = max_pool_forward_naive(x, pool)
    np.testing.assert_array_equal(pooled, out_n)
    dout = rng.standard_normal(out_n.shape).astype(np.float32)
    np.testing.assert_array_equal(max_pool_backward_fast(dout, pcache),
                                  max_pool_backward_naive(dout, cache_n))  # fmt: skip


def test_compute_dx_false_skips_dx_only():
    rng = np.random.default_rng(10)
    x, w, b = frozen(rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3)),
                     rng.standard_normal(4))  # fmt: skip
    conv_param, pool = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    for forward, backward in ((lambda: conv_forward_fast(x, w, b, conv_param), conv_backward_fast),
                              (lambda: conv_relu_forward(x, w, b, conv_param), conv_relu_backward),
                              (lambda: conv_relu_pool_forward(x, w, b, conv_param, pool),
                               conv_relu_pool_backward)):  # fmt: skip
        out, cache = forward()
        dout = rng.standard_normal(out.shape)
        dx, dw, db = backward(dout, cache)
        none, dw2, db2 = backward(dout, cache, compute_dx=False)
        assert none is None and dx.shape == x.shape
        np.testing.assert_array_equal(dw, dw2)
        np.testing.assert_array_equal(db, db2)


def test_outputs_are_pixel_major_and_the_scratch_is_never_returned():
    rng = np.random.default_rng(11)
    x, w, b = frozen(rng.standard_normal((4, 3, 8, 8)), rng.standard_normal((5, 3, 3, 3)),
                     rng.standard_normal(5))  # fmt: skip
    conv_param, pool = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool)
    assert out.transpose(2, 3, 0, 1).flags["C_CONTIGUOUS"]  # (H, W, N, C), as Winograd reads
    first = out.copy()
    out2, _ = conv_relu_pool_forward(x, 2 * w, b, conv_param, pool)  # reuses the scratch
    np.testing.assert_array_equal(out, first)  # the first result is untouched
    dx, dw, db = conv_relu_pool_backward(np.ones_like(out), cache)
    dx_again, _, _ = conv_relu_pool_backward(np.ones_like(out), cache)  # a cache works twice
    np.testing.assert_array_equal(dx, dx_again)
    assert not np.shares_memory(dx, dx_again)


def test_col2im_leaves_dcols_alone_unless_allowed():
    rng = np.random.default_rng(12)
    dcols = rng.standard_normal((2 * 9, 2 * 5 * 5))
    (kept,) = frozen(dcols)
    dx = col2im(kept, (2, 2, 5, 5), 3, 3, 1, 1)  # read-only input: no write allowed
    dx_overwrite = col2im(dcols.copy(), (2, 2, 5, 5), 3, 3, 1, 1, overwrite_dcols=True)
    np.testing.assert_array_equal(dx, dx_overwrite)


# ---- Spatial batchnorm (fast, channel-major) against a straightforward reference ----

from cs231n_lib.fast_layers import (  # noqa: E402
    spatial_batchnorm_backward_fast,
    spatial_batchnorm_forward_fast,
)
from cs231n_lib.gradient_check import eval_numerical_gradient_array  # noqa: E402


def spatial_batchnorm_reference(x, gamma, beta, eps=1e-5):
    """Per channel over (N, H, W), written the obvious way (no layout tricks)."""
    mean = x.mean(axis=(0, 2, 3), keepdims=True)  # (1, C, 1, 1)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    xhat = (x - mean) / np.sqrt(var + eps)
    return gamma[None, :, None, None] * xhat + beta[None, :, None, None]


@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (8, 16, 16, 16)], ids=["small", "threaded"])
def test_spatial_batchnorm_fast_equals_reference_and_gradients(monkeypatch, shape):
    if shape[1] > 3:  # split the channels between threads even at this size
        monkeypatch.setattr(threads, "MIN_SIZE", 1)
    rng = np.random.default_rng(13)
    x, gamma, beta = frozen(3 * rng.standard_normal(shape) + 1, rng.standard_normal(shape[1]),
                            rng.standard_normal(shape[1]))  # fmt: skip
    bn_param = {"mode": "train"}
    out, cache = spatial_batchnorm_forward_fast(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, spatial_batchnorm_reference(x, gamma, beta), rtol=1e-10,
                               atol=1e-10)  # fmt: skip
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], 0.9 + 0.1 * var, rtol=1e-12)
    (dout,) = frozen(rng.standard_normal(shape))
    dx, dgamma, dbeta = spatial_batchnorm_backward_fast(dout, cache)
    if shape[0] * shape[2] * shape[3] > 200:  # numerical gradients of the big case are slow
        x, dout = x[:2, :3, :4, :4], dout[:2, :3, :4, :4]
        gamma, beta = gamma[:3], beta[:3]
        _, cache = spatial_batchnorm_forward_fast(x, gamma, beta, {"mode": "train"})
        dx, dgamma, dbeta = spatial_batchnorm_backward_fast(dout, cache)

    def f(x_=x, g=gamma, b=beta):
        return spatial_batchnorm_reference(x_, g, b)

    for name, analytic, numeric in (
        ("dx", dx, eval_numerical_gradient_array(lambda v: f(x_=v), x.copy(), dout)),
        ("dgamma", dgamma, eval_numerical_gradient_array(lambda v: f(g=v), gamma.copy(), dout)),
        ("dbeta", dbeta, eval_numerical_gradient_array(lambda v: f(b=v), beta.copy(), dout)),
    ):
        assert rel_error(analytic, numeric) < 1e-5, name


def test_spatial_batchnorm_fast_test_mode_and_float32():
    rng = np.random.default_rng(14)
    x = rng.standard_normal((6, 4, 8, 8)).astype(np.float32)
    gamma, beta = np.ones(4, np.float32), np.zeros(4, np.float32)
    bn_param = {"mode": "train"}
    for _ in range(200):  # running averages converge to the batch statistics (0.9**200)
        out, _ = spatial_batchnorm_forward_fast(x, gamma, beta, bn_param)
    assert out.dtype == np.float32 and bn_param["running_mean"].dtype == np.float32
    bn_param["mode"] = "test"
    test_out, cache = spatial_batchnorm_forward_fast(x, gamma, beta, bn_param)
    assert cache is None
    np.testing.assert_allclose(test_out, out, atol=1e-3)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        spatial_batchnorm_forward_fast(x, gamma, beta, {"mode": "eval"})


@pytest.mark.parametrize("pool_order", [True, False], ids=["pool-order", "channel-order"])
def test_conv_bn_relu_pool_equals_the_plain_composition(monkeypatch, pool_order):
    # Both paths of the fused conv-bn-relu-pool layer against the naive conv, the reference
    # batchnorm, a ReLU and the naive pool, forward and backward (by the chain rule through
    # the naive layers and the fast batchnorm backward, which is checked above).
    from cs231n_lib import layer_utils
    from cs231n_lib.layer_utils import conv_bn_relu_pool_backward, conv_bn_relu_pool_forward
    from cs231n_lib.layers import relu_backward, relu_forward

    monkeypatch.setattr(layer_utils, "_use_pool_order", lambda *args: pool_order)
    rng = np.random.default_rng(16)
    x, w, b, gamma, beta = frozen(rng.standard_normal((3, 2, 8, 8)),
                                  rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4),
                                  rng.standard_normal(4), rng.standard_normal(4))  # fmt: skip
    conv_param, pool = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    bn_param, bn_ref = {"mode": "train"}, {"mode": "train"}
    out, cache = conv_bn_relu_pool_forward(x, w, b, gamma, beta, conv_param, bn_param, pool)
    assert len(cache[0]) == (6 if pool_order else 5)
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    y, bn_cache = spatial_batchnorm_forward_fast(a, gamma, beta, bn_ref)
    np.testing.assert_allclose(y, spatial_batchnorm_reference(a, gamma, beta), rtol=1e-10,
                               atol=1e-10)  # fmt: skip
    r, relu_cache = relu_forward(y)
    expected, pool_cache = max_pool_forward_naive(r, pool)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    for key in ("running_mean", "running_var"):
        np.testing.assert_allclose(bn_param[key], bn_ref[key], rtol=1e-12)
    (dout,) = frozen(rng.standard_normal(out.shape))
    dy = relu_backward(max_pool_backward_naive(dout, pool_cache), relu_cache)
    da, dgamma_ref, dbeta_ref = spatial_batchnorm_backward_fast(dy, bn_cache)
    dx_ref, dw_ref, db_ref = conv_backward_naive(da, conv_cache)
    grads = conv_bn_relu_pool_backward(dout, cache)
    refs = (dx_ref, dw_ref, db_ref, dgamma_ref, dbeta_ref)
    for name, g, g_ref in zip(("dx", "dw", "db", "dgamma", "dbeta"), grads, refs, strict=True):
        np.testing.assert_allclose(g, g_ref, rtol=1e-9, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("pool_order", [True, False], ids=["pool-order", "channel-order"])
def test_fused_layer_equals_the_composed_with_blocked_products(monkeypatch, pool_order):
    # With every product cut into fast_layers.MATMUL_BLOCKS blocks shared by two threads
    # (threads.MIN_SIZE = 1 makes even these small products "large"), the fused layer still
    # equals the composed fast layers exactly as it does with whole products.
    monkeypatch.setattr(threads, "MIN_SIZE", 1)
    monkeypatch.setattr(threads, "THREADS", 2)
    monkeypatch.setattr(threads, "blas_threads", lambda: 1)  # the layers' threads split
    test_fused_layer_equals_the_fast_layers_composed(monkeypatch, pool_order)


def test_blocked_matmul_is_the_product_and_threads_do_not_change_it(monkeypatch):
    monkeypatch.setattr(threads, "MIN_SIZE", 1)
    rng = np.random.default_rng(3)
    for shape_a, shape_b in (((7, 300), (300, 500)), ((400, 30), (30, 9)), ((5, 6), (6, 7))):
        a, b = frozen(rng.standard_normal(shape_a).astype(np.float32),
                      rng.standard_normal(shape_b).astype(np.float32))  # fmt: skip
        results = []
        for n, blas in ((1, 1), (2, 1), (3, 1), (1, 2)):  # layer threads, BLAS threads
            monkeypatch.setattr(threads, "THREADS", n)
            monkeypatch.setattr(threads, "blas_threads", lambda blas=blas: blas)
            results.append(fast_layers._matmul(a, b))
        np.testing.assert_allclose(results[0], a @ b, rtol=1e-5, atol=1e-4)
        for other in results[1:]:
            np.testing.assert_array_equal(other, results[0])


@pytest.mark.parametrize("x_shape, w_shape", BLOCKED_SHAPES.values(), ids=BLOCKED_SHAPES.keys())
def test_fused_layer_in_blocks_of_images_is_the_same_bits_with_any_threads(x_shape, w_shape):
    # Shapes of the benchmark net, large enough for the fused layer to work on fixed blocks of
    # images, one per thread (fast_layers._batch_blocks), at the real threads.MIN_SIZE. The
    # 4x4 one's im2col product has an inner dimension of 577: OpenBLAS's threaded driver sums
    # that differently from its one-thread driver, so this also holds that the layers'
    # products never run on BLAS's own threads, whatever set_blas_threads says.
    rng = np.random.default_rng(21)
    x, w, b = frozen(rng.standard_normal(x_shape).astype(np.float32),
                     rng.standard_normal(w_shape).astype(np.float32),
                     rng.standard_normal(w_shape[0]).astype(np.float32))  # fmt: skip
    conv_param, pool = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    N, F = x_shape[0], w_shape[0]
    assert fast_layers._batch_blocks(N, F * (w[0].size + 1) * N * x_shape[2] * x_shape[3])
    (dout,) = frozen(rng.standard_normal((N, F, x_shape[2] // 2, x_shape[3] // 2)).astype(
        np.float32))  # fmt: skip
    before = threads.blas_threads()
    results = []
    try:
        for layer_threads, blas in ((1, 1), (2, 1), (1, 2), (2, 2), (3, 1)):
            threads.set_blas_threads(blas)
            saved, threads.THREADS = threads.THREADS, layer_threads
            try:
                out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool)
                assert isinstance(cache[0][4], tuple)  # the blocks were used
                results.append((out, *conv_relu_pool_backward(dout, cache)))
            finally:
                threads.THREADS = saved
    finally:
        threads.set_blas_threads(before)
    for other in results[1:]:
        for name, a, b_ in zip(("out", "dx", "dw", "db"), results[0], other, strict=True):
            np.testing.assert_array_equal(a, b_, err_msg=name)
    # and out and dx are the composed fast layers' bits; dw, db the same sums in blocks
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    pooled, pool_cache = max_pool_forward_fast(a, pool)
    expected = np.maximum(pooled, 0)
    np.testing.assert_array_equal(results[0][0], expected)
    da = max_pool_backward_fast(np.where(expected > 0, dout, 0), pool_cache)
    dx_ref, dw_ref, db_ref = conv_backward_fast(da, conv_cache)
    np.testing.assert_array_equal(results[0][1], dx_ref)
    for g, g_ref in ((results[0][2], dw_ref), (results[0][3], db_ref)):
        np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-5 * np.max(np.abs(g_ref)))


def test_conv_bn_relu_pool_in_blocks_of_images_equals_the_plain_composition(monkeypatch):
    # threads.MIN_SIZE = 1 makes the small case "large": the layer then works on fixed blocks
    # of images (two threads), with batchnorm's statistics still over the whole batch.
    from cs231n_lib import layer_utils

    monkeypatch.setattr(threads, "MIN_SIZE", 1)
    monkeypatch.setattr(threads, "THREADS", 2)
    taken = []
    blocked = layer_utils._conv_bn_relu_pool_blocks_forward
    monkeypatch.setattr(layer_utils, "_conv_bn_relu_pool_blocks_forward",
                        lambda *args: taken.append(1) or blocked(*args))  # fmt: skip
    test_conv_bn_relu_pool_equals_the_plain_composition(monkeypatch, True)
    assert taken  # the blocked path was the one tested
