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
            f"affine_forward: x of shape {x.shape} has D = {D} numbers per example, so w must "
            f"have shape (D, M) = ({D}, M) and b shape (M,); got w {w.shape} and b {b.shape}"
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
        raise ValueError(f"scores x must have shape (N, C), got shape {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels y must have shape (N,) = ({x.shape[0]},), got shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        raise ValueError(
            f"labels y must lie in 0..{x.shape[1] - 1} (C = {x.shape[1]} classes), "
            f"got values from {y.min()} to {y.max()}"
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
    if stride < 1 or pad < 0 or filter_size < 1:
        raise ValueError(
            f"{what}: need filter size >= 1, stride >= 1 and pad >= 0, got filter size "
            f"{filter_size}, stride {stride}, pad {pad}"
        )
    span = size + 2 * pad - filter_size  # how far the window travels
    formula = f"({size} + 2*{pad} - {filter_size})/{stride} + 1"
    if span < 0:
        raise ValueError(
            f"{what} {formula} = {span / stride + 1:.2f}: the window ({filter_size}) is larger "
            f"than the padded input ({size} + 2*{pad} = {size + 2 * pad}); use a smaller "
            f"filter or more padding"
        )
    out = span // stride + 1
    unseen = _unseen_pixels(size, filter_size, stride, pad)
    can_pad = not what.startswith("pool")
    if unseen:
        last = size - 1
        which = f"{last}" if unseen == 1 else f"{last - unseen + 1} to {last}"
        lines = "row" if "height" in what else "column"
        lines += "" if unseen == 1 else "s"
        raise ValueError(
            f"{what} {formula} = {span / stride + 1:.2f} is not an integer, and rounding down "
            f"to {out}, as frameworks do, would leave input {lines} {which} unseen (no window "
            f"reaches {'it' if unseen == 1 else 'them'}); "
            f"{_fitting_settings(size, filter_size, stride, pad, can_pad=can_pad)}"
        )
    return out


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
                hints.append(f"pad {p} with stride {stride} (output {out})")
                break
    if not can_pad:  # pooling: the usual fix is another window size (2x2, stride 2 halves)
        for f in (2, 3, 4):
            if f != filter_size and fits(f, 2, 0):
                hints.append(f"{f}x{f} windows with stride 2 (output {output(f, 2, 0)})")
                break
    for s in (2, 1):
        if s < stride and fits(filter_size, s, pad):
            hints.append(f"stride {s} with pad {pad} (output {output(filter_size, s, pad)})")
            break
    if not hints:
        return "choose a stride and pad for which (size + 2*pad - filter)/stride is an integer"
    return "settings that see every pixel: " + "; or ".join(hints)


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
            f"filters have depth {C_w} but the input has depth {C}: filters always extend the "
            f"full depth of the input, so w must have shape (F, {C}, HH, WW)"
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
