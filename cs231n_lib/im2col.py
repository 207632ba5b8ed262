"""im2col and col2im: a convolution as one matrix product.

A convolution takes the dot product of every filter with every window of the input. Lay each
window out as one column of a matrix ``cols`` and each filter as one row of ``w_rows``; then
all the dot products at once are the matrix product ``w_rows @ cols``, which BLAS computes
at close to the machine's peak speed::

    x (N, C, H, W)  --im2col-->  cols (C*HH*WW, N*H_out*W_out)
    w (F, C, HH, WW) --reshape-> w_rows (F, C*HH*WW)
    out = w_rows @ cols          (F, N*H_out*W_out) --> (N, F, H_out, W_out)

Rows of ``cols`` are ordered (c, a, b) for channel c and kernel offset (a, b), exactly as
``w.reshape(F, -1)`` orders a filter's weights; columns are ordered (n, i, j) for example n
and output position (i, j).

``im2col`` needs no loop: :func:`numpy.lib.stride_tricks.sliding_window_view` presents every
window of the padded input as a view (no copy), and one reshape copies them into ``cols``.
``col2im`` goes the other way for the backward pass: the windows overlap (whenever stride <
filter size), so one input pixel collects gradient from several columns. It adds one kernel
offset (a, b) at a time — a strided slice of the input gradient receives the matching rows of
``dcols`` for all examples, channels and positions at once — so the only Python loop runs
over the HH*WW kernel offsets.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cs231n_lib.layers import conv_output_size


def im2col(x, HH, WW, stride, pad):
    """Every HH×WW window of the zero-padded input as one column of a matrix.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    HH, WW : int
        Window height and width.
    stride : int
        Step between windows.
    pad : int
        Zeros added on each side of H and W.

    Returns
    -------
    cols : ndarray, shape (C*HH*WW, N*H_out*W_out)
        ``cols[(c, a, b), (n, i, j)] = xpad[n, c, i*stride + a, j*stride + b]``; same dtype as
        x. A new array: x is not modified and cols shares no memory with it.

    Raises
    ------
    ValueError
        If the windows do not fit (see :func:`cs231n_lib.layers.conv_output_size`).
    """
    N, C, H, W = x.shape
    H_out = conv_output_size(H, HH, stride, pad, what="conv output height")
    W_out = conv_output_size(W, WW, stride, pad, what="conv output width")
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # (N, C, Hp, Wp)
    windows = sliding_window_view(xpad, (HH, WW), axis=(2, 3))  # (N, C, Hp-HH+1, Wp-WW+1, HH, WW)
    windows = windows[:, :, ::stride, ::stride]  # (N, C, H_out, W_out, HH, WW), still a view
    # Move (C, HH, WW) to the front; reshape copies the windows into one contiguous matrix.
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * HH * WW, N * H_out * W_out)
    return cols


def col2im(dcols, x_shape, HH, WW, stride, pad):
    """Add the columns of ``dcols`` back to the input positions they were copied from.

    The adjoint of :func:`im2col`: where windows overlap, their contributions add up.

    Parameters
    ----------
    dcols : ndarray, shape (C*HH*WW, N*H_out*W_out)
        Gradient with respect to ``cols``.
    x_shape : tuple
        ``(N, C, H, W)``, the shape of the input given to :func:`im2col`.
    HH, WW, stride, pad : int
        As given to :func:`im2col`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Same dtype as dcols; a view of a new array (dcols is not modified), laid out in
        memory as (C, N, H, W).
    """
    N, C, H, W = x_shape
    H_out = conv_output_size(H, HH, stride, pad, what="conv output height")
    W_out = conv_output_size(W, WW, stride, pad, what="conv output width")
    dcols = dcols.reshape(C, HH, WW, N, H_out, W_out)
    # Accumulate in (C, N, ...) order, the order of dcols' rows and columns, so that source and
    # target are walked the same way; dx is a transposed view of it at the end.
    dxpad = np.zeros((C, N, H + 2 * pad, W + 2 * pad), dtype=dcols.dtype)
    for a in range(HH):  # loop over kernel offsets only
        for b in range(WW):
            # The (a, b) element of every window: one strided slice of the padded input.
            target = dxpad[:, :, a : a + stride * H_out : stride, b : b + stride * W_out : stride]
            target += dcols[:, a, b]  # (C, N, H_out, W_out)
    return dxpad[:, :, pad : pad + H, pad : pad + W].transpose(1, 0, 2, 3)  # (N, C, H, W)
