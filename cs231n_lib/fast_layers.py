"""Fast convolution and max pooling in numpy (support code: students do not write these).

Same signatures, same results and same caches-in-spirit as the naive versions in
:mod:`cs231n_lib.layers`, which are their reference (``tests/test_fast_layers.py`` holds the
two equal on random shapes):

- ``conv_forward_fast`` / ``conv_backward_fast``: im2col (:mod:`cs231n_lib.im2col`) and one
  matrix product each way; col2im adds one kernel offset at a time.
- ``max_pool_forward_fast`` / ``max_pool_backward_fast``: when the windows tile the input
  (pool_height == pool_width == stride, the usual 2×2 stride 2), a reshape turns the windows
  into two extra axes; otherwise the windows come from ``sliding_window_view`` (im2col without
  the copy) and the backward pass adds one window offset at a time.

float32 stays float32 and float64 stays float64. No function modifies its inputs or ``dout``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cs231n_lib.im2col import col2im, im2col
from cs231n_lib.layers import conv_output_size


def conv_forward_fast(x, w, b, conv_param):
    """Forward pass of a convolutional layer as one matrix product (im2col).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'`` and ``'pad'``, as in :func:`cs231n_lib.layers.conv_forward_naive`.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, cols)``; cols, shape (C*HH*WW, N*H_out*W_out), is the im2col
        matrix, kept because the backward pass needs it for dw.
    """
    N, C, H, W = x.shape
    F, C_w, HH, WW = w.shape
    if C_w != C:
        raise ValueError(
            f"filters have depth {C_w} but the input has depth {C}: w must have shape "
            f"(F, {C}, HH, WW)"
        )
    stride, pad = conv_param["stride"], conv_param["pad"]
    cols = im2col(x, HH, WW, stride, pad)  # (C*HH*WW, N*H_out*W_out)
    H_out = conv_output_size(H, HH, stride, pad, what="conv output height")
    W_out = conv_output_size(W, WW, stride, pad, what="conv output width")
    prod = w.reshape(F, -1) @ cols  # (F, N*H_out*W_out): every filter · every window
    prod = prod.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)  # (N, F, H_out, W_out) view
    # One pass adds the bias and writes a contiguous (N, F, H_out, W_out) array.
    out = np.empty((N, F, H_out, W_out), dtype=np.result_type(prod, b))
    np.add(prod, b.reshape(1, F, 1, 1), out=out)
    cache = (x, w, b, conv_param, cols)
    return out, cache


def conv_backward_fast(dout, cache):
    """Backward pass of :func:`conv_forward_fast`: two matrix products and a col2im.

    With out_rows = w_rows @ cols + b: dw_rows = dout_rows @ colsᵀ, dcols = w_rowsᵀ @ dout_rows,
    db = the row sums of dout_rows, and dx = col2im(dcols).

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, cols)`` from :func:`conv_forward_fast`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    x, w, b, conv_param, cols = cache
    F, C, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    dout_rows = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # (F, N*H_out*W_out), a copy
    db = dout_rows.sum(axis=1).astype(np.result_type(b, dout), copy=False)  # (F,)
    dw = (dout_rows @ cols.T).reshape(w.shape)  # (F, C, HH, WW)
    dcols = w.reshape(F, -1).T @ dout_rows  # (C*HH*WW, N*H_out*W_out)
    dx = col2im(dcols, x.shape, HH, WW, stride, pad)  # (N, C, H, W)
    return dx, dw, db


def _pool_windows(x, ph, pw, stride):
    """The pooling windows of x as a view, and whether they tile x (the reshape case).

    Returns
    -------
    windows : ndarray, shape (N, C, H_out, ph, W_out, pw)
        ``windows[n, c, i, a, j, b] = x[n, c, i*stride + a, j*stride + b]``; a view of x.
    tiles : bool
        True when the windows cover x exactly once (ph == pw == stride).
    """
    N, C, H, W = x.shape
    H_out = conv_output_size(H, ph, stride, 0, what="pool output height")
    W_out = conv_output_size(W, pw, stride, 0, what="pool output width")
    tiles = ph == pw == stride  # then H = H_out*ph and W = W_out*pw (sizes are integers)
    if tiles:
        windows = x.reshape(N, C, H_out, ph, W_out, pw)  # a view: split H and W in two
    else:
        windows = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::stride, ::stride]
        windows = windows.transpose(0, 1, 2, 4, 3, 5)  # (N, C, H_out, ph, W_out, pw)
    return windows, tiles


def max_pool_forward_fast(x, pool_param):
    """Forward pass of max pooling without Python loops over positions.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'``, ``'pool_width'``, ``'stride'``.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param, argmax)``; argmax, shape (N, C, H_out, W_out), uint16, is the
        row-major index a*pool_width + b of the first maximum of each window.
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows, _ = _pool_windows(x, ph, pw, stride)  # (N, C, H_out, ph, W_out, pw)
    # One pass per window offset (a, b) over strided views, running max and argmax together.
    # Only a strictly larger value moves the argmax, so ties keep the first maximum in
    # row-major order, as np.argmax (and the naive version) does.
    out = windows[:, :, :, 0, :, 0].copy()  # (N, C, H_out, W_out)
    argmax = np.zeros(out.shape, dtype=np.uint16)  # (N, C, H_out, W_out)
    for k in range(1, ph * pw):
        a, b = divmod(k, pw)
        candidate = windows[:, :, :, a, :, b]  # (N, C, H_out, W_out) view
        np.copyto(argmax, k, where=candidate > out)
        np.maximum(out, candidate, out=out)
    cache = (x, pool_param, argmax)
    return out, cache


def max_pool_backward_fast(dout, cache):
    """Backward pass of :func:`max_pool_forward_fast`: dout goes to each window's first max.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param, argmax)`` from :func:`max_pool_forward_fast`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, pool_param, argmax = cache
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dtype = np.result_type(x, dout)
    zero = np.zeros((), dtype=dtype)
    if ph == pw == stride:
        # Windows tile x: each input position belongs to exactly one window, so every offset
        # (a, b) fills its own slice of a (N, C, H_out, ph, W_out, pw) view of dx — no adding.
        dx = np.empty((N, C, H_out, ph, W_out, pw), dtype=dtype)
        for k in range(ph * pw):
            a, b = divmod(k, pw)
            dx[:, :, :, a, :, b] = np.where(argmax == k, dout, zero)
        return dx.reshape(N, C, H, W)
    # Overlapping or gapped windows: add one window offset at a time (col2im for pooling).
    dx = np.zeros((N, C, H, W), dtype=dtype)
    for k in range(ph * pw):
        a, b = divmod(k, pw)
        dx[:, :, a : a + stride * H_out : stride, b : b + stride * W_out : stride] += np.where(
            argmax == k, dout, zero
        )
    return dx
