"""Layers as pairs of plain functions: ``out, cache = forward(...)``, ``grads = backward(...)``.

Every forward function returns the output and a ``cache`` with exactly what its backward
needs; every backward function unpacks that cache on its first line and returns the gradient
of the loss with respect to each input, each with the same shape as that input. No function
here modifies an input or ``dout`` in place.

Dimension names: N examples, D input features (the product d1*...*dk of the trailing
dimensions), M outputs of an affine layer, C classes.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import i18n
from cs231n_lib.i18n import N_, _


def affine_forward(x, w, b):
    """Forward pass of an affine (fully connected) layer: ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
        A minibatch of N examples; each is flattened to a row of D = d1*...*dk numbers.
    w : ndarray, shape (D, M)
        Weights.
    b : ndarray, shape (M,)
        Biases.

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        ``(x, w, b)``, the inputs, for :func:`affine_backward`.
    """
    D = int(np.prod(x.shape[1:]))
    if w.ndim != 2 or w.shape[0] != D or b.shape != (w.shape[1],):
        raise ValueError(
            i18n._(
                "affine_forward: x of shape {x_shape} has D = {D} numbers per example, so w must "
                "have shape (D, M) = ({D}, M) and b shape (M,); got w {w_shape} and b {b_shape}"
            ).format(x_shape=x.shape, D=D, w_shape=w.shape, b_shape=b.shape)
        )
    out = None
    # TODO: flatten each example of x to a row, then compute the affine output. Do not modify x.
    ### BEGIN SOLUTION
    N = x.shape[0]
    out = x.reshape(N, -1) @ w + b  # (N, M)
    ### END SOLUTION
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of an affine layer.

    With X = x.reshape(N, D) and Y = X W + b, the chain rule gives
    dL/dX = dL/dY Wᵀ, dL/dW = Xᵀ dL/dY and dL/db = sum over N of dL/dY.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient dL/dout.
    cache : tuple
        ``(x, w, b)`` from :func:`affine_forward`.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk)
        Gradient with respect to x, in x's own shape.
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    x, w, b = cache
    dx, dw, db = None, None, None
    # TODO: compute dx (reshaped back to x's shape), dw and db.
    ### BEGIN SOLUTION
    N = x.shape[0]
    dx = (dout @ w.T).reshape(x.shape)  # (N, d1, ..., dk)
    dw = x.reshape(N, -1).T @ dout  # (D, M)
    db = dout.sum(axis=0)  # (M,)
    ### END SOLUTION
    return dx, dw, db


def relu_forward(x):
    """Forward pass of a rectified linear unit: ``out = max(0, x)`` elementwise.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape as x
    cache : ndarray
        ``x``, the input, for :func:`relu_backward`.
    """
    out = None
    # TODO: implement the ReLU forward pass (without modifying x).
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    ### END SOLUTION
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of a ReLU: the gradient passes where the input was positive.

    Parameters
    ----------
    dout : ndarray, any shape
        Upstream gradient.
    cache : ndarray
        ``x``, the input of :func:`relu_forward`, same shape as dout.

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    x = cache
    dx = None
    # TODO: implement the ReLU backward pass (without modifying dout).
    ### BEGIN SOLUTION
    dx = np.where(x > 0, dout, 0.0)
    ### END SOLUTION
    return dx


def sigmoid_forward(x):
    """Forward pass of the logistic sigmoid: ``out = 1 / (1 + exp(-x))`` elementwise.

    Computed without overflow for large |x| (no ``exp`` of a large positive number).

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape as x, values in [0, 1]
    cache : ndarray
        ``out``, the output: the derivative is out * (1 - out).
    """
    out = None
    # TODO: implement the sigmoid forward pass without overflow warnings for large |x|
    # (hint: exp(-|x|) is never larger than 1).
    ### BEGIN SOLUTION
    z = np.exp(-np.abs(x))  # in (0, 1]
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    ### END SOLUTION
    cache = out
    return out, cache


def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid: ``dx = dout * out * (1 - out)``.

    Parameters
    ----------
    dout : ndarray, any shape
        Upstream gradient.
    cache : ndarray
        ``out``, the output of :func:`sigmoid_forward`, same shape as dout.

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    out = cache
    dx = None
    # TODO: implement the sigmoid backward pass using the cached output.
    ### BEGIN SOLUTION
    dx = dout * out * (1.0 - out)
    ### END SOLUTION
    return dx


def _check_scores_labels(x, y):
    """Raise a clear error when scores and labels do not fit together."""
    if x.ndim != 2:
        raise ValueError(
            _("scores x must have shape (N, C), got shape {shape}").format(shape=x.shape)
        )
    if y.shape != (x.shape[0],):
        raise ValueError(
            _("labels y must have shape (N,) = ({N},), got shape {shape}").format(
                N=x.shape[0], shape=y.shape
            )
        )
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        raise ValueError(
            _(
                "labels y must lie in 0..{last} (C = {C} classes), got values from {low} to {high}"
            ).format(last=x.shape[1] - 1, C=x.shape[1], low=y.min(), high=y.max())
        )


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the minibatch.

    L = 1/N * sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1)

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores; x[i, j] is the score of class j for example i.
    y : ndarray of int, shape (N,)
        Labels, 0 <= y[i] < C.

    Returns
    -------
    loss : float
    dx : ndarray, shape (N, C)
        Gradient of the loss with respect to x.
    """
    _check_scores_labels(x, y)
    loss, dx = None, None
    # TODO: compute the SVM loss and its gradient, vectorised (no loops over N or C).
    ### BEGIN SOLUTION
    N = x.shape[0]
    rows = np.arange(N)
    correct = x[rows, y][:, None]  # (N, 1)
    margins = np.maximum(0.0, x - correct + 1.0)  # (N, C)
    margins[rows, y] = 0.0  # margins is our own array, not an input
    loss = float(margins.sum() / N)
    positive = (margins > 0).astype(x.dtype)  # (N, C)
    positive[rows, y] = -positive.sum(axis=1)
    dx = positive / N  # (N, C)
    ### END SOLUTION
    return loss, dx


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss, averaged over the minibatch, computed stably.

    L = -1/N * sum_i log(exp(x[i, y_i]) / sum_j exp(x[i, j]))

    Scores are shifted by their row maximum before ``exp`` (softmax does not change when a
    constant is added to a row), so scores of size 1e4 give finite results.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores.
    y : ndarray of int, shape (N,)
        Labels, 0 <= y[i] < C.

    Returns
    -------
    loss : float
    dx : ndarray, shape (N, C)
        Gradient of the loss with respect to x: (softmax(x) - onehot(y)) / N.
    """
    _check_scores_labels(x, y)
    loss, dx = None, None
    # TODO: compute the softmax loss and its gradient, vectorised.
    #   Numerical stability, for scores of 1e4: shift the scores by their maximum m before
    #   np.exp, so that nothing overflows. Then do not form p_y and take -log(p_y): when s_y is
    #   more than about 745 below m, p_y = exp(s_y - m) / sum underflows to exactly 0 and
    #   -log(0) = inf. Compute the log-probability directly:
    #   log p_y = (s_y - m) - log(sum_k exp(s_k - m)).
    ### BEGIN SOLUTION
    N = x.shape[0]
    rows = np.arange(N)
    shifted = x - x.max(axis=1, keepdims=True)  # (N, C), each row's max is 0
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
    loss = float(-log_probs[rows, y].sum() / N)
    dx = np.exp(log_probs)  # (N, C), softmax probabilities
    dx[rows, y] -= 1.0
    dx /= N
    ### END SOLUTION
    return loss, dx


# ---- Convolution and pooling (naive reference versions) ----


def conv_output_size(size, filter_size, stride, pad=0, *, what="conv output width"):
    """Output size of a sliding window: ``floor((size + 2*pad - filter_size)/stride) + 1``.

    The rule of every framework (PyTorch's ``conv2d`` and ``max_pool2d``, TensorFlow's
    ``VALID`` padding), with one guard from the lecture notes: when the division is not exact,
    the last windows are left out, and that must never cost input pixels silently. So

    - when the windows fit exactly, or what the floor leaves out is only padding (the popular
      3×3, stride 2, pad 1 convolution on 32×32: 16.5 → 16, the skipped column is a zero of
      the padding), the floored size is returned, as a framework would;
    - when the floor would leave real rows or columns of the input unseen (a 3×3 filter with
      stride 3 on 7×7; 3×3 pooling with stride 2 on 32×32), it raises, saying which pixels and
      which settings see every pixel. (A stride larger than the window skips rows between
      the windows by design, as in a 1×1 convolution with stride 2; that floors too.)

    Parameters
    ----------
    size : int
        Input height or width (H or W).
    filter_size : int
        Window height or width (HH or WW, pool_height or pool_width).
    stride : int
        Step between two windows, >= 1.
    pad : int
        Zeros added on each side, >= 0.
    what : str
        Name used in the error message, e.g. ``"conv output height"``; a name that starts
        with ``"pool"`` makes the suggestions keep pad 0 (the pooling layers do not pad).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the window is larger than the padded input, or if flooring would drop input
        pixels; the message shows the formula with the numbers and settings that fit.
    """
    size, filter_size, stride, pad = int(size), int(filter_size), int(stride), int(pad)
    shown = _(what)  # the message in the student's language (what: one of _OUTPUT_SIZE_NAMES)
    if stride < 1 or pad < 0 or filter_size < 1:
        raise ValueError(
            _(
                "{what}: need filter size >= 1, stride >= 1 and pad >= 0, got filter size "
                "{filter_size}, stride {stride}, pad {pad}"
            ).format(what=shown, filter_size=filter_size, stride=stride, pad=pad)
        )
    span = size + 2 * pad - filter_size  # how far the window travels
    formula = f"({size} + 2*{pad} - {filter_size})/{stride} + 1"
    if span < 0:
        raise ValueError(
            _(
                "{what} {formula} = {value:.2f}: the window ({filter_size}) is larger than the "
                "padded input ({size} + 2*{pad} = {padded}); use a smaller filter or more padding"
            ).format(
                what=shown,
                formula=formula,
                value=span / stride + 1,
                filter_size=filter_size,
                size=size,
                pad=pad,
                padded=size + 2 * pad,
            )  # fmt: skip
        )
    out = span // stride + 1
    unseen = _unseen_pixels(size, filter_size, stride, pad)
    can_pad = not what.startswith("pool")
    if unseen:
        last = size - 1
        rows = "height" in what
        if unseen == 1:
            text = (
                N_("{what} {formula} = {value:.2f} is not an integer, and rounding down to {out}, "
                   "as frameworks do, would leave input row {last} unseen (no window reaches "
                   "it); {fix}")
                if rows
                else N_("{what} {formula} = {value:.2f} is not an integer, and rounding down to "
                        "{out}, as frameworks do, would leave input column {last} unseen (no "
                        "window reaches it); {fix}")
            )  # fmt: skip
        else:
            text = (
                N_("{what} {formula} = {value:.2f} is not an integer, and rounding down to {out}, "
                   "as frameworks do, would leave input rows {first} to {last} unseen (no window "
                   "reaches them); {fix}")
                if rows
                else N_("{what} {formula} = {value:.2f} is not an integer, and rounding down to "
                        "{out}, as frameworks do, would leave input columns {first} to {last} "
                        "unseen (no window reaches them); {fix}")
            )  # fmt: skip
        raise ValueError(
            _(text).format(
                what=shown,
                formula=formula,
                value=span / stride + 1,
                out=out,
                first=last - unseen + 1,
                last=last,
                fix=_fitting_settings(size, filter_size, stride, pad, can_pad=can_pad),
            )  # fmt: skip
        )
    return out


# The names conv_output_size is called with (its ``what``), shown in the student's language.
_OUTPUT_SIZE_NAMES = (
    N_("conv output height"),
    N_("conv output width"),
    N_("pool output height"),
    N_("pool output width"),
    N_("output size"),
)


def _unseen_pixels(size, filter_size, stride, pad):
    """How many input rows (or columns) at the far border no window reaches after flooring.

    Counted only when the windows leave no gaps (stride <= filter size). With a larger stride
    (a 1x1 convolution with stride 2, as in ResNet's shortcuts) rows between the windows are
    skipped by design, and a skipped last row is one of them.
    """
    span = size + 2 * pad - filter_size
    if span < 0:
        return size
    if stride > filter_size:
        return 0
    reach = (span // stride) * stride + filter_size  # end of the last window, padded coordinates
    return max(0, pad + size - reach)


def _fitting_settings(size, filter_size, stride, pad, *, can_pad=True):
    """Settings a person would choose instead, each of which sees every input pixel."""

    def fits(f, s, p):
        return size + 2 * p - f >= 0 and _unseen_pixels(size, f, s, p) == 0

    def output(f, s, p):
        return (size + 2 * p - f) // s + 1

    hints = []
    if can_pad:
        for p in sorted(range(filter_size), key=lambda p: (abs(p - pad), p)):
            if p != pad and fits(filter_size, stride, p):
                out = output(filter_size, stride, p)
                hints.append(
                    _("pad {pad} with stride {stride} (output {out})").format(
                        pad=p, stride=stride, out=out
                    )
                )
                break
    if not can_pad:  # pooling: the usual fix is another window size (2x2, stride 2 halves)
        for f in (2, 3, 4):
            if f != filter_size and fits(f, 2, 0):
                hints.append(
                    _("{f}x{f} windows with stride 2 (output {out})").format(
                        f=f, out=output(f, 2, 0)
                    )
                )
                break
    for s in (2, 1):
        if s < stride and fits(filter_size, s, pad):
            hints.append(
                _("stride {stride} with pad {pad} (output {out})").format(
                    stride=s, pad=pad, out=output(filter_size, s, pad)
                )
            )
            break
    if not hints:
        return _("choose a stride and pad for which (size + 2*pad - filter)/stride is an integer")
    text = hints[0]
    for hint in hints[1:]:
        text = _("{first}; or {second}").format(first=text, second=hint)
    return _("settings that see every pixel: {hints}").format(hints=text)


def _pad_hw(x, pad):
    """Zero-pad the two spatial axes of x (N, C, H, W) -> (N, C, H + 2*pad, W + 2*pad)."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def conv_forward_naive(x, w, b, conv_param):
    """Forward pass of a convolutional layer, with explicit loops.

    Each of the F filters spans the full depth C of the input. It slides over the zero-padded
    input with step ``stride``; at output position (i, j) the filter's dot product with the
    window under it, plus the filter's bias, is one number:

        out[n, f, i, j] = sum_{c, a, b'} xpad[n, c, i*S + a, j*S + b'] * w[f, c, a, b'] + b[f]

    with H_out = (H + 2*pad - HH)/stride + 1 and W_out = (W + 2*pad - WW)/stride + 1.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input minibatch.
    w : ndarray, shape (F, C, HH, WW)
        Filters; HH and WW may differ (non-square filters).
    b : ndarray, shape (F,)
        One bias per filter.
    conv_param : dict
        ``'stride'``: step between windows, in both directions; ``'pad'``: zeros added on each
        side of H and W.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param)`` for :func:`conv_backward_naive`.

    Raises
    ------
    ValueError
        If the windows would leave input pixels unseen (see :func:`conv_output_size`).
    """
    N, C, H, W = x.shape
    F, C_w, HH, WW = w.shape
    if C_w != C:
        raise ValueError(
            i18n._(
                "filters have depth {C_w} but the input has depth {C}: filters always extend the "
                "full depth of the input, so w must have shape (F, {C}, HH, WW)"
            ).format(C_w=C_w, C=C)
        )
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out = conv_output_size(H, HH, stride, pad, what="conv output height")
    W_out = conv_output_size(W, WW, stride, pad, what="conv output width")
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    # TODO: zero-pad x (np.pad, without modifying x), then loop over examples n, filters f and
    # output positions (i, j): out[n, f, i, j] is the sum of the window under the filter times
    # the filter, plus the bias b[f]. The window starts at row i*stride and column j*stride.
    ### BEGIN SOLUTION
    xpad = _pad_hw(x, pad)  # (N, C, H + 2*pad, W + 2*pad)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    window = xpad[n, :, hs : hs + HH, ws : ws + WW]  # (C, HH, WW)
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    ### END SOLUTION
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass of a convolutional layer, with explicit loops.

    Every output out[n, f, i, j] used one window of the padded input and the whole filter
    w[f], so its upstream gradient flows back to both:

        dxpad[n, :, window(i, j)] += w[f] * dout[n, f, i, j]
        dw[f]                     += xpad[n, :, window(i, j)] * dout[n, f, i, j]
        db[f]                     += dout[n, f, i, j]

    and dx is dxpad without its padding.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
        Upstream gradient.
    cache : tuple
        ``(x, w, b, conv_param)`` from :func:`conv_forward_naive`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    dx, dw, db = None, None, None
    # TODO: loop over n, f, i, j as in the forward pass; add each output's contribution to
    # the gradient of the padded input, to dw[f] and to db[f]. Return dx without the padding.
    ### BEGIN SOLUTION
    xpad = _pad_hw(x, pad)  # (N, C, H + 2*pad, W + 2*pad)
    dxpad = np.zeros_like(xpad, dtype=np.result_type(x, w, dout))
    dw = np.zeros_like(w, dtype=np.result_type(x, w, dout))  # (F, C, HH, WW)
    db = np.zeros_like(b, dtype=np.result_type(b, dout))  # (F,)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    g = dout[n, f, i, j]
                    dxpad[n, :, hs : hs + HH, ws : ws + WW] += w[f] * g
                    dw[f] += xpad[n, :, hs : hs + HH, ws : ws + WW] * g
                    db[f] += g
    dx = dxpad[:, :, pad : pad + H, pad : pad + W]  # (N, C, H, W)
    ### END SOLUTION
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Forward pass of a max-pooling layer, with explicit loops.

    Each depth slice is pooled on its own: out[n, c, i, j] is the largest value of x[n, c] in
    the pool_height × pool_width window that starts at row i*stride and column j*stride. There
    are no parameters, the depth C is unchanged, and H_out = (H - pool_height)/stride + 1,
    W_out = (W - pool_width)/stride + 1 (no padding).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'``, ``'pool_width'``, ``'stride'``.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)`` for :func:`max_pool_backward_naive`.

    Raises
    ------
    ValueError
        If the windows would leave input pixels unseen (see :func:`conv_output_size`).
    """
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out = conv_output_size(H, ph, stride, 0, what="pool output height")
    W_out = conv_output_size(W, pw, stride, 0, what="pool output width")
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    # TODO: loop over n, c and output positions (i, j); out[n, c, i, j] is the maximum of the
    # window of x[n, c] that starts at row i*stride and column j*stride.
    ### BEGIN SOLUTION
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    out[n, c, i, j] = np.max(x[n, c, hs : hs + ph, ws : ws + pw])
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Backward pass of a max-pooling layer, with explicit loops.

    The max passes its upstream gradient to the input it selected and nothing to the others.
    When several entries of a window tie for the maximum (all zeros after a ReLU, say), the
    first one in row-major order gets the gradient, as ``np.argmax`` picks it; the fast
    version does the same, so the two agree exactly.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
        Upstream gradient.
    cache : tuple
        ``(x, pool_param)`` from :func:`max_pool_forward_naive`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, pool_param = cache
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dx = None
    # TODO: loop over n, c, i, j; find where the maximum of the window is (np.argmax and
    # np.unravel_index) and add dout[n, c, i, j] to dx at that position (the first maximum
    # if several entries tie).
    ### BEGIN SOLUTION
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout))  # (N, C, H, W)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    window = x[n, c, hs : hs + ph, ws : ws + pw]  # (ph, pw)
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, hs + a, ws + b] += dout[n, c, i, j]
    ### END SOLUTION
    return dx


# ---- Normalisation and dropout (assignment 5: deeper fully connected nets) -------------------
#
# CS231n's names and signatures. Dimension names as above, plus G groups of channels. The
# parameter dicts (bn_param, ln_param, dropout_param, gn_param) are read, and bn_param's
# running averages are *replaced* by new arrays (never updated in place), so a caller's arrays
# are never modified.

_MODES = ("train", "test")


def _check_mode(fn, param):
    mode = param.get("mode")
    if mode not in _MODES:
        raise ValueError(
            _(
                "{fn}: mode must be 'train' or 'test', got {mode!r}; set "
                "param['mode'] = 'train' while training and 'test' to evaluate"
            ).format(fn=fn, mode=mode)
        )
    return mode


def _check_affine_params(fn, gamma, beta, size, what):
    for name, value in (("gamma", gamma), ("beta", beta)):
        if np.shape(value) != (size,):
            raise ValueError(
                _(
                    "{fn}: {name} must have shape ({size},), one value per {what}; got shape "
                    "{shape}"
                ).format(fn=fn, name=name, size=size, what=_(what), shape=np.shape(value))
            )


def batchnorm_forward(x, gamma, beta, bn_param):
    """Forward pass of batch normalisation over a minibatch of feature vectors.

    In training mode each feature is normalised with the mean and variance of the minibatch,
    then scaled and shifted::

        mu = mean(x, axis=0),  var = mean((x - mu)**2, axis=0)      (biased: divide by N)
        x_hat = (x - mu) / sqrt(var + eps),  out = gamma * x_hat + beta

    and running averages are kept for test time::

        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var * N / (N - 1)

    The forward pass uses the *biased* variance (as CS231n and PyTorch do); the running average
    keeps the *unbiased* one, N/(N-1) times larger, as PyTorch's ``BatchNorm1d`` does (and as
    the batch-norm paper does at inference), so the two agree in evaluation mode too. In test
    mode the running averages replace mu and var, and nothing is updated.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma : ndarray, shape (D,)
        Scale of each feature.
    beta : ndarray, shape (D,)
        Shift of each feature.
    bn_param : dict
        ``'mode'``: ``'train'`` or ``'test'`` (required); ``'eps'`` (default 1e-5);
        ``'momentum'`` (default 0.9, the weight of the old average); ``'running_mean'`` and
        ``'running_var'``, shape (D,) (default zeros and ones, created on the first call).
        After a training-mode call, bn_param holds new running averages (new arrays: the old
        ones are not modified).

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple or None
        Training mode: ``(x, x_hat, mu, var, gamma, beta, eps)`` for :func:`batchnorm_backward`
        (``x_hat`` (N, D); ``mu``, ``var``, ``gamma``, ``beta`` (D,)). Test mode: None.

    Raises
    ------
    ValueError
        For a mode other than 'train'/'test', gamma or beta not of shape (D,), or a training
        batch of one example (its variance is 0, so every output would be beta).
    """
    N, D = x.shape
    mode = _check_mode("batchnorm_forward", bn_param)
    _check_affine_params("batchnorm_forward", gamma, beta, D, N_("feature"))
    if mode == "train" and N < 2:
        raise ValueError(
            i18n._(
                "batchnorm_forward: a training batch needs at least 2 examples, got N = {N}: the "
                "variance of one example is 0, so every output would be beta; use a batch size "
                "of 2 or more (or mode 'test')"
            ).format(N=N)
        )
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))  # (D,)
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))  # (D,)

    out, cache = None, None
    if mode == "train":
        # TODO: compute the minibatch mean and (biased) variance of every feature, normalise x
        # with them, scale by gamma and shift by beta. Keep in cache what batchnorm_backward
        # needs: (x, x_hat, mu, var, gamma, beta, eps). Then compute the new running averages
        # (the unbiased variance, var * N / (N - 1)) as new arrays: no in-place update.
        ### BEGIN SOLUTION
        mu = x.mean(axis=0)  # (D,)
        var = ((x - mu) ** 2).mean(axis=0)  # (D,), biased
        x_hat = (x - mu) / np.sqrt(var + eps)  # (N, D)
        out = gamma * x_hat + beta  # (N, D)
        cache = (x, x_hat, mu, var, gamma, beta, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mu  # (D,)
        running_var = momentum * running_var + (1 - momentum) * var * N / (N - 1)  # (D,)
        ### END SOLUTION
    else:
        # TODO: normalise x with the running mean and variance, then scale and shift.
        ### BEGIN SOLUTION
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta  # (N, D)
        ### END SOLUTION

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of batch normalisation (training mode), step by step on its graph.

    Walk the computational graph of the forward pass backwards, one node at a time:
    out = gamma * x_hat + beta; x_hat = xmu * ivar with xmu = x - mu and
    ivar = 1 / sqrt(var + eps); var = mean(xmu**2); mu = mean(x). The gradient reaches x along
    three paths (directly through xmu, through var, through mu) and they add up.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : tuple
        ``(x, x_hat, mu, var, gamma, beta, eps)`` from :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma : ndarray, shape (D,)
    dbeta : ndarray, shape (D,)
    """
    x, x_hat, mu, var, gamma, beta, eps = cache
    N, D = dout.shape
    dx, dgamma, dbeta = None, None, None
    # TODO: backpropagate through each node of the graph in turn (out, x_hat, ivar, var, xmu,
    # mu) and add the gradients that reach x along each path.
    ### BEGIN SOLUTION
    dbeta = dout.sum(axis=0)  # (D,)
    dgamma = (dout * x_hat).sum(axis=0)  # (D,)
    xmu = x - mu  # (N, D)
    std = np.sqrt(var + eps)  # (D,)
    ivar = 1.0 / std  # (D,)
    dx_hat = dout * gamma  # (N, D)
    divar = (dx_hat * xmu).sum(axis=0)  # (D,)
    dxmu = dx_hat * ivar  # (N, D), the direct path
    dstd = -divar / std**2  # (D,)
    dvar = 0.5 * dstd / std  # (D,)
    dxmu = dxmu + 2.0 * xmu * dvar / N  # (N, D), the path through var = mean(xmu**2)
    dmu = -dxmu.sum(axis=0)  # (D,)
    dx = dxmu + dmu / N  # (N, D), the path through mu = mean(x)
    ### END SOLUTION
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of batch normalisation in closed form (same result, fewer operations).

    Working the graph out on paper, the three paths to x collapse into one expression per
    feature::

        dx = gamma / (N * sqrt(var + eps)) * (N * dout - sum(dout) - x_hat * sum(dout * x_hat))

    with the sums over the batch (axis 0).

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : tuple
        ``(x, x_hat, mu, var, gamma, beta, eps)`` from :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma : ndarray, shape (D,)
    dbeta : ndarray, shape (D,)
    """
    x, x_hat, mu, var, gamma, beta, eps = cache
    N, D = dout.shape
    dx, dgamma, dbeta = None, None, None
    # TODO: compute dbeta, dgamma and dx with the closed-form expression above, one line each.
    ### BEGIN SOLUTION
    dbeta = dout.sum(axis=0)  # (D,)
    dgamma = (dout * x_hat).sum(axis=0)  # (D,)
    dx = gamma / (N * np.sqrt(var + eps)) * (N * dout - dbeta - x_hat * dgamma)  # (N, D)
    ### END SOLUTION
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Forward pass of layer normalisation: each example is normalised over its own features.

    ::

        mu = mean(x, axis=1),  var = mean((x - mu)**2, axis=1)      (per example, biased)
        out = gamma * (x - mu) / sqrt(var + eps) + beta

    Training and test time compute the same thing (no running averages, no dependence on the
    other examples of the batch), so ``ln_param`` has no mode. Equal to PyTorch's
    ``LayerNorm(D, eps=eps)``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma : ndarray, shape (D,)
    beta : ndarray, shape (D,)
    ln_param : dict
        ``'eps'`` (default 1e-5).

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple
        ``(x_hat, var, gamma, eps)`` for :func:`layernorm_backward` (``x_hat`` (N, D),
        ``var`` (N, 1), ``gamma`` (D,)).
    """
    N, D = x.shape
    _check_affine_params("layernorm_forward", gamma, beta, D, N_("feature"))
    eps = ln_param.get("eps", 1e-5)
    out, cache = None, None
    # TODO: the batch-norm computation with the roles of the axes swapped: statistics of each
    # row (axis=1, keepdims=True). Cache (x_hat, var, gamma, eps).
    ### BEGIN SOLUTION
    mu = x.mean(axis=1, keepdims=True)  # (N, 1)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)  # (N, 1)
    x_hat = (x - mu) / np.sqrt(var + eps)  # (N, D)
    out = gamma * x_hat + beta  # (N, D)
    cache = (x_hat, var, gamma, eps)
    ### END SOLUTION
    return out, cache


def layernorm_backward(dout, cache):
    """Backward pass of layer normalisation.

    The closed form of batch norm's backward pass with the sums taken over the D features of
    each example instead of the N examples::

        dx_hat = dout * gamma
        dx = (D * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) / (D * sqrt(var + eps))

    with the sums over axis 1.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : tuple
        ``(x_hat, var, gamma, eps)`` from :func:`layernorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma : ndarray, shape (D,)
    dbeta : ndarray, shape (D,)
    """
    x_hat, var, gamma, eps = cache
    N, D = dout.shape
    dx, dgamma, dbeta = None, None, None
    # TODO: dbeta and dgamma are sums over the batch as in batch norm; dx follows the formula
    # above (sums over each row, keepdims=True).
    ### BEGIN SOLUTION
    dbeta = dout.sum(axis=0)  # (D,)
    dgamma = (dout * x_hat).sum(axis=0)  # (D,)
    dx_hat = dout * gamma  # (N, D)
    dx = (
        D * dx_hat
        - dx_hat.sum(axis=1, keepdims=True)
        - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True)
    ) / (D * np.sqrt(var + eps))  # (N, D)
    ### END SOLUTION
    return dx, dgamma, dbeta


def _mask_rng(dropout_param):
    """The generator dropout masks are drawn from (see :func:`dropout_forward`)."""
    seed = dropout_param.get("seed")
    if seed is None:
        return np.random.mtrand._rand  # NumPy's global generator: np.random.seed(...) sets it
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise ValueError(
        _(
            "dropout_forward: dropout_param['seed'] must be None, an int or a "
            "numpy.random.Generator, got {seed!r}"
        ).format(seed=seed)
    )


def dropout_forward(x, dropout_param):
    """Forward pass of inverted dropout.

    In training mode every unit is kept with probability ``p`` and set to 0 otherwise; the kept
    units are divided by ``p`` so that the expected output equals x. At test time the layer
    is the identity: because of the division at training time, no rescaling is needed.

    Parameters
    ----------
    x : ndarray, any shape
    dropout_param : dict
        ``'p'``: probability of *keeping* each unit, in (0, 1] (CS231n's convention; PyTorch's
        ``p`` is the probability of dropping). ``'mode'``: ``'train'`` or ``'test'``.
        ``'seed'`` (optional): an int gives the same mask on every call (what a gradient check
        needs); a ``numpy.random.Generator`` gives a reproducible sequence of masks; None (the
        default) draws from NumPy's global generator (``np.random.seed`` makes it repeatable).

    Returns
    -------
    out : ndarray, same shape as x
    cache : tuple
        ``(dropout_param, mask)`` for :func:`dropout_backward`; ``mask`` (same shape as x) holds
        0 for a dropped unit and 1/p for a kept one (None in test mode).

    Raises
    ------
    ValueError
        For a keep probability outside (0, 1] or a mode other than 'train'/'test'.
    """
    p = dropout_param.get("p")
    if isinstance(p, bool) or not isinstance(p, int | float | np.floating) or not 0 < p <= 1:
        raise ValueError(
            i18n._(
                "dropout_forward: dropout_param['p'] is the probability of keeping a unit and "
                "must be in (0, 1], got {p!r} (p = 1 keeps every unit: no dropout)"
            ).format(p=p)
        )
    mode = _check_mode("dropout_forward", dropout_param)
    out, mask = None, None
    if mode == "train":
        rng = _mask_rng(dropout_param)
        # TODO: draw the mask as (rng.random(x.shape) < p).astype(x.dtype) / p, so that kept
        # units are scaled by 1/p (inverted dropout), and multiply x by it.
        ### BEGIN SOLUTION
        mask = (rng.random(x.shape) < p).astype(x.dtype) / p  # same shape as x: 0 or 1/p
        out = x * mask
        ### END SOLUTION
    else:
        # TODO: at test time dropout does nothing (return x itself or a copy).
        ### BEGIN SOLUTION
        out = x
        ### END SOLUTION
    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    """Backward pass of inverted dropout: the gradient flows through the kept units, scaled.

    Parameters
    ----------
    dout : ndarray, any shape
    cache : tuple
        ``(dropout_param, mask)`` from :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    dropout_param, mask = cache
    mode = _check_mode("dropout_backward", dropout_param)
    dx = None
    # TODO: in training mode multiply dout by the mask; in test mode pass dout through.
    ### BEGIN SOLUTION
    dx = dout * mask if mode == "train" else dout
    ### END SOLUTION
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Forward pass of spatial batch normalisation: batch norm for convolutional feature maps.

    Every channel is one feature, and its statistics are taken over the batch *and* every
    spatial position, N*H*W numbers. So move the channels last, view the maps as N*H*W rows
    of C features, and reuse :func:`batchnorm_forward`. Equal to PyTorch's ``BatchNorm2d``
    (the running average keeps the unbiased variance, as there).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma : ndarray, shape (C,)
    beta : ndarray, shape (C,)
    bn_param : dict
        As for :func:`batchnorm_forward`, with running averages of shape (C,).

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple or None
        The cache of :func:`batchnorm_forward` (training mode; None in test mode).
    """
    N, C, H, W = x.shape
    _check_affine_params("spatial_batchnorm_forward", gamma, beta, C, N_("channel"))
    out, cache = None, None
    # TODO: transpose x to (N, H, W, C), reshape it to (N*H*W, C), call batchnorm_forward, and
    # bring the result back to (N, C, H, W).
    ### BEGIN SOLUTION
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)  # (N*H*W, C)
    out_rows, cache = batchnorm_forward(rows, gamma, beta, bn_param)  # (N*H*W, C)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)  # (N, C, H, W)
    ### END SOLUTION
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial batch normalisation.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        From :func:`spatial_batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma : ndarray, shape (C,)
    dbeta : ndarray, shape (C,)
    """
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = None, None, None
    # TODO: the same reshape as the forward pass, then batchnorm_backward_alt.
    ### BEGIN SOLUTION
    drows = dout.transpose(0, 2, 3, 1).reshape(-1, C)  # (N*H*W, C)
    dx_rows, dgamma, dbeta = batchnorm_backward_alt(drows, cache)  # (N*H*W, C)
    dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)  # (N, C, H, W)
    ### END SOLUTION
    return dx, dgamma, dbeta


def _gn_gamma(fn, gamma, beta, C):
    """gamma and beta as (C,) arrays, accepting CS231n's (1, C, 1, 1) as well."""
    shapes = {np.shape(gamma), np.shape(beta)}
    if not shapes <= {(C,), (1, C, 1, 1)}:
        raise ValueError(
            _(
                "{fn}: gamma and beta must have shape ({C},) or (1, {C}, 1, 1), one value per "
                "channel; got {gamma_shape} and {beta_shape}"
            ).format(fn=fn, C=C, gamma_shape=np.shape(gamma), beta_shape=np.shape(beta))
        )
    return np.reshape(gamma, C), np.reshape(beta, C)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Forward pass of group normalisation.

    The C channels of each example are split into G groups of C/G consecutive channels; each
    group of each example is normalised over its C/G * H * W numbers (biased variance), then
    every channel is scaled and shifted by its own gamma and beta. G = 1 is layer norm over a
    whole example; G = C normalises every channel of every example alone (instance norm).
    Nothing depends on the other examples, so training and test time are the same. Equal to
    PyTorch's ``GroupNorm(G, C, eps=eps)``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma : ndarray, shape (C,) or (1, C, 1, 1)
    beta : ndarray, shape (C,) or (1, C, 1, 1)
    G : int
        Number of groups; must divide C.
    gn_param : dict
        ``'eps'`` (default 1e-5).

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(x_hat, var, gamma, G, eps)`` for :func:`spatial_groupnorm_backward`: ``x_hat``
        (N, C, H, W), ``var`` (N, G, 1, 1, 1), ``gamma`` as given.

    Raises
    ------
    ValueError
        If G does not divide C, or gamma/beta have the wrong shape.
    """
    N, C, H, W = x.shape
    if int(G) != G or G < 1 or C % G:
        raise ValueError(
            i18n._(
                "spatial_groupnorm_forward: the number of groups G must be a positive divisor of "
                "the C = {C} channels, got G = {G!r}"
            ).format(C=C, G=G)
        )
    G = int(G)
    g, b = _gn_gamma("spatial_groupnorm_forward", gamma, beta, C)  # (C,), (C,)
    eps = gn_param.get("eps", 1e-5)
    out, cache = None, None
    # TODO: view x as (N, G, C // G, H, W), normalise over the last three axes (keepdims=True),
    # view the result as (N, C, H, W) again, and scale and shift each channel by g and b
    # (reshaped to (1, C, 1, 1)). Cache (x_hat, var, gamma, G, eps).
    ### BEGIN SOLUTION
    xg = x.reshape(N, G, C // G, H, W)  # (N, G, C/G, H, W)
    mu = xg.mean(axis=(2, 3, 4), keepdims=True)  # (N, G, 1, 1, 1)
    var = ((xg - mu) ** 2).mean(axis=(2, 3, 4), keepdims=True)  # (N, G, 1, 1, 1)
    x_hat = ((xg - mu) / np.sqrt(var + eps)).reshape(N, C, H, W)  # (N, C, H, W)
    out = g.reshape(1, C, 1, 1) * x_hat + b.reshape(1, C, 1, 1)  # (N, C, H, W)
    cache = (x_hat, var, gamma, G, eps)
    ### END SOLUTION
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of group normalisation.

    Inside each group it is layer norm's backward pass over the M = C/G * H * W numbers of the
    group; dgamma and dbeta are sums over every axis but the channels.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(x_hat, var, gamma, G, eps)`` from :func:`spatial_groupnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma : ndarray, same shape as gamma ((C,) or (1, C, 1, 1))
    dbeta : ndarray, same shape as gamma
    """
    x_hat, var, gamma, G, eps = cache
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = None, None, None
    # TODO: dbeta and dgamma sum over axes (0, 2, 3) (then take gamma's shape); dx is layer
    # norm's backward formula applied to each group of dx_hat = dout * gamma, viewed as
    # (N, G, C // G, H, W) with sums over the last three axes.
    ### BEGIN SOLUTION
    M = C // G * H * W  # numbers per group
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    dx_hat = (dout * np.reshape(gamma, (1, C, 1, 1))).reshape(N, G, C // G, H, W)
    xh = x_hat.reshape(N, G, C // G, H, W)  # (N, G, C/G, H, W)
    axes = (2, 3, 4)
    dxg = (
        M * dx_hat
        - dx_hat.sum(axis=axes, keepdims=True)
        - xh * (dx_hat * xh).sum(axis=axes, keepdims=True)
    ) / (M * np.sqrt(var + eps))  # (N, G, C/G, H, W)
    dx = dxg.reshape(N, C, H, W)
    ### END SOLUTION
    return dx, dgamma, dbeta


# ---- Naive twins of the spatial normalisations (support code) -------------------------------
#
# One channel (batch norm) or one group (group norm) at a time, through the plain batch-norm and
# layer-norm functions above. Slow, but obviously right when those are; the tests and the
# conv-net notebook hold the vectorised versions equal to them.


def spatial_batchnorm_forward_naive(x, gamma, beta, bn_param):
    """Spatial batch norm one channel at a time: :func:`batchnorm_forward` on each channel's
    N*H*W numbers as a single feature. Same arguments and results as
    :func:`spatial_batchnorm_forward`; the cache is a list of per-channel caches."""
    N, C, H, W = x.shape
    _check_affine_params("spatial_batchnorm_forward_naive", gamma, beta, C, N_("channel"))
    mode = _check_mode("spatial_batchnorm_forward_naive", bn_param)
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))  # (C,)
    running_var = bn_param.get("running_var", np.ones(C, dtype=x.dtype))  # (C,)
    out = np.empty_like(x)  # (N, C, H, W)
    caches, new_mean, new_var = [], [], []
    for c in range(C):
        param = {
            key: bn_param[key] for key in ("eps", "momentum") if key in bn_param
        } | {"mode": mode, "running_mean": running_mean[c : c + 1],
             "running_var": running_var[c : c + 1]}  # fmt: skip
        column = x[:, c].reshape(-1, 1)  # (N*H*W, 1)
        out_c, cache_c = batchnorm_forward(column, gamma[c : c + 1], beta[c : c + 1], param)
        out[:, c] = out_c.reshape(N, H, W)
        caches.append(cache_c)
        new_mean.append(param["running_mean"])
        new_var.append(param["running_var"])
    bn_param["running_mean"] = np.concatenate(new_mean)  # (C,)
    bn_param["running_var"] = np.concatenate(new_var)  # (C,)
    return out, caches


def spatial_batchnorm_backward_naive(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_forward_naive`, one channel at a time with
    :func:`batchnorm_backward`."""
    caches = cache
    N, C, H, W = dout.shape
    dx = np.empty_like(dout)  # (N, C, H, W)
    dgamma, dbeta = np.empty(C, dtype=dout.dtype), np.empty(C, dtype=dout.dtype)  # (C,)
    for c in range(C):
        dx_c, dg, db = batchnorm_backward(dout[:, c].reshape(-1, 1), caches[c])
        dx[:, c] = dx_c.reshape(N, H, W)
        dgamma[c], dbeta[c] = dg[0], db[0]
    return dx, dgamma, dbeta


def spatial_groupnorm_forward_naive(x, gamma, beta, G, gn_param):
    """Group norm one group at a time: :func:`layernorm_forward` (with gamma 1, beta 0) on each
    group's C/G*H*W numbers, then each channel's gamma and beta. Same arguments and results as
    :func:`spatial_groupnorm_forward`; the cache is ``(x_hat, group_caches, gamma, G)``."""
    N, C, H, W = x.shape
    if int(G) != G or G < 1 or C % G:
        raise ValueError(
            _("spatial_groupnorm_forward_naive: G = {G!r} must divide C = {C}").format(G=G, C=C)
        )
    G = int(G)
    g, b = _gn_gamma("spatial_groupnorm_forward_naive", gamma, beta, C)  # (C,), (C,)
    cg = C // G  # channels per group
    x_hat = np.empty_like(x)  # (N, C, H, W)
    caches = []
    for k in range(G):
        block = x[:, k * cg : (k + 1) * cg].reshape(N, -1)  # (N, C/G*H*W)
        ones, zeros = np.ones(block.shape[1]), np.zeros(block.shape[1])
        normed, cache_k = layernorm_forward(block, ones, zeros, gn_param)
        x_hat[:, k * cg : (k + 1) * cg] = normed.reshape(N, cg, H, W)
        caches.append(cache_k)
    out = g.reshape(1, C, 1, 1) * x_hat + b.reshape(1, C, 1, 1)  # (N, C, H, W)
    return out, (x_hat, caches, gamma, G)


def spatial_groupnorm_backward_naive(dout, cache):
    """Backward pass of :func:`spatial_groupnorm_forward_naive`, one group at a time with
    :func:`layernorm_backward`."""
    x_hat, caches, gamma, G = cache
    N, C, H, W = dout.shape
    cg = C // G
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    dx_hat = dout * np.reshape(gamma, (1, C, 1, 1))  # (N, C, H, W)
    dx = np.empty_like(dout)  # (N, C, H, W)
    for k in range(G):
        block = dx_hat[:, k * cg : (k + 1) * cg].reshape(N, -1)  # (N, C/G*H*W)
        dx_k, _, _ = layernorm_backward(block, caches[k])
        dx[:, k * cg : (k + 1) * cg] = dx_k.reshape(N, cg, H, W)
    return dx, dgamma, dbeta
