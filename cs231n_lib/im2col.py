"""im2col and col2im: a convolution as one matrix product.

A convolution takes the dot product of every filter with every window of the input. Lay each
window out as one column of a matrix ``cols`` and each filter as one row of ``w_rows``; then
all the dot products at once are the matrix product ``w_rows @ cols``, which BLAS computes
at close to the machine's peak speed::

    x (N, C, H, W)  --im2col-->  cols (C*HH*WW, N*H_out*W_out)
    w (F, C, HH, WW) --reshape-> w_rows (F, C*HH*WW)
    out = w_rows @ cols          (F, N*H_out*W_out) = (F, N, H_out, W_out) in memory

Rows of ``cols`` are ordered (c, a, b) for channel c and kernel offset (a, b), exactly as
``w.reshape(F, -1)`` orders a filter's weights; columns are ordered (n, i, j) for example n
and output position (i, j).

Both functions loop over the HH*WW kernel offsets only. For offset (a, b), row block
``cols[(c, a, b), :]`` holds, for every example and output position at once, the input pixel
``xpad[n, c, i*stride + a, j*stride + b]``: one strided slice of the input, copied in one
numpy call. The zero padding is never built: the slice is clipped to the pixels that lie inside
x and the columns that fall on the padding are set to zero.

The layout is chosen so that the copies are long and contiguous:

- the input is read channel-major, as ``x.transpose(1, 0, 2, 3)`` (C, N, H, W). The fast layers
  return their outputs in that memory order (see :mod:`cs231n_lib.fast_layers`), so for a
  layer fed by another fast layer this view is already contiguous;
- for the usual "same" convolution (stride 1 and an output as large as the input, e.g. 3×3
  with pad 1) the window pixel for offset (a, b) sits at a *fixed* distance
  ``(a - pad)*W + (b - pad)`` from the output position in the flattened (N*H*W) image, so each
  row block is one shifted copy of a whole channel (thousands of elements per numpy inner
  loop instead of W). The few columns whose window pixel lies in the padding pick up a
  neighbouring pixel in that copy and are zeroed right after.

``col2im`` goes the other way for the backward pass: the windows overlap (whenever stride <
filter size), so one input pixel collects gradient from several columns. It adds one kernel
offset at a time — the same slice as in im2col receives the matching row block of ``dcols`` —
so the only Python loop again runs over the HH*WW kernel offsets.

Both split the channels between threads (:mod:`cs231n_lib.threads`): numpy's copies and adds
run on one core each, and channel ranges touch disjoint memory.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import threads
from cs231n_lib.layers import conv_output_size


def _span(size, out_size, k, stride, pad):
    """The output positions whose window pixel at kernel offset k lies inside the input.

    Output position i reads input position ``i*stride + k - pad``.

    Returns
    -------
    i0, i1 : int
        Positions ``i0 <= i < i1`` read inside the input; the others read padding.
    r0 : int
        Input position read by i0; the others follow with step stride.
    """
    i0 = max(0, -((k - pad) // stride))  # ceil((pad - k) / stride): first i inside
    i1 = min(out_size, (size - 1 + pad - k) // stride + 1)  # one past the last i inside
    i1 = max(i0, i1)
    return i0, i1, i0 * stride + k - pad


def _zero_padding_columns(block, i0, i1, j0, j1):
    """Zero the (i, j) entries of block (C, N, H_out, W_out) outside [i0, i1) x [j0, j1).

    block's last three axes must be contiguous (a row block of cols or dcols). The reshapes
    are views that give numpy long inner loops: whole image rows for the rows outside, and
    one strided column through all N*H_out rows for the columns outside.
    """
    C, N, H_out, W_out = block.shape
    if i0 > 0 or i1 < H_out:
        plane = block.reshape(C, N, H_out * W_out)  # a view
        plane[:, :, : i0 * W_out] = 0
        plane[:, :, i1 * W_out :] = 0
    if j0 > 0 or j1 < W_out:
        rows = block.reshape(C, N * H_out, W_out)  # a view; rows outside are zero already
        rows[:, :, :j0] = 0
        rows[:, :, j1:] = 0


def _same_shift(x_shape, HH, WW, stride, pad):
    """True when im2col/col2im can use one shifted copy per kernel offset (see module doc)."""
    N, C, H, W = x_shape
    return stride == 1 and H + 2 * pad - HH + 1 == H and W + 2 * pad - WW + 1 == W


def im2col(x, HH, WW, stride, pad, *, ones_row=False):
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
    ones_row : bool
        Append one more row of ones. Then ``[w_rows, b[:, None]] @ cols`` adds the bias inside
        the matrix product, and ``dout_rows @ cols.T`` has db as its last column.

    Returns
    -------
    cols : ndarray, shape (C*HH*WW, N*H_out*W_out), or (C*HH*WW + 1, ...) with ones_row
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
    K, P = C * HH * WW, N * H_out * W_out
    cols = np.empty((K + bool(ones_row), P), dtype=x.dtype)
    if ones_row:
        cols[K] = 1
    blocks = cols[:K].reshape(C, HH, WW, N, H_out, W_out)  # a view of cols
    xc = x.transpose(1, 0, 2, 3)  # (C, N, H, W); contiguous when x came from a fast layer
    same = _same_shift(x.shape, HH, WW, stride, pad)
    if same:
        x_rows = np.ascontiguousarray(xc).reshape(C, P)  # (C, N*H*W); P = N*H*W here

    def copy_channels(c0, c1):  # channels c0..c1-1, all kernel offsets
        for a in range(HH):  # loop over kernel offsets only
            i0, i1, r0 = _span(H, H_out, a, stride, pad)
            for b in range(WW):
                j0, j1, s0 = _span(W, W_out, b, stride, pad)
                block = blocks[c0:c1, a, b]  # (c1 - c0, N, H_out, W_out) view
                if same:
                    shift = (a - pad) * W + (b - pad)  # flat distance from output to input
                    lo, hi = max(0, -shift), min(P, P - shift)
                    block.reshape(c1 - c0, P)[:, lo:hi] = x_rows[c0:c1, lo + shift : hi + shift]
                else:
                    rows = slice(r0, r0 + stride * (i1 - i0), stride)
                    columns = slice(s0, s0 + stride * (j1 - j0), stride)
                    block[:, :, i0:i1, j0:j1] = xc[c0:c1, :, rows, columns]
                _zero_padding_columns(block, i0, i1, j0, j1)

    threads.split(copy_channels, C, cols.size)  # channel ranges in parallel threads
    return cols


def col2im(dcols, x_shape, HH, WW, stride, pad, *, overwrite_dcols=False):
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
    overwrite_dcols : bool
        Allow col2im to zero the entries of dcols that belong to the padding (they are
        discarded anyway). The shifted-copy path needs them zero; without this permission it
        works on a copy, so by default dcols is not modified.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Same dtype as dcols; a new array laid out in memory as (C, N, H, W) (a transposed view).
    """
    N, C, H, W = x_shape
    H_out = conv_output_size(H, HH, stride, pad, what="conv output height")
    W_out = conv_output_size(W, WW, stride, pad, what="conv output width")
    P = N * H_out * W_out
    same = _same_shift(x_shape, HH, WW, stride, pad)
    if same and not overwrite_dcols:
        dcols = dcols.copy()
    blocks = dcols.reshape(C, HH, WW, N, H_out, W_out)
    # Accumulate in (C, N, ...) order, the order of dcols' rows and columns, so that source and
    # target are walked the same way; dx is a transposed view of it at the end.
    dx = np.zeros((C, N, H, W), dtype=dcols.dtype)
    dx_rows = dx.reshape(C, N * H * W)  # a view

    def add_channels(c0, c1):  # channels c0..c1-1, all kernel offsets
        for a in range(HH):  # loop over kernel offsets only
            i0, i1, r0 = _span(H, H_out, a, stride, pad)
            for b in range(WW):
                j0, j1, s0 = _span(W, W_out, b, stride, pad)
                block = blocks[c0:c1, a, b]  # (c1 - c0, N, H_out, W_out)
                if same:  # one shifted add per offset; padding entries zeroed first
                    _zero_padding_columns(block, i0, i1, j0, j1)
                    shift = (a - pad) * W + (b - pad)
                    lo, hi = max(0, -shift), min(P, P - shift)
                    target = dx_rows[c0:c1, lo + shift : hi + shift]
                    target += block.reshape(c1 - c0, P)[:, lo:hi]
                else:
                    rows = slice(r0, r0 + stride * (i1 - i0), stride)
                    columns = slice(s0, s0 + stride * (j1 - j0), stride)
                    dx[c0:c1, :, rows, columns] += block[:, :, i0:i1, j0:j1]

    threads.split(add_channels, C, blocks.size)  # channel ranges in parallel threads
    return dx.transpose(1, 0, 2, 3)  # (N, C, H, W)
