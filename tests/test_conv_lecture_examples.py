"""The worked examples of the lecture notes (CS231n lecture 5), computed with the library.

Notebook 06 shows each of these in a runnable cell; this file checks the same numbers, so the
notebook and the notes cannot drift apart.
"""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib.fast_layers import conv_backward_fast, conv_forward_fast, max_pool_forward_fast
from cs231n_lib.layers import (
    conv_forward_naive,
    conv_output_size,
    max_pool_forward_naive,
    sigmoid_forward,
)

POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def conv_shape(x_shape, num_filters, size, stride=1, pad=0):
    """Output shape of a conv layer applied to zeros of ``x_shape`` (runs the layer)."""
    x = np.zeros(x_shape)
    w = np.zeros((num_filters, x_shape[1], size, size))
    return conv_forward_fast(x, w, np.zeros(num_filters), {"stride": stride, "pad": pad})[0].shape


def test_six_then_ten_filters():
    # 32x32x3 with six 5x5x3 filters -> 28x28x6; then ten 5x5x6 filters -> 24x24x10.
    assert conv_shape((1, 3, 32, 32), 6, 5) == (1, 6, 28, 28)
    assert conv_shape((1, 6, 28, 28), 10, 5) == (1, 10, 24, 24)


def test_seven_by_seven_output_sizes():
    assert conv_output_size(7, 3, 1, 0) == 5
    assert conv_output_size(7, 3, 2, 0) == 3
    with pytest.raises(ValueError, match=r"\(7 \+ 2\*0 - 3\)/3 \+ 1 = 2.33 is not an integer"):
        conv_output_size(7, 3, 3, 0)
    # Zero padding (F - 1)/2 keeps the size: 7x7, 3x3 filter, pad 1 -> 7x7.
    assert conv_output_size(7, 3, 1, 1) == 7
    for F in (3, 5, 7):
        assert conv_output_size(32, F, 1, (F - 1) // 2) == 32


def test_deck_28_by_31_example():
    assert conv_output_size(28, 5, 3, 2, what="OH") == 10
    assert conv_output_size(31, 5, 3, 2, what="OW") == 11
    assert conv_shape((1, 1, 28, 31), 1, 5, stride=3, pad=2) == (1, 1, 10, 11)


def test_deck_4x4_example_with_padding():
    x = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=float)
    w = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=float)
    out, _ = conv_forward_naive(x[None, None], w[None, None], np.zeros(1), {"stride": 1, "pad": 1})
    expected = [[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]]
    np.testing.assert_array_equal(out[0, 0], expected)


def test_deck_7x7_stride_2_example():
    x = np.array(
        [[1, 2, 3, 0, 1, 2, 3], [0, 1, 2, 3, 0, 1, 2], [3, 0, 1, 2, 3, 0, 1],
         [2, 3, 0, 1, 2, 3, 0], [1, 2, 3, 0, 1, 2, 3], [0, 1, 2, 3, 0, 1, 2],
         [3, 0, 1, 2, 3, 0, 1]], dtype=float,
    )  # fmt: skip
    w = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=float)
    out, _ = conv_forward_naive(x[None, None], w[None, None], np.zeros(1), {"stride": 2, "pad": 0})
    assert out.shape == (1, 1, 3, 3)  # (7 + 2*0 - 3)/2 + 1 = 3
    assert out[0, 0, 0, 0] == 15 and out[0, 0, 0, 1] == 17  # the two numbers on the slide
    np.testing.assert_array_equal(out[0, 0], [[15, 17, 15], [17, 15, 17], [15, 17, 15]])


def test_ten_5x5_filters_stride_1_pad_2_and_760_parameters():
    assert conv_shape((1, 3, 32, 32), 10, 5, stride=1, pad=2) == (1, 10, 32, 32)
    w, b = np.zeros((10, 3, 5, 5)), np.zeros(10)
    assert w[0].size + 1 == 76
    assert w.size + b.size == 760


def test_vertical_edge_filter():
    x = np.zeros((1, 1, 5, 6))
    x[..., 3:] = 100.0  # dark left half, bright right half
    w = np.tile([-1.0, 0.0, 1.0], (3, 1))[None, None]  # (1, 1, 3, 3)
    out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], [[0, 300, 300, 0]] * 3)


def test_one_by_one_conv_is_an_affine_layer_at_every_pixel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 64, 56, 56))
    w = rng.standard_normal((32, 64, 1, 1))
    b = rng.standard_normal(32)
    out, _ = conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
    assert out.shape == (1, 32, 56, 56)
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, 64)  # (56*56, 64): one row per pixel
    affine = pixels @ w.reshape(32, 64).T + b  # (56*56, 32)
    np.testing.assert_allclose(out.transpose(0, 2, 3, 1).reshape(-1, 32), affine, rtol=1e-10)


def test_neuron_grid_28x28x5_and_parameter_sharing():
    assert conv_shape((1, 3, 32, 32), 5, 5) == (1, 5, 28, 28)
    neurons = 28 * 28 * 5
    assert neurons == 3920
    assert 5 * (5 * 5 * 3 + 1) == 380  # shared: one filter per depth slice
    assert neurons * (5 * 5 * 3 + 1) == 297_920  # without sharing: every neuron its own


def test_max_pool_example_and_properties():
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)
    out, _ = max_pool_forward_naive(x[None, None], POOL)
    np.testing.assert_array_equal(out[0, 0], [[6, 8], [3, 4]])
    # depth unchanged, (W - F)/S + 1 on 224x224x64 -> 112x112x64
    big = np.zeros((1, 64, 224, 224), dtype=np.float32)
    assert max_pool_forward_fast(big, POOL)[0].shape == (1, 64, 112, 112)
    assert conv_output_size(224, 2, 2, 0, what="pool") == 112


def test_average_pool_is_a_convolution_with_fixed_weights():
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)
    w = np.full((1, 1, 2, 2), 0.25)
    out, _ = conv_forward_naive(x[None, None], w, np.zeros(1), {"stride": 2, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], [[3.25, 5.25], [2, 2]])


def test_pooling_is_robust_to_a_one_pixel_shift():
    x = np.array(
        [[1, 2, 0, 7, 1, 0], [0, 9, 2, 3, 2, 3], [3, 0, 1, 2, 1, 2],
         [2, 4, 0, 1, 0, 1], [6, 0, 1, 2, 1, 2], [2, 4, 0, 1, 8, 1]], dtype=float,
    )  # fmt: skip
    shifted = np.zeros_like(x)
    shifted[:, 1:] = x[:, :-1]  # one pixel to the right
    pool = {"pool_height": 3, "pool_width": 3, "stride": 3}
    a, _ = max_pool_forward_naive(x[None, None], pool)
    b, _ = max_pool_forward_naive(shifted[None, None], pool)
    np.testing.assert_array_equal(a[0, 0], [[9, 7], [6, 8]])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(x, shifted)


def test_stride_2_conv_downsamples_like_a_pool_and_3x3_pad_1_floors_to_16():
    assert conv_shape((1, 8, 32, 32), 8, 2, stride=2) == (1, 8, 16, 16)
    # 16.5 rounds down to 16 as in every framework: the left-out column is padding.
    assert conv_shape((1, 8, 32, 32), 8, 3, stride=2, pad=1) == (1, 8, 16, 16)
    # 3x3 pooling with stride 2 would never see row and column 31 of a 32x32 input.
    with pytest.raises(ValueError, match=r"\(32 \+ 2\*0 - 3\)/2 \+ 1 = 15.50 .* row 31 unseen"):
        pool = {"pool_height": 3, "pool_width": 3, "stride": 2}
        max_pool_forward_fast(np.zeros((1, 8, 32, 32)), pool)


def test_padding_7x7_gives_9x9_and_11x11_and_pad_1_keeps_7x7():
    # The notes: one ring of zeros adds 2 to each side length, two rings add 4.
    x = np.ones((1, 1, 7, 7))
    for pad, size in ((1, 9), (2, 11)):
        assert np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).shape == (1, 1, size, size)
    # A 3x3 filter, stride 1, on the 9x9 padded input: (9 - 3)/1 + 1 = 7.
    assert conv_output_size(7, 3, 1, 1) == 7
    assert conv_shape((1, 1, 7, 7), 1, 3, stride=1, pad=1) == (1, 1, 7, 7)


def test_1x1_conv_on_100x100x512_is_an_fc_layer_at_every_pixel():
    # The notes: D filters of 1x1x512 on a 100x100x512 input give 100x100xD, and equal an FC
    # layer 512 -> D at every pixel; the same filters accept a larger input.
    rng = np.random.default_rng(0)
    D = 16
    x = rng.standard_normal((1, 512, 100, 100)).astype(np.float32)
    w = rng.standard_normal((D, 512, 1, 1)).astype(np.float32)
    b = rng.standard_normal(D).astype(np.float32)
    out, _ = conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
    assert out.shape == (1, D, 100, 100)
    fc = x[0].reshape(512, -1).T.astype(np.float64) @ w.reshape(D, 512).T.astype(np.float64) + b
    np.testing.assert_allclose(out[0].reshape(D, -1).T, fc, rtol=1e-4, atol=1e-3)
    assert conv_shape((1, 512, 120, 160), D, 1) == (1, D, 120, 160)


def test_small_filters_same_receptive_field_fewer_weights():
    assert 5 * 5 == 25 and 2 * 3 * 3 == 18
    assert 7 * 7 == 49 and 3 * 3 * 3 == 27
    # Receptive field, measured: backpropagate from one output pixel through stacked 3x3 convs.
    for layers, field in ((2, 5), (3, 7)):
        x = np.zeros((1, 1, 15, 15))
        w = np.ones((1, 1, 3, 3))
        caches, out = [], x
        for _ in range(layers):
            out, cache = conv_forward_fast(out, w, np.zeros(1), {"stride": 1, "pad": 1})
            caches.append(cache)
        dout = np.zeros_like(out)
        dout[0, 0, 7, 7] = 1.0
        for cache in reversed(caches):
            dout, _, _ = conv_backward_fast(dout, cache)
        rows, cols = np.nonzero(dout[0, 0])
        assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (field, field)


def test_lenet_shapes_parameters_and_sigmoid_gradient():
    shape = conv_shape((1, 1, 32, 32), 6, 5)  # C1
    assert shape == (1, 6, 28, 28)
    pooled = max_pool_forward_fast(np.zeros(shape), POOL)[0].shape  # S2
    assert pooled == (1, 6, 14, 14)
    shape = conv_shape(pooled, 16, 5)  # C3
    assert shape == (1, 16, 10, 10)
    assert max_pool_forward_fast(np.zeros(shape), POOL)[0].shape == (1, 16, 5, 5)  # S4
    params = 6 * (25 + 1) + 16 * (6 * 25 + 1) + (400 * 120 + 120) + (120 * 84 + 84) + 84 * 10 + 10
    assert params == 61_706
    # The sigmoid's slope is at most 1/4 (at 0): ten sigmoid layers scale a gradient by <= 4^-10.
    s, _ = sigmoid_forward(np.array([0.0]))
    assert float(s[0] * (1 - s[0])) == 0.25
    assert 0.25**10 < 1e-6
