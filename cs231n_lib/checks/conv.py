"""Self-checks of assignment 6 (conv net): naive conv and max pool layers, ThreeLayerConvNet.

Every case is drawn from ``t.rng`` (shapes fixed, values random) and compared with the golden
values of the solution; the lecture's worked examples (computed by hand in the notes) are also
compared with their known answers. Backward checks build the documented cache themselves, so
a wrong forward pass never makes a right backward pass fail. Every check verifies that no
input was modified in place.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import layers
from cs231n_lib.checks import CheckFailed, exercise, key, where_of
from cs231n_lib.checks._models import check_model
from cs231n_lib.classifiers.cnn import ThreeLayerConvNet
from cs231n_lib.i18n import N_, _

# The deck's worked example: a 4x4 input, a 3x3 filter, pad 1, stride 1 (by hand in the notes).
LECTURE_X = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)
LECTURE_W = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float64)
LECTURE_OUT = np.array(
    [[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]], dtype=np.float64
)
# The lecture's 2x2, stride-2 max-pool example (red window -> 6, green -> 8, ...).
POOL_X = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=np.float64)
POOL_OUT = np.array([[6, 8], [3, 4]], dtype=np.float64)


_HINT = N_(
    "pad into a new array (np.pad) and accumulate into new arrays, never into x, w, b or dout"
)


def _conv_forward(t, x, w, b, conv_param):
    """Run the student's conv_forward_naive; a shape error near the border means no padding."""
    __tracebackhide__ = True
    try:
        return t.call(layers.conv_forward_naive, x, w, b, conv_param)
    except (ValueError, IndexError) as err:
        if conv_param["pad"] and ("broadcast" in str(err) or "shape" in str(err)):
            raise CheckFailed(
                _(
                    "conv_forward_naive raised {error} ({message}) with pad {pad}: a window at "
                    "the border is smaller than the filter. Did you pad x? Slice the windows "
                    "from x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))), not from "
                    "x; fix {where}"
                ).format(
                    error=type(err).__name__,
                    message=err,
                    pad=conv_param["pad"],
                    where=where_of(layers.conv_forward_naive),
                )
            ) from None
        raise


@exercise(layers.conv_forward_naive)
def _conv_forward_naive(t):
    x = t.rng.standard_normal((2, 3, 5, 6))  # (N, C, H, W), not square
    w = t.rng.standard_normal((4, 3, 3, 2))  # (F, C, HH, WW), not square
    b = t.rng.standard_normal(4)  # (F,)
    inputs = {"x": x, "w": w, "b": b}
    with t.inputs_unchanged(inputs, hint=_HINT):
        out, _cache = _conv_forward(t, x, w, b, {"stride": 1, "pad": 1})
        t.close(key(N_("out with stride 1, pad 1")), out)
        out, _cache = _conv_forward(t, x, w, b, {"stride": 2, "pad": 2})
        t.close(key(N_("out with stride 2, pad 2")), out)
    lecture, _cache = _conv_forward(
        t, LECTURE_X[None, None], LECTURE_W[None, None], np.zeros(1), {"stride": 1, "pad": 1}
    )
    t.close(key(N_("the lecture's 4x4 example")), lecture, LECTURE_OUT[None, None], rtol=1e-12)


@exercise(layers.conv_backward_naive)
def _conv_backward_naive(t):
    x = t.rng.standard_normal((2, 3, 5, 5))  # (N, C, H, W)
    w = t.rng.standard_normal((3, 3, 3, 2))  # (F, C, HH, WW)
    b = t.rng.standard_normal(3)  # (F,)
    conv_param = {"stride": 1, "pad": 1}  # H_out = 5, W_out = (5 + 2 - 2)/1 + 1 = 6
    dout = t.rng.standard_normal((2, 3, 5, 6))  # (N, F, H_out, W_out)
    inputs = {"dout": dout, "x": x, "w": w, "b": b}
    with t.inputs_unchanged(inputs, hint=_HINT):
        dx, dw, db = t.call(layers.conv_backward_naive, dout, (x, w, b, conv_param))
        t.close("dx", dx)
        t.close("dw", dw)
        t.close("db", db)
        # Stride 3 makes windows skip rows and columns: those inputs get no gradient at all.
        x3 = t.rng.standard_normal((1, 2, 7, 7))
        w3 = t.rng.standard_normal((2, 2, 2, 2))
        dout3 = t.rng.standard_normal((1, 2, 3, 3))  # (7 + 2*1 - 2)/3 + 1 = 3
        dx3, dw3, db3 = t.call(
            layers.conv_backward_naive, dout3, (x3, w3, np.zeros(2), {"stride": 3, "pad": 1})
        )
        t.close(key(N_("dx with stride 3, pad 1")), dx3)
        t.close(key(N_("dw with stride 3, pad 1")), dw3)


@exercise(layers.max_pool_forward_naive)
def _max_pool_forward_naive(t):
    x = t.rng.standard_normal((2, 3, 4, 6))  # (N, C, H, W)
    with t.inputs_unchanged({"x": x}, hint=_HINT):
        pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
        out, _cache = t.call(layers.max_pool_forward_naive, x, pool)
        t.close(key(N_("out with 2x2 windows, stride 2")), out)
        pool = {"pool_height": 2, "pool_width": 3, "stride": 1}  # overlapping, not square
        out, _cache = t.call(layers.max_pool_forward_naive, x, pool)
        t.close(key(N_("out with 2x3 windows, stride 1")), out)
    lecture, _cache = t.call(
        layers.max_pool_forward_naive,
        POOL_X[None, None], {"pool_height": 2, "pool_width": 2, "stride": 2},
    )  # fmt: skip
    t.close(
        key(N_("the lecture's 2x2 stride-2 example")), lecture, POOL_OUT[None, None], rtol=1e-12
    )


@exercise(layers.max_pool_backward_naive)
def _max_pool_backward_naive(t):
    x = t.rng.standard_normal((2, 2, 6, 4))  # (N, C, H, W)
    pool = {"pool_height": 3, "pool_width": 2, "stride": 1}  # overlapping windows
    dout = t.rng.standard_normal((2, 2, 4, 3))  # (N, C, H_out, W_out)
    inputs = {"dout": dout, "x": x}
    with t.inputs_unchanged(inputs, hint=_HINT):
        dx = t.call(layers.max_pool_backward_naive, dout, (x, pool))
        t.close(key(N_("dx with overlapping 3x2 windows")), dx)
    # After a ReLU whole windows are 0: the gradient goes to the first maximum only.
    ties = np.maximum(t.rng.standard_normal((1, 2, 4, 4)), 0.0)
    ties[0, 0, :2, :2] = 0.0
    dout2 = t.rng.standard_normal((1, 2, 2, 2))
    pool2 = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dx2 = t.call(layers.max_pool_backward_naive, dout2, (ties, pool2))
    expected = np.zeros_like(ties)
    for c in range(2):
        for i in range(2):
            for j in range(2):
                window = ties[0, c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                a, b = np.unravel_index(np.argmax(window), (2, 2))
                expected[0, c, 2 * i + a, 2 * j + b] = dout2[0, c, i, j]
    t.close(key(N_("dx when several entries tie (gradient to the first maximum)")), dx2, expected)


@exercise("three_layer_convnet", (ThreeLayerConvNet.__init__, ThreeLayerConvNet.loss))
def _three_layer_convnet(t):
    C, H, W, F, fs, hidden, classes, N = 2, 6, 8, 3, 3, 7, 4, 3
    std = 0.05
    model = t.call(
        ThreeLayerConvNet,
        input_dim=(C, H, W), num_filters=F, filter_size=fs, hidden_dim=hidden,
        num_classes=classes, weight_scale=std, dtype=np.float64,
        seed=t.seed,  # the std property is then decided by the seed, never by chance
    )  # fmt: skip
    shapes = {
        "W1": (F, C, fs, fs), "b1": (F,), "W2": (F * (H // 2) * (W // 2), hidden),
        "b2": (hidden,), "W3": (hidden, classes), "b3": (classes,),
    }  # fmt: skip
    check_model(
        t, model, shapes, (N, C, H, W), classes,
        weight_scale=std, std_range=(0.7, 1.3), zero_biases=("b1", "b2", "b3"),
        std_weights=("W1", "W2"),  # W3 has too few entries for a reliable standard deviation
        reg=0.3,
    )  # fmt: skip
