"""Naive conv and max-pool layers: output sizes, numerical gradients, dtypes, no in-place edits."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import frozen

from cs231n_lib.fast_layers import conv_backward_fast, conv_forward_fast
from cs231n_lib.gradient_check import eval_numerical_gradient_array, rel_error
from cs231n_lib.layer_utils import (
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cs231n_lib.layers import (
    conv_backward_naive,
    conv_forward_naive,
    conv_output_size,
    max_pool_backward_naive,
    max_pool_forward_naive,
)

# ---- output sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "filt", "stride", "pad", "expected"),
    [(7, 3, 1, 0, 5), (7, 3, 2, 0, 3), (7, 3, 1, 1, 7), (32, 5, 1, 2, 32), (28, 5, 3, 2, 10),
     (31, 5, 3, 2, 11), (32, 5, 1, 0, 28), (4, 4, 1, 0, 1), (224, 2, 2, 0, 112)],
)  # fmt: skip
def test_conv_output_size(size, filt, stride, pad, expected):
    assert conv_output_size(size, filt, stride, pad) == expected


def test_size_that_would_lose_pixels_raises_with_formula_and_fix():
    with pytest.raises(ValueError) as info:
        conv_output_size(7, 3, 3, 0, what="conv output width")
    msg = str(info.value)
    assert msg.startswith(
        "conv output width (7 + 2*0 - 3)/3 + 1 = 2.33 is not an integer, and rounding down to 2, "
        "as frameworks do, would leave input column 6 unseen"
    )
    assert "pad 1 with stride 3 (output 3)" in msg
    assert "stride 2 with pad 0 (output 3)" in msg


@pytest.mark.parametrize(
    "size, filt, stride, pad, expected",
    [(32, 3, 2, 1, 16), (224, 7, 2, 3, 112), (32, 3, 3, 1, 11), (56, 1, 2, 0, 28),
     (10, 3, 2, 1, 5)],
)  # fmt: skip
def test_floors_like_frameworks_when_only_padding_or_skipped_rows_are_left_out(
    size, filt, stride, pad, expected
):
    # floor((size + 2*pad - filt)/stride) + 1, as torch.nn.Conv2d documents it.
    assert (size + 2 * pad - filt) // stride + 1 == expected
    assert conv_output_size(size, filt, stride, pad) == expected


def test_pooling_suggestions_keep_pad_0_and_name_a_common_window():
    with pytest.raises(ValueError) as info:
        conv_output_size(32, 3, 2, 0, what="pool output height")
    msg = str(info.value)
    assert "would leave input row 31 unseen" in msg
    assert "2x2 windows with stride 2 (output 16)" in msg
    assert "pad 1" not in msg  # the pooling layers have no padding to suggest


def test_floored_conv_fast_equals_naive():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 32, 32))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    conv_param = {"stride": 2, "pad": 1}  # 16.5 -> 16
    out, cache = conv_forward_naive(x, w, b, conv_param)
    assert out.shape == (2, 4, 16, 16)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_allclose(out_fast, out, rtol=1e-10, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    grads = conv_backward_naive(dout, cache)
    for g, g_fast in zip(grads, conv_backward_fast(dout, cache_fast), strict=True):
        np.testing.assert_allclose(g_fast, g, rtol=1e-10, atol=1e-12)


def test_window_larger_than_input_raises():
    with pytest.raises(ValueError, match=r"\(3 \+ 2\*0 - 5\)/1 \+ 1 = -1.00: the window \(5\)"):
        conv_output_size(3, 5, 1, 0)
    with pytest.raises(ValueError, match="stride >= 1"):
        conv_output_size(7, 3, 0, 0)


def test_conv_and_pool_raise_on_sizes_that_do_not_fit():
    x = np.zeros((1, 1, 7, 7))
    with pytest.raises(ValueError, match=r"conv output height \(7 \+ 2\*0 - 3\)/3 \+ 1 = 2.33"):
        conv_forward_naive(x, np.zeros((1, 1, 3, 3)), np.zeros(1), {"stride": 3, "pad": 0})
    with pytest.raises(ValueError, match=r"pool output height \(7 \+ 2\*0 - 2\)/2 \+ 1 = 3.50"):
        max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    with pytest.raises(ValueError, match="filters have depth 2 but the input has depth 1"):
        conv_forward_naive(x, np.zeros((1, 2, 3, 3)), np.zeros(1), {"stride": 1, "pad": 0})


# ---- conv -----------------------------------------------------------------------------------


def test_conv_forward_naive_matches_cs231n_values():
    """CS231n's fixed test case for conv_forward_naive (values from the assignment)."""
    x = np.linspace(-0.1, 0.5, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=3 * 3 * 4 * 4).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    correct = np.array(
        [[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
          [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
          [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
         [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
          [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
          [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]]
    )  # fmt: skip
    assert rel_error(out, correct) < 1e-7


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad"),
    [((2, 3, 5, 5), (3, 3, 3, 3), 1, 1), ((1, 2, 7, 6), (2, 2, 3, 2), 2, 1),
     ((2, 1, 7, 9), (2, 1, 1, 3), 3, 0)],
)  # fmt: skip
def test_conv_backward_naive_numerical_gradient(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: conv_forward_naive(v, w, b, conv_param)[0], x, dout
    )
    dw_num = eval_numerical_gradient_array(
        lambda v: conv_forward_naive(x, v, b, conv_param)[0], w, dout
    )
    db_num = eval_numerical_gradient_array(
        lambda v: conv_forward_naive(x, w, v, conv_param)[0], b, dout
    )
    config = f"x {x_shape}, w {w_shape}, stride {stride}, pad {pad}"
    assert rel_error(dx, dx_num) < 1e-8, config
    assert rel_error(dw, dw_num) < 1e-8, config
    assert rel_error(db, db_num) < 1e-8, config


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_naive_keeps_dtype_and_does_not_modify_inputs(dtype):
    rng = np.random.default_rng(1)
    x, w, b = frozen(
        rng.standard_normal((2, 3, 5, 4)).astype(dtype),
        rng.standard_normal((2, 3, 3, 2)).astype(dtype),
        rng.standard_normal(2).astype(dtype),
    )
    out, cache = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    assert out.dtype == dtype and out.shape == (2, 2, 5, 5)
    (dout,) = frozen(rng.standard_normal(out.shape).astype(dtype))
    grads = conv_backward_naive(dout, cache)
    for g, ref in zip(grads, (x, w, b), strict=True):
        assert g.dtype == dtype and g.shape == ref.shape


# ---- max pool -------------------------------------------------------------------------------


def test_max_pool_forward_naive_matches_cs231n_values():
    x = np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    out, _ = max_pool_forward_naive(x, {"pool_width": 2, "pool_height": 2, "stride": 2})
    correct = np.array(
        [[[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
          [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
          [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
         [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
          [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
          [[0.32631579, 0.34105263], [0.38526316, 0.4]]]]
    )  # fmt: skip
    assert rel_error(out, correct) < 1e-7


@pytest.mark.parametrize(
    ("shape", "ph", "pw", "stride"),
    [((2, 3, 8, 8), 2, 2, 2), ((1, 2, 6, 5), 3, 2, 1), ((2, 1, 7, 7), 3, 3, 2),
     ((1, 1, 7, 8), 1, 2, 3)],
)  # fmt: skip
def test_max_pool_backward_naive_numerical_gradient(shape, ph, pw, stride):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    pool = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = max_pool_forward_naive(x, pool)
    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: max_pool_forward_naive(v, pool)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-8, f"x {shape}, pool {pool}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_naive_keeps_dtype_and_does_not_modify_inputs(dtype):
    rng = np.random.default_rng(3)
    (x,) = frozen(rng.standard_normal((2, 2, 4, 6)).astype(dtype))
    pool = {"pool_height": 2, "pool_width": 3, "stride": 1}
    out, cache = max_pool_forward_naive(x, pool)
    assert out.dtype == dtype and out.shape == (2, 2, 3, 4)
    (dout,) = frozen(rng.standard_normal(out.shape).astype(dtype))
    dx = max_pool_backward_naive(dout, cache)
    assert dx.dtype == dtype and dx.shape == x.shape


def test_max_pool_backward_gives_ties_to_the_first_maximum():
    x = np.zeros((1, 1, 2, 2))  # a window of zeros, as after a ReLU
    _, cache = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = max_pool_backward_naive(np.ones((1, 1, 1, 1)), cache)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0], [0, 0]])


# ---- sandwich layers ------------------------------------------------------------------------


def test_conv_relu_and_conv_relu_pool_numerical_gradients():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 8, 8))
    w = rng.standard_normal((3, 3, 3, 3))
    b = rng.standard_normal(3)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    cases = [
        (lambda x, w, b: conv_relu_forward(x, w, b, conv_param), conv_relu_backward),
        (lambda x, w, b: conv_relu_pool_forward(x, w, b, conv_param, pool_param),
         conv_relu_pool_backward),
    ]  # fmt: skip
    for forward, backward in cases:
        out, cache = forward(x, w, b)
        dout = rng.standard_normal(out.shape)
        grads = backward(dout, cache)
        numeric = (
            eval_numerical_gradient_array(lambda v, f=forward: f(v, w, b)[0], x, dout),
            eval_numerical_gradient_array(lambda v, f=forward: f(x, v, b)[0], w, dout),
            eval_numerical_gradient_array(lambda v, f=forward: f(x, w, v)[0], b, dout),
        )
        for name, g, g_num in zip(("dx", "dw", "db"), grads, numeric, strict=True):
            assert rel_error(g, g_num) < 1e-7, f"{backward.__name__}: {name}"
