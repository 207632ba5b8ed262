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

import functools

import numpy as np

from cs231n_lib import i18n, threads
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


def _overlap(size, shift):
    """(lo, hi): the positions lo <= p < hi of range(size) whose p + shift is in range(size)
    too; lo == hi when there are none (a shift of a whole image or more: a kernel larger than
    the padded image reaches only padding at that offset)."""
    lo = min(size, max(0, -shift))
    return lo, max(lo, min(size, size - shift))


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
                    lo, hi = _overlap(P, shift)
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
                    lo, hi = _overlap(P, shift)
                    target = dx_rows[c0:c1, lo + shift : hi + shift]
                    target += block.reshape(c1 - c0, P)[:, lo:hi]
                else:
                    rows = slice(r0, r0 + stride * (i1 - i0), stride)
                    columns = slice(s0, s0 + stride * (j1 - j0), stride)
                    dx[c0:c1, :, rows, columns] += block[:, :, i0:i1, j0:j1]

    threads.split(add_channels, C, blocks.size)  # channel ranges in parallel threads
    return dx.transpose(1, 0, 2, 3)  # (N, C, H, W)


# ---- Columns in pooling order (for a "same" convolution followed by a 2x2 pool) ----
#
# When a 2x2 stride-2 max pool follows the convolution, the fused layers of
# cs231n_lib.fast_layers want the four pixels of every pooling window in four separate
# contiguous blocks, so that the pool is three np.maximum calls over long contiguous rows
# instead of strided views with inner loops of W/2 elements. They get that for free by
# ordering the *columns* of cols as (a, b, n, i, j) -- output pixel (2i + a, 2j + b) of image
# n -- instead of (n, y, x): the matrix product w_rows @ cols then writes its output in
# that order, (F, 2, 2, N*H/2*W/2).
#
# To keep the copies long in that order too, the input is first split once by the parity of
# its rows and columns (the "phases" of x, four planes of (H/2, W/2) per channel and image).
# Output pixel (2i + a, 2j + b) reads input pixel (2i + a + p - pad, 2j + b + q - pad) at
# kernel offset (p, q); with r = a + p - pad that row is 2(i + r//2) + r%2: row i + r//2 of
# phase plane r%2. So each (kernel offset, output phase) block of cols is one *shifted* copy
# of a whole phase plane, exactly as in the "same" path of im2col above, with the few columns
# whose window pixel lies in the padding zeroed afterwards.


def pool_order_applies(x_shape, HH, WW, stride, pad):
    """True when im2col_pool_order can be used: a "same" convolution and an even H and W."""
    N, C, H, W = x_shape
    return _same_shift(x_shape, HH, WW, stride, pad) and H % 2 == 0 and W % 2 == 0


def _phase_shift(k, pad):
    """For output phase + kernel offset k (= a + p): (input phase, shift in phase rows)."""
    r = k - pad
    return r % 2, r // 2


def _phase_split(x):
    """x (N, C, H, W), any strides, H and W even, as its four phases (C, 2, 2, N*H/2*W/2).

    ``xs[c, s, t, (n, u, v)] = x[n, c, 2u + s, 2v + t]``; a new contiguous array.
    """
    N, C, H, W = x.shape
    Hh, Wh = H // 2, W // 2
    v = x.transpose(1, 0, 2, 3).reshape(C, N, Hh, 2, Wh, 2)  # a view: split H and W in two
    xs = np.empty((C, 2, 2, N, Hh, Wh), dtype=x.dtype)

    def split_channels(c0, c1):
        for s in range(2):
            for t in range(2):
                xs[c0:c1, s, t] = v[c0:c1, :, :, s, :, t]

    threads.split(split_channels, C, xs.size)
    return xs.reshape(C, 2, 2, N * Hh * Wh)


def _pool_order_blocks(x_shape, HH, WW, pad):
    """Yield (p, q, a, b, s, t, shift, i0, i1, j0, j1) for every kernel offset, output phase.

    Kernel offsets (p, q) come in row-major order and the four output phases (a, b) inside
    each: every input pixel then collects its col2im sum in the same order as in col2im.
    """
    N, C, H, W = x_shape
    Hh, Wh = H // 2, W // 2
    for p in range(HH):
        for q in range(WW):
            for a in range(2):
                s, du = _phase_shift(a + p, pad)
                i0, i1 = _overlap(Hh, du)
                for b in range(2):
                    t, dv = _phase_shift(b + q, pad)
                    j0, j1 = _overlap(Wh, dv)
                    yield p, q, a, b, s, t, du * Wh + dv, i0, i1, j0, j1


@functools.lru_cache(maxsize=64)
def _pool_order_plan(x_shape, HH, WW, pad):
    """The copies of im2col_pool_order and col2im_pool_order, worked out once per shape.

    For block m (the m-th of :func:`_pool_order_blocks`, row m of cols' (C, HH*WW*4, P4)
    view): ``(m, phase, dst, src, rows, columns)`` with ``cols[c, m, dst] = xs[c, phase,
    src]`` the shifted copy, then the padding entries to zero, as slices of the views
    (C, HH*WW*4, N, H/2*W/2) (``rows``: image rows outside the input) and
    (C, HH*WW*4, N*H/2, W/2) (``columns``). Both functions run on several threads at once and
    numpy holds the GIL between its loops, so every Python step saved here is saved twice.
    """
    N, C, H, W = x_shape
    Hh, Wh = H // 2, W // 2
    P4 = N * Hh * Wh
    plan = []
    for m, (_, _, _, _, s, t, shift, i0, i1, j0, j1) in enumerate(
        _pool_order_blocks(x_shape, HH, WW, pad)
    ):
        lo, hi = _overlap(P4, shift)
        rows = [slice(0, i0 * Wh)] if i0 > 0 else []
        rows += [slice(i1 * Wh, None)] if i1 < Hh else []
        columns = [slice(0, j0)] if j0 > 0 else []
        columns += [slice(j1, None)] if j1 < Wh else []
        plan.append((m, 2 * s + t, slice(lo, hi), slice(lo + shift, hi + shift), tuple(rows),
                     tuple(columns)))  # fmt: skip
    return tuple(plan)


def im2col_pool_order(x, HH, WW, pad, *, ones_row=False):
    """im2col for a "same" convolution, with the columns in pooling order (a, b, n, i, j).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W); H and W even (see :func:`pool_order_applies`)
    HH, WW, pad : int
        Window size and padding, with H + 2*pad - HH + 1 == H (stride 1).
    ones_row : bool
        As in :func:`im2col`.

    Returns
    -------
    cols : ndarray, shape (C*HH*WW (+ 1), 4*N*H/2*W/2)
        ``cols[(c, p, q), (a, b, n, i, j)] = xpad[n, c, 2i + a + p, 2j + b + q]``: the same
        columns as :func:`im2col`'s, reordered.
    """
    N, C, H, W = x.shape
    if not pool_order_applies(x.shape, HH, WW, 1, pad):
        raise ValueError(
            i18n._(
                "im2col_pool_order needs a 'same' convolution of an input with even H and W, got "
                "x {shape}, window {HH}x{WW}, pad {pad}; use im2col"
            ).format(shape=x.shape, HH=HH, WW=WW, pad=pad)
        )
    Hh, Wh = H // 2, W // 2
    P4 = N * Hh * Wh
    K = C * HH * WW
    xs = _phase_split(x).reshape(C, 4, P4)  # the phases of x
    cols = np.empty((K + bool(ones_row), 4 * P4), dtype=x.dtype)
    if ones_row:
        cols[K] = 1
    M = HH * WW * 4  # blocks per channel: kernel offsets x output phases
    blocks = cols[:K].reshape(C, M, P4)  # views of cols
    image_rows = cols[:K].reshape(C, M, N, Hh * Wh)
    lines = cols[:K].reshape(C, M, N * Hh, Wh)
    plan = _pool_order_plan(tuple(x.shape), HH, WW, pad)

    def copy_channels(c0, c1):
        ch = slice(c0, c1)
        for m, phase, dst, src, rows, columns in plan:
            blocks[ch, m, dst] = xs[ch, phase, src]  # one shifted copy of a phase plane
            for span in rows:  # then the columns whose window pixel is padding
                image_rows[ch, m, :, span] = 0
            for span in columns:
                lines[ch, m, :, span] = 0

    threads.split(copy_channels, C, cols.size)
    return cols


def col2im_pool_order(dcols, x_shape, HH, WW, pad, out=None):
    """The adjoint of :func:`im2col_pool_order`: dx from dcols in pooling order.

    dcols (C*HH*WW, 4*N*H/2*W/2) is overwritten (its padding entries are zeroed); pass a
    scratch array. Every pixel of dx collects its sum in the same order as in :func:`col2im`
    (kernel offsets in row-major order), so the two give the same dx bit for bit.

    out : ndarray, shape (C, N, H, W), optional
        Where to write dx, channel-major (any strides on its first two axes, contiguous
        (H, W) planes): e.g. the images n0..n1-1 of a larger channel-major dx.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        A new array, laid out (C, N, H, W) in memory (or the transposed view of ``out``).
    """
    N, C, H, W = x_shape
    Hh, Wh = H // 2, W // 2
    P4 = N * Hh * Wh
    M = HH * WW * 4
    blocks = dcols.reshape(C, M, P4)  # views of dcols, as in im2col_pool_order
    image_rows = dcols.reshape(C, M, N, Hh * Wh)
    lines = dcols.reshape(C, M, N * Hh, Wh)
    dxs = np.zeros((C, 4, P4), dtype=dcols.dtype)  # dx by phase
    dx = np.empty((C, N, H, W), dtype=dcols.dtype) if out is None else out
    dv = dx.reshape(C, N, Hh, 2, Wh, 2)  # a view: splitting contiguous H and W never copies
    if not np.may_share_memory(dv, dx):
        raise ValueError("col2im_pool_order: out must have contiguous (H, W) planes")
    plan = _pool_order_plan(tuple(x_shape), HH, WW, pad)

    def add_channels(c0, c1):
        ch = slice(c0, c1)
        for m, phase, dst, src, rows, columns in plan:
            for span in rows:  # the padding entries first: they are not added
                image_rows[ch, m, :, span] = 0
            for span in columns:
                lines[ch, m, :, span] = 0
            target = dxs[ch, phase, src]
            target += blocks[ch, m, dst]
        for s in range(2):  # merge the phases back into (C, N, H, W)
            for t in range(2):
                dv[ch, :, :, s, :, t] = dxs[ch, 2 * s + t].reshape(c1 - c0, N, Hh, Wh)

    threads.split(add_channels, C, blocks.size)
    return dx.transpose(1, 0, 2, 3)


# ---- Pixel-major columns (the fused conv-relu-pool layer's im2col path) ----
#
# The pooling-order columns above are channel-major, as (c, n, i, j): each copy is a shifted
# copy of a whole phase plane, but the padding makes every copy a few more calls (zeroing the
# rows and columns that read outside x), and the output comes out channel-major, which the
# Winograd layer after it (cs231n_lib.winograd, pixel-major) has to gather.
#
# Here the image index moves innermost: the padded input is split into its four phases once,
# laid out (C, 2, 2, Hq, Wq, n), with the padding in it as zeros. The columns are ordered
# (a, b, i, j, n) -- output pixel (2i + a, 2j + b) of image n -- so that each (kernel offset,
# output phase) block of cols is one copy of a (C, H/2, W/2·n) slice of a phase plane, rows
# of W/2·n contiguous numbers and nothing to zero. The product cols.T @ w_rows.T then comes
# out pixel-major, (2, 2, H/2, W/2, n, F), the four pixels of every pooling window in four
# contiguous blocks: the pool is three np.maximum calls, and its output (H/2, W/2, n, F) is the
# Winograd layer's own layout.


def _phase_slices(H, W, pad):
    """For each phase (s, t) of an image padded by pad: the slices of its phase plane that
    hold the image's pixels, and the slices of the image they hold (rows 2u + s - pad)."""
    for s in range(2):
        u0 = (pad - s + 1) // 2  # the first phase row inside the image: 2*u0 + s >= pad
        r0 = 2 * u0 + s - pad  # the image row it holds
        rows = slice(u0, u0 + len(range(r0, H, 2)))
        for t in range(2):
            v0 = (pad - t + 1) // 2
            c0 = 2 * v0 + t - pad
            columns = slice(v0, v0 + len(range(c0, W, 2)))
            yield s, t, (rows, columns), (slice(r0, None, 2), slice(c0, None, 2))


def phase_planes(x, pad, dtype):
    """x zero-padded by pad on every side and split by the parity of its rows and columns.

    Parameters
    ----------
    x : ndarray, shape (n, C, H, W), any strides; H + 2*pad and W + 2*pad even
    pad : int
    dtype : numpy dtype of the result

    Returns
    -------
    xs : ndarray, shape (C, 2, 2, (H + 2 pad)/2, (W + 2 pad)/2, n)
        ``xs[c, s, t, u, v, k] = xpad[k, c, 2u + s, 2v + t]``; a new array.
    """
    n, C, H, W = x.shape
    xs = np.zeros((C, 2, 2, (H + 2 * pad) // 2, (W + 2 * pad) // 2, n), dtype=dtype)
    xt = x.transpose(1, 2, 3, 0)  # (C, H, W, n)
    for s, t, (u, v), (r, c) in _phase_slices(H, W, pad):
        xs[:, s, t, u, v] = xt[:, r, c]
    return xs


def _unphase(xs, pad, out):
    """The inverse of :func:`phase_planes` without the padding: out (C, H, W, n), any strides."""
    _, H, W, _ = out.shape
    for s, t, (u, v), (r, c) in _phase_slices(H, W, pad):
        out[:, r, c] = xs[:, s, t, u, v]
    return out


@functools.lru_cache(maxsize=64)
def _pixel_major_plan(HH, WW):
    """(m, phase, s, t, du, dv) for every kernel offset (p, q) (m = p*WW + q, row-major) and
    output phase (a, b) (phase = 2a + b) inside it: block (m, phase) of the columns is phase
    plane (s, t) shifted by (du, dv), since output row 2i + a reads padded row
    2i + a + p = 2(i + du) + s."""
    plan = []
    for p in range(HH):
        for q in range(WW):
            for a in range(2):
                s, du = (a + p) % 2, (a + p) // 2
                for b in range(2):
                    t, dv = (b + q) % 2, (b + q) // 2
                    plan.append((p * WW + q, 2 * a + b, s, t, du, dv))
    return tuple(plan)


def im2col_pixel_major(xs, HH, WW, out_hw):
    """im2col of a "same" convolution in pixel-major pooling order, with a last row of ones.

    Parameters
    ----------
    xs : ndarray, shape (C, 2, 2, Hq, Wq, n)
        The input's phase planes (:func:`phase_planes`).
    HH, WW : int
        Window size.
    out_hw : tuple
        (H_out, W_out) of the convolution, both even.

    Returns
    -------
    cols : ndarray, shape (C*HH*WW + 1, 4*H_out/2*W_out/2*n)
        ``cols[(c, p, q), (a, b, i, j, k)] = xpad[k, c, 2i + a + p, 2j + b + q]``: the columns
        of :func:`im2col`, reordered; the last row is ones (the bias).
    """
    C, n = xs.shape[0], xs.shape[-1]
    Hp, Wp = out_hw[0] // 2, out_hw[1] // 2
    K = C * HH * WW
    cols = np.empty((K + 1, 4 * Hp * Wp * n), dtype=xs.dtype)
    cols[K] = 1
    blocks = cols[:K].reshape(C, HH * WW, 4, Hp, Wp, n)  # a view
    for m, phase, s, t, du, dv in _pixel_major_plan(HH, WW):
        blocks[:, m, phase] = xs[:, s, t, du : du + Hp, dv : dv + Wp]
    return cols


def col2im_pixel_major(dcols, x_shape, HH, WW, pad, out):
    """The adjoint of :func:`im2col_pixel_major` (after :func:`phase_planes`): dx into out.

    Parameters
    ----------
    dcols : ndarray, shape (C*HH*WW, 4*H/2*W/2*n), in the order of im2col_pixel_major's rows
        and columns (a "same" convolution: H_out, W_out = H, W)
    x_shape : tuple
        (n, C, H, W) of the images.
    out : ndarray, shape (C, H, W, n), any strides
        Where dx is written (and returned).

    Every pixel collects its sum in the same order as in :func:`col2im` (kernel offsets in
    row-major order, starting from zero), so the two give the same dx bit for bit.
    """
    n, C, H, W = x_shape
    Hp, Wp = H // 2, W // 2
    dxs = np.zeros((C, 2, 2, (H + 2 * pad) // 2, (W + 2 * pad) // 2, n), dtype=dcols.dtype)
    blocks = dcols.reshape(C, HH * WW, 4, Hp, Wp, n)
    for m, phase, s, t, du, dv in _pixel_major_plan(HH, WW):
        target = dxs[:, s, t, du : du + Hp, dv : dv + Wp]
        target += blocks[:, m, phase]
    return _unphase(dxs, pad, out)
