"""Fast convolution and max pooling in numpy (support code: students do not write these).

Same signatures and same results as the naive versions in :mod:`cs231n_lib.layers`, which are
their reference (``tests/test_fast_layers.py`` holds the two equal on random shapes):

- ``conv_forward_fast`` / ``conv_backward_fast``: im2col (:mod:`cs231n_lib.im2col`) and one
  matrix product each way; in the forward pass the bias rides along as one more row of ones
  in the im2col matrix, so the product adds it (no separate pass over the output).
- ``max_pool_forward_fast`` / ``max_pool_backward_fast``: for the usual 2×2 windows with stride
  2, a reshape turns the four window offsets into four strided views, the forward pass takes
  their maximum and keeps one boolean mask per offset (True where that offset holds the
  window's first maximum), and the backward pass copies dout through the masks. Other tiling
  windows (pool_height == pool_width == stride) use a running argmax over the window offsets;
  overlapping or gapped windows come from ``sliding_window_view`` and the backward pass adds
  one window offset at a time.
- ``conv_relu_pool_forward_fast`` / ``conv_relu_pool_backward_fast``: the three in one pass
  over memory fewer each way (used by :mod:`cs231n_lib.layer_utils`). For a "same"
  convolution (stride 1, e.g. 3×3 with pad 1) of an input with even H and W, the usual case,
  the im2col columns come in **pooling order**, pixel-major
  (:func:`cs231n_lib.im2col.im2col_pixel_major`): the matrix product then writes the four
  pixels of every 2×2 window into four contiguous blocks, the pool is three ``np.maximum``
  calls over long rows instead of strided views with W/2-element inner loops, and its
  backward pass writes four contiguous blocks. The output and dx are bit for bit those of the
  composed layers; dw and db are the same sums taken over the positions in another order
  (equal to float rounding). (The batchnorm layers of :mod:`cs231n_lib.layer_utils` use the
  channel-major pooling order of :func:`cs231n_lib.im2col.im2col_pool_order`, whose rows
  batchnorm's per-channel sums read.)
- **Winograd** (:mod:`cs231n_lib.winograd`): a 3×3 "same" convolution of an input with even H
  and W and at least :data:`~cs231n_lib.winograd.MIN_CHANNELS` channels,
  :data:`~cs231n_lib.winograd.MIN_FILTERS` filters and :data:`~cs231n_lib.winograd.MIN_PIXELS`
  pixels (:func:`cs231n_lib.winograd.applies`; conv2 and conv3 of the benchmark net) takes 16
  matrix products of inner dimension C instead of one of 9·C: 2.25× fewer
  multiplications, the rest additions. Its tiles are the 2×2 pooling windows, so the fused
  layer pools its output as it pools the pooling-order product. ``conv_forward_fast`` takes
  the same path for the same shapes, so fused and composed stay the same bits. Its results
  equal the im2col product's to rounding (exactly, on small integers).

**Memory layout.** The arrays these functions return have the documented (N, C, H, W) shape,
but their memory is laid out channel-major, (C, N, H, W): ``out.transpose(1, 0, 2, 3)`` is a
contiguous array. That is the order in which the matrix product ``w_rows @ cols`` produces a
convolution's output, (F, N*H_out*W_out), so no transpose copy is needed, and it is the order
im2col and col2im read and write, so a stack of fast layers never transposes a whole
activation. The fused conv-relu-pool layer and the Winograd path return pixel-major arrays,
(H, W, N, C) in memory, for the reason given in :func:`_use_winograd` (the dx of the fused
layer's im2col path is (C, H, W, N)); every function reads any layout. Values, shapes and
dtypes are exactly those of the naive layers; only ``x.flags['C_CONTIGUOUS']`` tells the
difference.

**Threads.** The layers' memory-bound passes split their channels between the threads of
:mod:`cs231n_lib.threads`, and a large matrix product is cut into fixed blocks that the same
threads share, each block one BLAS product on one BLAS thread (``_matmul``). The fused
conv-relu-pool layer on a large batch goes further: it cuts the batch into fixed blocks of
images and each thread runs every pass of its block, forward and backward (one parallel
region per layer instead of one per pass; ``_batch_blocks``). The blocks do not depend on
the number of threads, so every result is bit for bit the same with any number of them.

**Scratch memory.** Arrays that live only inside one call (the column gradient ``dcols`` of
the backward pass, the conv output that the fused layer pools right away) are written into
buffers kept per thread and reused by the next call (:mod:`cs231n_lib.scratch`), instead of
being allocated and freed each time. Nothing that is returned or kept in a cache is a scratch
buffer.

float32 stays float32 and float64 stays float64. No function modifies its inputs or ``dout``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cs231n_lib import i18n, threads, winograd
from cs231n_lib.im2col import (
    col2im,
    col2im_pixel_major,
    col2im_pool_order,
    im2col,
    im2col_pixel_major,
    im2col_pool_order,
    phase_planes,
    pool_order_applies,
)
from cs231n_lib.layers import conv_output_size
from cs231n_lib.scratch import scratch as _scratch

MATMUL_BLOCKS = 2
"""A large matrix product is computed in this many blocks (see _matmul)."""


def _matmul(a, b, out=None):
    """``a @ b`` for 2-D a and b; a large product in blocks that the layers' threads share.

    Every matrix product of this module goes through here (benchmarks/conv_speed.py times
    it). A product of at least ``64 * threads.MIN_SIZE`` multiply-adds is cut along its
    longest dimension into :data:`MATMUL_BLOCKS` blocks: blocks of columns or rows of the
    result, or, when the inner dimension is the longest (dw of a convolution, a sum over
    every output position), blocks of that sum, whose partial products are then added in a
    fixed order. The layers' threads (:func:`cs231n_lib.threads.split`) share the blocks,
    BLAS running on one thread in each. The blocks are the same whatever the number of
    threads, so the result is bit for bit the same with 1, 2 or 4 threads; and unlike BLAS's
    own threads, which spin waiting for each other, a thread that loses its core to another
    process only delays its own block.

    BLAS always runs on one thread here, whatever :func:`cs231n_lib.threads.set_blas_threads`
    says for the rest of the program: OpenBLAS's threaded driver cuts a long inner sum at
    other places than its one-thread driver, so the bits would depend on BLAS's thread count
    (they did for conv3 of the benchmark net, inner dimension 577).
    """
    M, K = a.shape
    N = b.shape[1]
    if out is None:
        out = np.empty((M, N), dtype=np.result_type(a, b))
    longest = max(M, N, K)
    if M * N * K < 64 * threads.MIN_SIZE or longest < 2 * MATMUL_BLOCKS:
        with threads.one_blas_thread():
            return np.matmul(a, b, out=out)
    edges = [longest * k // MATMUL_BLOCKS for k in range(MATMUL_BLOCKS + 1)]
    if K == longest:  # blocks of the inner sum, each its own partial product
        partial = np.empty((MATMUL_BLOCKS - 1, M, N), dtype=out.dtype)
        targets = [out, *partial]
    else:
        targets = None

    def blocks(k0, k1):
        for k in range(k0, k1):
            lo, hi = edges[k], edges[k + 1]
            if targets is not None:
                np.matmul(a[:, lo:hi], b[lo:hi], out=targets[k])
            elif N == longest:
                np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])
            else:
                np.matmul(a[lo:hi], b, out=out[lo:hi])

    with threads.one_blas_thread():  # BLAS's own threads would change the bits (see above)
        threads.split(blocks, MATMUL_BLOCKS, M * N * K, min_size=0)
    if targets is not None:
        for p in partial:  # in a fixed order
            out += p
    return out


BATCH_BLOCKS = 2
"""A fused conv-relu-pool layer on a large batch works on this many fixed blocks of images."""


def _batch_blocks(N, work):
    """The fixed image ranges [(n0, n1), ...] of a fused layer's blocks, or None for one.

    work is the multiply-adds of the layer's forward product; below the size at which
    :func:`_matmul` cuts a product into blocks, or with fewer images than blocks, the layer
    runs on the whole batch. The ranges depend only on N, never on the number of threads.
    """
    if N < BATCH_BLOCKS or work < 64 * threads.MIN_SIZE:
        return None
    return [(N * k // BATCH_BLOCKS, N * (k + 1) // BATCH_BLOCKS) for k in range(BATCH_BLOCKS)]


def _each_block(fn, count):
    """fn(k) for k in range(count): the blocks shared by the layers' threads.

    One parallel region for a whole layer: each thread runs every pass of its blocks (im2col,
    product, pool), so a block's data stays in that core's cache and the threads meet once.
    BLAS is put on one thread for the whole region, from this thread (the products inside
    run on one BLAS thread anyway, see :func:`_matmul`; switching it from the workers, which
    share BLAS's setting, would race).
    """

    def run(k0, k1):
        for k in range(k0, k1):
            fn(k)

    if threads.THREADS > 1:
        with threads.one_blas_thread():
            threads.split(run, count, count, min_size=0)
    else:
        run(0, count)


def _channel_major(a):
    """a (N, C, ...) as its (C, N, ...) transpose, contiguous (free when a came from here)."""
    return np.ascontiguousarray(a.swapaxes(0, 1))


# ---- Convolution ----


def _use_pool_order(x_shape, w_shape, conv_param):
    """Whether the fused conv-(bn)-relu-pool layers order their columns for the pool.

    Pooling order (see :mod:`cs231n_lib.im2col`) makes the 2×2 pool 2-4× faster; its im2col
    and col2im copy rows a quarter as long, which costs less than that on every layer of the
    benchmark nets (measured with ``benchmarks/conv_speed.py``).
    """
    return pool_order_applies(x_shape, *w_shape[2:], conv_param["stride"], conv_param["pad"])


def _conv_product(x, w, b, conv_param, out=None, pool_order=False):
    """The forward matrix product: ``[w_rows, b] @ [cols; 1]``.

    With ``pool_order`` the columns come from :func:`cs231n_lib.im2col.im2col_pool_order`
    (a "same" convolution of an input with even H and W; the caller checks
    :func:`cs231n_lib.im2col.pool_order_applies`), so prod is (F, 2, 2, N, H_out/2, W_out/2)
    in memory: the four pixels of each 2×2 window in four contiguous blocks.

    Returns
    -------
    prod : ndarray, shape (F, N*H_out*W_out)
        The convolution's output, channel-major; written into ``out`` when given.
    cols : ndarray, shape (C*HH*WW + 1, N*H_out*W_out)
        The im2col matrix with its row of ones.
    out_hw : tuple
        (H_out, W_out).
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out = conv_output_size(x.shape[2], w.shape[2], stride, pad, what="conv output height")
    W_out = conv_output_size(x.shape[3], w.shape[3], stride, pad, what="conv output width")
    cols = _conv_columns(x, w, b, conv_param, pool_order)
    w_aug = _augmented_filters(w, b, cols.dtype)
    prod = _matmul(w_aug, cols, out=out)  # (F, N*H_out*W_out): every filter · every window
    return prod, cols, (H_out, W_out)


def _conv_columns(x, w, b, conv_param, pool_order=False):
    """The im2col matrix (C*HH*WW + 1, N*H_out*W_out) of a convolution, with its row of ones.

    Checks that w fits x; in the dtype of x, w and b together; pooling order as in
    :func:`_conv_product`.
    """
    _check_depth(x, w)
    HH, WW = w.shape[2:]
    stride, pad = conv_param["stride"], conv_param["pad"]
    x = x.astype(np.result_type(x, w, b), copy=False)
    if pool_order:
        return im2col_pool_order(x, HH, WW, pad, ones_row=True)
    return im2col(x, HH, WW, stride, pad, ones_row=True)


def _check_depth(x, w):
    """Raise a clear error unless the filters w fit the input x."""
    C, C_w = x.shape[1], w.shape[1]
    if C_w != C:
        raise ValueError(
            i18n._(
                "filters have depth {C_w} but the input has depth {C}: w must have shape "
                "(F, {C}, HH, WW)"
            ).format(C_w=C_w, C=C)
        )


def _augmented_filters(w, b, dtype):
    """[w_rows, b]: (F, C*HH*WW + 1), the filters as rows and the bias as the last column."""
    F = w.shape[0]
    K = w[0].size
    w_aug = np.empty((F, K + 1), dtype=dtype)
    w_aug[:, :K] = w.reshape(F, K)
    w_aug[:, K] = b
    return w_aug


def conv_forward_fast(x, w, b, conv_param):
    """Forward pass of a convolutional layer as one matrix product (im2col), or by Winograd for
    the 3×3 layers where :func:`cs231n_lib.winograd.applies`.

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
        Laid out channel-major in memory (pixel-major on the Winograd path; see the module
        docstring).
    cache : tuple
        ``(x, w, b, conv_param, cols)``; cols, shape (C*HH*WW + 1, N*H_out*W_out), is the
        im2col matrix with a last row of ones, kept because the backward pass needs it for dw
        (on the Winograd path, each block's ``((n0, n1), tiles)`` instead).
    """
    if _use_winograd(x, w, b, conv_param):
        out, parts = _winograd_conv_forward(x, w, b)  # parts: each block's Tiles
        return out, (x, w, b, conv_param, parts)
    N = x.shape[0]
    prod, cols, (H_out, W_out) = _conv_product(x, w, b, conv_param)
    out = prod.reshape(-1, N, H_out, W_out).swapaxes(0, 1)  # (N, F, H_out, W_out), a view
    return out, (x, w, b, conv_param, cols)


def conv_backward_fast(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_forward_fast`: two matrix products and a col2im (or
    Winograd's backward pass, for its cache).

    With out_rows = w_rows @ cols + b: dw_rows = dout_rows @ colsᵀ, db = the row sums of
    dout_rows (both from one product, with cols' row of ones), dcols = w_rowsᵀ @ dout_rows,
    and dx = col2im(dcols).

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, cols)`` from :func:`conv_forward_fast`.
    compute_dx : bool
        False skips dx (returned as None): the first layer of a network does not need the
        gradient with respect to the images, and it is the larger half of the work there.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
        Channel-major in memory.
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    if len(cache) != 5:
        raise ValueError(
            i18n._(
                "conv_backward_fast got the cache of a fused conv-relu-pool layer (its columns "
                "are in pooling order); pass it to conv_relu_pool_backward_fast instead"
            )
        )
    x, w, b, conv_param, cols = cache
    if isinstance(cols, tuple):  # the Winograd path's blocks of tiles
        return _winograd_conv_backward(dout, x.shape, w, b, cols, compute_dx)
    stride, pad = conv_param["stride"], conv_param["pad"]
    dout_rows = _channel_major(dout).reshape(w.shape[0], -1)  # (F, N*H_out*W_out)
    col2im_rows = lambda dcols: col2im(dcols, x.shape, *w.shape[2:], stride, pad,  # noqa: E731
                                       overwrite_dcols=True)  # fmt: skip
    return _conv_backward_rows(dout_rows, w, b, cols, col2im_rows, compute_dx)


def _conv_backward_rows(dout_rows, w, b, cols, col2im_rows, compute_dx):
    """The backward products of a convolution, for columns in any order.

    dout_rows (F, P) and cols (C*HH*WW + 1, P) must order their P columns alike; dcols comes
    out in that order too and col2im_rows(dcols) turns it into dx.
    """
    F, C, HH, WW = w.shape
    K = C * HH * WW
    # [dw, db]ᵀ = cols · doutᵀ: cols' last row of ones makes the product's last row db (the
    # row sums of dout) at no extra pass over dout; with both operands read along their
    # rows, BLAS runs this orientation 10-20% faster than dout_rows @ cols.T on these shapes.
    dwb_t = _matmul(cols, dout_rows.T)  # (C*HH*WW + 1, F)
    dw = np.ascontiguousarray(dwb_t[:K].T).reshape(w.shape)  # (F, C, HH, WW)
    db = dwb_t[K].astype(np.result_type(b, dout_rows), copy=False)  # (F,)
    if not compute_dx:
        return None, dw, db
    w_rows = w.reshape(F, K).astype(dw.dtype, copy=False)
    dcols = _scratch("dcols", (K, dout_rows.shape[1]), dw.dtype)
    _matmul(w_rows.T, dout_rows, out=dcols)  # (C*HH*WW, P)
    return col2im_rows(dcols), dw, db  # dx (N, C, H, W)


# ---- Max pooling ----


def _is_2x2(pool_param):
    return pool_param["pool_height"] == pool_param["pool_width"] == pool_param["stride"] == 2


def _pool2x2_forward(x_cm, out=None):
    """2×2 stride-2 max pooling of a channel-major array, with first-maximum masks.

    Parameters
    ----------
    x_cm : ndarray, shape (C, N, H, W), any strides; H and W even
    out : ndarray, shape (C, N, H/2, W/2), optional

    Returns
    -------
    out : ndarray, shape (C, N, H/2, W/2)
    masks : ndarray of bool, shape (2, 2, C, N, H/2, W/2)
        ``masks[a, b]`` is True where window offset (a, b) holds the window's first maximum
        in row-major order (the one np.argmax picks): exactly one True per window.
    """
    C, N, H, W = x_cm.shape
    v = x_cm.reshape(C, N, H // 2, 2, W // 2, 2)  # a view: split H and W in two
    if out is None:
        out = np.empty((C, N, H // 2, W // 2), dtype=x_cm.dtype)
    masks = np.empty((2, 2, *out.shape), dtype=bool)

    def pool_channels(c0, c1):
        w = v[c0:c1]
        v00, v01 = w[:, :, :, 0, :, 0], w[:, :, :, 0, :, 1]  # (c1 - c0, N, H/2, W/2) views
        v10, v11 = w[:, :, :, 1, :, 0], w[:, :, :, 1, :, 1]
        m = masks[:, :, c0:c1]
        top, bottom = np.maximum(v00, v01), np.maximum(v10, v11)  # the rows of each window
        np.maximum(top, bottom, out=out[c0:c1])
        # A later element wins only if strictly larger: ties go to the first maximum.
        right_top, right_bottom = m[0, 1], m[1, 1]  # used as scratch, then overwritten
        np.greater(v01, v00, out=right_top)
        np.greater(v11, v10, out=right_bottom)
        lower = np.greater(bottom, top)  # the maximum is in the bottom row
        np.logical_or(right_top, lower, out=m[0, 0])
        np.logical_not(m[0, 0], out=m[0, 0])  # top left: neither right nor lower
        np.greater(lower, right_bottom, out=m[1, 0])  # lower and not right
        np.greater(right_top, lower, out=m[0, 1])  # right and not lower
        np.logical_and(lower, right_bottom, out=m[1, 1])  # lower and right

    threads.split(pool_channels, C, x_cm.size)  # channel ranges in parallel threads
    return out, masks


def _pool2x2_backward(dout_cm, masks, dx_cm, relu_out=None):
    """Send dout_cm (C, N, H/2, W/2) to each window's first maximum in dx_cm (C, N, H, W).

    dx_cm gets dout where the mask is True and a zero elsewhere: ``dout * mask`` for each of
    the four offsets writes every element of dx_cm once (a multiply by a boolean is many times
    faster in numpy than ``np.where`` or ``np.copyto(..., where=)``). The zeros carry dout's
    sign (-0.0 == 0.0). With ``relu_out`` (the pooled output of a ReLU), dout first passes
    the ReLU's backward: ``dout * (relu_out > 0)``.
    """
    C, N, H, W = dx_cm.shape
    dv = dx_cm.reshape(C, N, H // 2, 2, W // 2, 2)  # a view

    def scatter_channels(c0, c1):
        d = dout_cm[c0:c1]
        if relu_out is not None:
            d = np.multiply(d, relu_out[c0:c1] > 0)  # ReLU backward
        for a in range(2):
            for b in range(2):
                np.multiply(d, masks[a, b, c0:c1], out=dv[c0:c1, :, :, a, :, b])

    threads.split(scatter_channels, C, dx_cm.size)  # channel ranges in parallel threads
    return dx_cm


def _pool_phases_forward(prod, relu=False, out=None, masks=None):
    """2×2 max pooling of a conv output whose columns are in pooling order, with masks.

    Parameters
    ----------
    prod : ndarray, shape (F, 4, P...), any strides
        ``prod[f, 2a + b, (n, i, j)]`` is output pixel (2i + a, 2j + b) of channel f and image
        n (the product of :func:`cs231n_lib.im2col.im2col_pool_order`'s columns): the four
        pixels of every window sit in four contiguous blocks. P may be several axes, in any
        order (e.g. (i, j, n) on the pixel-major paths).
    relu : bool
        Apply a ReLU to the pooled values (in place, same values as pooling after a ReLU),
        and fold its backward pass into the masks.

    out, masks : ndarray, optional
        Where to write the results (any strides), e.g. the columns of a block of images.

    Returns
    -------
    out : ndarray, shape (F, P...)
    masks : ndarray of bool, shape (F, 4, P...)
        ``masks[f, k]`` is True where window pixel k = 2a + b holds the window's first
        maximum in row-major order, as in :func:`_pool2x2_forward`; with ``relu``, only where
        that maximum is also positive. Either way, the pixels the gradient goes to: the
        backward pass is ``dout * mask`` alone (bool passes here save two float passes there).
    """
    F, _, *P = prod.shape
    if out is None:
        out = np.empty((F, *P), dtype=prod.dtype)
    if masks is None:
        masks = np.empty((F, 4, *P), dtype=bool)

    def pool_channels(c0, c1):
        v00, v01, v10, v11 = (prod[c0:c1, k] for k in range(4))  # (c1 - c0, P), contiguous rows
        m = masks[c0:c1]
        top, bottom = np.maximum(v00, v01), np.maximum(v10, v11)  # the rows of each window
        np.maximum(top, bottom, out=out[c0:c1])
        # A later element wins only if strictly larger: ties go to the first maximum.
        right_top, right_bottom = m[:, 1], m[:, 3]  # used as scratch, then overwritten
        np.greater(v01, v00, out=right_top)
        np.greater(v11, v10, out=right_bottom)
        lower = np.greater(bottom, top)  # the maximum is in the bottom row
        np.logical_or(right_top, lower, out=m[:, 0])
        np.logical_not(m[:, 0], out=m[:, 0])  # top left: neither right nor lower
        np.greater(lower, right_bottom, out=m[:, 2])  # lower and not right
        np.greater(right_top, lower, out=m[:, 1])  # right and not lower
        np.logical_and(lower, right_bottom, out=m[:, 3])  # lower and right
        if relu:
            np.maximum(out[c0:c1], 0, out=out[c0:c1])
            positive = out[c0:c1] > 0  # the ReLU passes the gradient here only
            for k in range(4):
                np.logical_and(m[:, k], positive, out=m[:, k])

    threads.split(pool_channels, F, prod.size)  # channel ranges in parallel threads
    return out, masks


def _pool_phases_backward(dout_rows, masks, dtype=None, name="pool_grad", out=None):
    """The gradient of :func:`_pool_phases_forward`, (F, 4, P...), in a scratch buffer called
    name (or in ``out``, any strides), of dtype (default dout_rows').

    dout_rows (F, P...), any strides, goes to each window's first maximum (``dout * mask``
    per window pixel, see :func:`_pool2x2_backward`), the ReLU's backward included when the
    forward pass had ``relu`` (its masks say where).
    """
    F, _, *P = masks.shape
    da = _scratch(name, (F, 4, *P), dtype or dout_rows.dtype) if out is None else out

    def scatter_channels(c0, c1):
        d = dout_rows[c0:c1]
        for k in range(4):
            np.multiply(d, masks[c0:c1, k], out=da[c0:c1, k])

    threads.split(scatter_channels, F, da.size)  # channel ranges in parallel threads
    return da


def _by_channel(a, Hp, Wp):
    """A pixel-major pooling-order array, (4·Q, F) or (4, Q, F) with Q = (i, j, n), as the
    (F, 4, Hp, Wp, n) view that the pooling-order pool reads and writes (no copy)."""
    F = a.shape[-1]
    return a.reshape(4, Hp, Wp, -1, F).transpose(4, 0, 1, 2, 3)


def _relu_pool_pixel_major(prod, out_pm, n0, n1):
    """Pool (with the ReLU) one block's pixel-major conv output in pooling order, prod (4·Q, F)
    or (4, Q, F), straight into images n0..n1 of out_pm (H/2, W/2, N, F); returns the block's
    masks, (4, Q, F) (see :func:`_pool_phases_forward`)."""
    Hp, Wp, _, F = out_pm.shape
    masks = np.empty((4, Hp * Wp * (n1 - n0), F), dtype=bool)
    _pool_phases_forward(_by_channel(prod, Hp, Wp), relu=True,
                         out=out_pm[:, :, n0:n1].transpose(3, 0, 1, 2),
                         masks=_by_channel(masks, Hp, Wp))  # fmt: skip
    return masks


def _relu_pool_backward_pixel_major(dout_pm, masks, n0, n1, dtype):
    """The gradient of :func:`_relu_pool_pixel_major` for images n0..n1 of dout_pm (the
    pixel-major view (H/2, W/2, N, F) of dout): (4, Q, F), in a scratch buffer.

    dout is read in place when it is pixel-major in memory (a fast layer's dx), else copied
    once (e.g. the (N, C, H, W) gradient of an affine layer), so the pool's passes read
    contiguous channels."""
    Hp, Wp, _, F = dout_pm.shape
    block = dout_pm[:, :, n0:n1]
    if block.strides[-1] != block.itemsize:
        block = np.ascontiguousarray(block)
    da = _scratch("pool_grad", masks.shape, dtype)
    _pool_phases_backward(block.transpose(3, 0, 1, 2), _by_channel(masks, Hp, Wp),
                          out=_by_channel(da, Hp, Wp))  # fmt: skip
    return da


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
        For 2×2 stride 2, channel-major in memory.
    cache : tuple
        ``(x_shape, dtype, pool_param, where)``. For 2×2 stride 2, ``where`` is the masks of
        ``_pool2x2_forward``, bool, shape (2, 2, C, N, H_out, W_out); otherwise it is the
        argmax, uint16, shape (N, C, H_out, W_out): the row-major index a*pool_width + b of
        the first maximum of each window.
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows, _ = _pool_windows(x, ph, pw, stride)  # (N, C, H_out, ph, W_out, pw); checks sizes
    if _is_2x2(pool_param):
        out_cm, masks = _pool2x2_forward(x.swapaxes(0, 1))  # (C, N, H_out, W_out)
        return out_cm.swapaxes(0, 1), (x.shape, x.dtype, pool_param, masks)
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
    return out, (x.shape, x.dtype, pool_param, argmax)


def max_pool_backward_fast(dout, cache):
    """Backward pass of :func:`max_pool_forward_fast`: dout goes to each window's first max.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x_shape, dtype, pool_param, where)`` from :func:`max_pool_forward_fast`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x_shape, x_dtype, pool_param, where = cache
    N, C, H, W = x_shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dtype = np.result_type(x_dtype, dout)
    if _is_2x2(pool_param):
        dx_cm = np.empty((C, N, H, W), dtype=dtype)
        _pool2x2_backward(dout.swapaxes(0, 1), where, dx_cm)
        return dx_cm.swapaxes(0, 1)  # (N, C, H, W), channel-major
    argmax = where
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


# ---- Fused conv - relu - pool ----


def conv_relu_pool_forward_fast(x, w, b, conv_param, pool_param):
    """``relu(max_pool(conv(x)))`` with the conv output never leaving a scratch buffer.

    Exactly the values of conv_forward_fast, then max_pool_forward_fast, then a ReLU (max and
    ReLU commute, so this equals CS231n's conv - relu - pool). Only for 2×2 stride-2 pools.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param, pool_param : dict

    Returns
    -------
    out : ndarray, shape (N, F, H_out/2, W_out/2)
        Pixel-major in memory on the pooling-order and Winograd paths, channel-major
        otherwise (see the module docstring).
    cache : tuple
        ``(conv_cache, pool_cache, out)``: the caches of conv_forward_fast and
        max_pool_forward_fast, and out itself (the ReLU's mask is out > 0).
    """
    if not _is_2x2(pool_param):
        raise ValueError(
            i18n._("the fused layer needs a 2x2 stride-2 pool, got {pool_param}").format(
                pool_param=pool_param
            )
        )
    N = x.shape[0]
    F = w.shape[0]
    H_out = conv_output_size(x.shape[2], w.shape[2], conv_param["stride"], conv_param["pad"],
                             what="conv output height")  # fmt: skip
    W_out = conv_output_size(x.shape[3], w.shape[3], conv_param["stride"], conv_param["pad"],
                             what="conv output width")  # fmt: skip
    conv_output_size(H_out, 2, 2, 0, what="pool output height")  # raises if H_out is odd
    conv_output_size(W_out, 2, 2, 0, what="pool output width")
    if _use_winograd(x, w, b, conv_param):  # 3x3 "same", enough channels: see winograd.py
        return _winograd_relu_pool_forward(x, w, b, conv_param, pool_param)
    if _use_pool_order(x.shape, w.shape, conv_param):
        # The usual case: pixel-major columns in pooling order, the pool on contiguous blocks.
        return _pixel_major_relu_pool_forward(x, w, b, conv_param, pool_param)
    dtype = np.result_type(x, w, b)
    prod = _scratch("conv_out", (F, N * H_out * W_out), dtype)
    _, cols, _ = _conv_product(x, w, b, conv_param, out=prod)
    pooled, masks = _pool2x2_forward(prod.reshape(F, N, H_out, W_out))  # (F, N, H/2, W/2)
    threads.split(lambda c0, c1: np.maximum(pooled[c0:c1], 0, out=pooled[c0:c1]), F,
                  pooled.size)  # ReLU in place  # fmt: skip
    out = pooled.swapaxes(0, 1)  # (N, F, H_out/2, W_out/2)
    conv_cache = (x, w, b, conv_param, cols)
    pool_cache = ((N, F, H_out, W_out), dtype, pool_param, masks)
    return out, (conv_cache, pool_cache, out)


def _conv_blocks_backward(block_da, conv_cache, dtype, db_dtype, compute_dx):
    """The conv part of a blocked fused backward pass (columns in pooling order, one block of
    images per thread): ``block_da(k)`` gives block k's gradient rows, (F, 4 * its pixels);
    the same thread makes the block's partial [dw, db] and, with ``compute_dx``, its images'
    dx. The partials are added in block order, so the result does not depend on the number
    of threads. Returns (dx or None, dw, db)."""
    x, w, _, conv_param, parts, _ = conv_cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    K = C * HH * WW
    dwb = np.empty((len(parts), K + 1, F), dtype=dtype)  # each block's [dw, db]ᵀ
    dx_cm = np.empty((C, N, H, W), dtype=dtype) if compute_dx else None
    w_rows = w.reshape(F, K).astype(dtype, copy=False)

    def block(k):
        (n0, n1), cols = parts[k]
        da = block_da(k)
        _matmul(cols, da.T, out=dwb[k])
        if dx_cm is not None:
            dcols = _scratch("dcols", (K, da.shape[1]), dtype)
            _matmul(w_rows.T, da, out=dcols)
            col2im_pool_order(dcols, (n1 - n0, C, H, W), HH, WW, conv_param["pad"],
                              out=dx_cm[:, n0:n1])  # fmt: skip

    _each_block(block, len(parts))
    dwb_t = dwb[0]
    for partial in dwb[1:]:  # in block order
        dwb_t += partial
    dw = np.ascontiguousarray(dwb_t[:K].T).reshape(w.shape)  # (F, C, HH, WW)
    db = dwb_t[K].astype(db_dtype, copy=False)  # (F,)
    return (None if dx_cm is None else dx_cm.transpose(1, 0, 2, 3)), dw, db


def _conv_backward_pool_order(da_rows, conv_cache, compute_dx):
    """conv_backward_fast for a conv_cache whose columns are in pooling order."""
    x, w, b, conv_param, cols, _ = conv_cache
    col2im_rows = lambda dcols: col2im_pool_order(dcols, x.shape, *w.shape[2:],  # noqa: E731
                                                  conv_param["pad"])  # fmt: skip
    return _conv_backward_rows(da_rows, w, b, cols, col2im_rows, compute_dx)


def conv_relu_pool_backward_fast(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_relu_pool_forward_fast`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out/2, W_out/2)
    cache : tuple
        ``(conv_cache, pool_cache, out)``.
    compute_dx : bool
        As in :func:`conv_backward_fast`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    conv_cache, pool_cache, out = cache
    if len(conv_cache) == 6 and conv_cache[5] == "winograd":
        return _winograd_relu_pool_backward(dout, conv_cache, compute_dx)
    if len(conv_cache) == 6:  # pixel-major columns in pooling order
        return _pixel_major_relu_pool_backward(dout, conv_cache, compute_dx)
    (N, F, H_out, W_out), dtype, _, masks = pool_cache
    out_cm, dout_cm = out.swapaxes(0, 1), dout.swapaxes(0, 1)  # (F, N, H_out/2, W_out/2)
    da_cm = _scratch("pool_grad", (F, N, H_out, W_out), np.result_type(dtype, dout))
    _pool2x2_backward(dout_cm, masks, da_cm, relu_out=out_cm)  # ReLU and pool backward
    return conv_backward_fast(da_cm.swapaxes(0, 1), conv_cache, compute_dx=compute_dx)


# ---- Pixel-major im2col: the fused layer where Winograd does not apply (cs231n_lib.im2col) ----


def _pixel_major_relu_pool_forward(x, w, b, conv_param, pool_param):
    """conv_relu_pool_forward_fast with pixel-major columns in pooling order (a "same"
    convolution of an input with even H and W: the benchmark net's conv1, the 7×7 layer of
    ThreeLayerConvNet), one block of images per thread.

    Each block's phase planes, im2col, product and pool run in one thread
    (:func:`cs231n_lib.im2col.im2col_pixel_major`): the product ``colsᵀ @ [w_rows, b]ᵀ``
    writes the four pixels of every window into four contiguous (H/2·W/2·n, F) blocks, and
    the pooled output is pixel-major, (H/2, W/2, N, F) in memory, as a Winograd layer after it
    reads its input. Every output value is the dot product of a filter with a window, summed
    in the same order as by ``w_rows @ cols``, so out (and dx) are the composed layers' bits,
    with any number of threads. The conv cache holds each block's columns and pool masks:
    ``((n0, n1), cols, masks)``.
    """
    N, C, H, W = x.shape  # a "same" convolution: the output is H x W too
    F, _, HH, WW = w.shape
    Hp, Wp = H // 2, W // 2
    dtype = np.result_type(x, w, b)
    w_aug = _augmented_filters(w, b, dtype)  # (F, C*HH*WW + 1)
    out_pm = np.empty((Hp, Wp, N, F), dtype=dtype)
    blocks = _batch_blocks(N, F * (w[0].size + 1) * N * H * W) or [(0, N)]
    parts = [None] * len(blocks)

    def block(k):
        n0, n1 = blocks[k]
        Q = Hp * Wp * (n1 - n0)  # this block's pooled pixels
        xs = phase_planes(x[n0:n1], conv_param["pad"], dtype)
        cols = im2col_pixel_major(xs, HH, WW, (H, W))  # (C*HH*WW + 1, 4Q)
        prod = _matmul(cols.T, w_aug.T, out=_scratch("conv_out", (4 * Q, F), dtype))
        parts[k] = ((n0, n1), cols, _relu_pool_pixel_major(prod, out_pm, n0, n1))

    _each_block(block, len(blocks))
    out = out_pm.transpose(2, 3, 0, 1)  # (N, F, H/2, W/2)
    conv_cache = (x, w, b, conv_param, tuple(parts), "pixel-major")
    return out, (conv_cache, ((N, F, H, W), dtype, pool_param, None), out)


def _pixel_major_relu_pool_backward(dout, conv_cache, compute_dx):
    """The backward pass of :func:`_pixel_major_relu_pool_forward`, one block per thread.

    Each block's pool and ReLU backward, its partial [dw, db], and with ``compute_dx`` its
    dcols and col2im, run in one thread; dx of a block's images depends on those images
    only, so it is the same bits as the whole batch's. The partials are added in block order,
    so dw and db do not depend on the number of threads. dx is (C, H, W, N) in memory.
    """
    x, w, b, conv_param, parts, _ = conv_cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    K = C * HH * WW
    Hp, Wp = H // 2, W // 2
    dtype = np.result_type(parts[0][1], dout)
    dout_pm = dout.transpose(2, 3, 0, 1)
    dwb = np.empty((len(parts), K + 1, F), dtype=dtype)  # each block's [dw, db]ᵀ
    dx_t = np.empty((C, H, W, N), dtype=dtype) if compute_dx else None
    w_rows = w.reshape(F, K).astype(dtype, copy=False)

    def block(k):
        (n0, n1), cols, masks = parts[k]
        Q = Hp * Wp * (n1 - n0)
        da = _relu_pool_backward_pixel_major(dout_pm, masks, n0, n1, dtype).reshape(4 * Q, F)
        _matmul(cols, da, out=dwb[k])  # da in the order of cols' columns
        if dx_t is not None:
            dcols = _matmul(w_rows.T, da.T, out=_scratch("dcols", (K, 4 * Q), dtype))
            col2im_pixel_major(dcols, (n1 - n0, C, H, W), HH, WW, conv_param["pad"],
                               out=dx_t[..., n0:n1])  # fmt: skip

    _each_block(block, len(parts))
    dwb_t = dwb[0]
    for partial in dwb[1:]:  # in block order
        dwb_t += partial
    dw = np.ascontiguousarray(dwb_t[:K].T).reshape(w.shape)  # (F, C, HH, WW)
    db = dwb_t[K].astype(np.result_type(b, dtype), copy=False)  # (F,), as the composed layers'
    return (None if dx_t is None else dx_t.transpose(3, 0, 1, 2)), dw, db


# ---- Winograd: 3x3 "same" convolutions with enough channels (cs231n_lib.winograd) ----


def _use_winograd(x, w, b, conv_param):
    """Whether a convolution takes the Winograd path (winograd.applies, after the depth check).

    Its arrays are pixel-major, (H, W, N, C) in memory: each of the transforms' numpy calls
    then runs one inner loop over N*C contiguous numbers instead of W/2, so a layer is a few
    dozen long passes (numpy holds the GIL between its inner loops, so short ones would keep
    the layers' threads waiting for each other). The outputs are returned as (N, C, H, W)
    views of that memory, which the next Winograd layer reads without a copy.
    """
    _check_depth(x, w)
    return winograd.applies(x.shape, w.shape, conv_param["stride"], conv_param["pad"],
                            np.result_type(x, w, b))  # fmt: skip


def _winograd_blocks(x, w):
    """The fixed blocks of images of a Winograd layer, composed or fused alike (so the two
    make the same BLAS calls on the same numbers, and give the same bits)."""
    N, _, H, W = x.shape
    return _batch_blocks(N, w.shape[0] * (w[0].size + 1) * N * H * W) or [(0, N)]


def _winograd_tiles(x_pm, n0, n1, dtype):
    """The Tiles of images n0..n1 of a pixel-major batch (H, W, N, C)."""
    return winograd.tiles(x_pm[:, :, n0:n1].astype(dtype, copy=False))


def _winograd_conv_forward(x, w, b):
    """conv_forward_fast by Winograd: out (N, F, H, W), pixel-major in memory, and the
    blocks' tiles, ``((n0, n1), tiles)`` pairs (one block of images per thread)."""
    N, C, H, W = x.shape
    F = w.shape[0]
    dtype = np.result_type(x, w, b)
    U, bias = winograd.filters(w, dtype), b.astype(dtype, copy=False)
    x_pm = x.transpose(2, 3, 0, 1)  # (H, W, N, C): contiguous when x came from this path
    out_pm = np.empty((H, W, N, F), dtype=dtype)
    blocks = _winograd_blocks(x, w)
    parts = [None] * len(blocks)

    def block(k):
        n0, n1 = blocks[k]
        t = _winograd_tiles(x_pm, n0, n1, dtype)
        Y = winograd.forward(
            U, t, bias, _scratch("conv_out", (4, H * W * (n1 - n0) // 4, F), dtype)
        )
        Y6 = Y.reshape(2, 2, H // 2, W // 2, n1 - n0, F)  # pixel (2i + a, 2j + b): Y6[a, b, i, j]
        np.copyto(out_pm[:, :, n0:n1].reshape(H // 2, 2, W // 2, 2, n1 - n0, F),
                  Y6.transpose(2, 0, 3, 1, 4, 5))  # fmt: skip
        parts[k] = ((n0, n1), t)

    _each_block(block, len(blocks))
    return out_pm.transpose(2, 3, 0, 1), tuple(parts)


def _winograd_conv_backward(dout, x_shape, w, b, parts, compute_dx):
    """conv_backward_fast for the cache of :func:`_winograd_conv_forward`."""
    N, C, H, W = x_shape
    F = w.shape[0]
    dtype = np.result_type(parts[0][1].dtype, dout)
    dout_pm = dout.transpose(2, 3, 0, 1)

    def block_da(k):
        (n0, n1), _ = parts[k][:2]
        da = _scratch("pool_grad", (4, H * W * (n1 - n0) // 4, F), dtype)  # in the order of Y
        np.copyto(da.reshape(2, 2, H // 2, W // 2, n1 - n0, F),
                  dout_pm[:, :, n0:n1].reshape(H // 2, 2, W // 2, 2, n1 - n0, F).transpose(
                      1, 3, 0, 2, 4, 5))  # fmt: skip
        return da

    db_dtype = np.result_type(b, dout)
    return _winograd_blocks_backward(block_da, x_shape, w, b, parts, dtype, db_dtype, compute_dx)


def _winograd_blocks_backward(block_da, x_shape, w, b, parts, dtype, db_dtype, compute_dx):
    """The conv part of a Winograd layer's backward pass, one block of images per thread:
    ``block_da(k)`` gives block k's output gradient (4, T_k, F), contiguous; the same
    thread makes the block's partial dw and db and its images' dx. The partials are added in
    block order, so the result does not depend on the number of threads. Returns
    (dx or None, dw, db)."""
    N, C, H, W = x_shape
    F = w.shape[0]
    U = winograd.filters(w, parts[0][1].dtype)
    dU = np.empty((len(parts), 16, C, F), dtype=dtype)
    db = np.empty((len(parts), F), dtype=dtype)
    dx_pm = np.empty((H, W, N, C), dtype=dtype) if compute_dx else None

    def block(k):
        (n0, n1), t = parts[k][:2]
        da = block_da(k)
        dx_block = None if dx_pm is None else dx_pm[:, :, n0:n1]
        _, dU[k], db[k] = winograd.backward(da, U, t, compute_dx, dx_out=dx_block)

    _each_block(block, len(parts))
    for k in range(1, len(parts)):  # in block order
        dU[0] += dU[k]
        db[0] += db[k]
    dw = winograd.filter_gradient(dU[0], w.shape, dtype)
    dx = None if dx_pm is None else dx_pm.transpose(2, 3, 0, 1)
    return dx, dw, db[0].astype(db_dtype, copy=False)


def _winograd_relu_pool_forward(x, w, b, conv_param, pool_param):
    """conv_relu_pool_forward_fast by Winograd, one block of images per thread (as
    :func:`_pixel_major_relu_pool_forward`); out is pixel-major in memory.

    Each block's input transform, products, output transform and pool run in one thread, the
    same calls on the same numbers as :func:`_winograd_conv_forward`'s, so out (and dx) are
    the composed layers' bits with any number of threads. The conv cache holds each block's
    tiles and pool masks: ``((n0, n1), tiles, masks)``.
    """
    N, C, H, W = x.shape
    F = w.shape[0]
    Hp, Wp = H // 2, W // 2
    dtype = np.result_type(x, w, b)
    U, bias = winograd.filters(w, dtype), b.astype(dtype, copy=False)
    x_pm = x.transpose(2, 3, 0, 1)
    out_pm = np.empty((Hp, Wp, N, F), dtype=dtype)
    blocks = _winograd_blocks(x, w)
    parts = [None] * len(blocks)

    def block(k):
        n0, n1 = blocks[k]
        Q = Hp * Wp * (n1 - n0)  # this block's pooled pixels (and tiles)
        t = _winograd_tiles(x_pm, n0, n1, dtype)
        Y = winograd.forward(U, t, bias, _scratch("conv_out", (4, Q, F), dtype))
        parts[k] = ((n0, n1), t, _relu_pool_pixel_major(Y, out_pm, n0, n1))

    _each_block(block, len(blocks))
    out = out_pm.transpose(2, 3, 0, 1)  # (N, F, H/2, W/2)
    conv_cache = (x, w, b, conv_param, tuple(parts), "winograd")
    return out, (conv_cache, ((N, F, H, W), dtype, pool_param, None), out)


def _winograd_relu_pool_backward(dout, conv_cache, compute_dx):
    """The backward pass of :func:`_winograd_relu_pool_forward`: each block's pool and ReLU
    backward, then :func:`_winograd_blocks_backward`, in the same thread."""
    x, w, b, _, parts, _ = conv_cache
    dtype = np.result_type(parts[0][1].dtype, dout)
    dout_pm = dout.transpose(2, 3, 0, 1)

    def block_da(k):
        (n0, n1), _, masks = parts[k]
        return _relu_pool_backward_pixel_major(dout_pm, masks, n0, n1, dtype)

    db_dtype = np.result_type(b, dtype)  # as the composed layers' (their dout is da's dtype)
    return _winograd_blocks_backward(block_da, x.shape, w, b, parts, dtype, db_dtype, compute_dx)


# ---- Spatial batch normalisation (channel-major) ----


def spatial_batchnorm_forward_fast(x, gamma, beta, bn_param):
    """Batch normalisation of every channel over (N, H, W), as CS231n's spatial batchnorm.

    ``out = gamma * (x - mean) / sqrt(var + eps) + beta`` per channel, with the minibatch's
    mean and (biased) variance in training and the running averages at test time. The
    reference it is held equal to is the straightforward numpy in ``tests/test_fast_layers.py``;
    this version works on the channel-major (C, N*H*W) view, so every per-channel sum is one
    contiguous row, and splits the channels between threads.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    bn_param : dict
        ``'mode'`` ('train' or 'test'), optional ``'eps'`` (1e-5) and ``'momentum'`` (0.9);
        ``'running_mean'`` / ``'running_var'`` (C,) start as zeros and ones (also in a test
        call before any training) and each training call replaces the dict's entries with
        ``running = momentum * running + (1 - momentum) * batch``.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
        Channel-major in memory.
    cache : tuple or None
        Training: ``(xhat_cm, gamma, inv_std)`` with xhat_cm (C, N*H*W) the normalised input
        and inv_std (C,); test mode: None.
    """
    N, C, H, W = x.shape
    dtype = np.result_type(x, gamma, beta)
    x_cm = _channel_major(x.astype(dtype, copy=False)).reshape(C, -1)  # (C, N*H*W)
    out_cm, cache = _batchnorm_rows_forward(x_cm, gamma, beta, bn_param)
    return out_cm.reshape(C, N, H, W).swapaxes(0, 1), cache


def _batchnorm_rows_forward(x_cm, gamma, beta, bn_param):
    """spatial_batchnorm_forward_fast on x_cm (C, M), each channel's M values one row.

    The order of the values inside a row does not matter (the conv-bn-relu-pool layer passes
    its conv output with the columns in pooling order). Returns out (C, M) and the cache.
    """
    C, M = x_cm.shape
    mode = bn_param.get("mode", "train")
    if mode not in ("train", "test"):
        raise ValueError(
            i18n._("bn_param['mode'] must be 'train' or 'test', got {mode!r}").format(mode=mode)
        )
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    dtype = np.result_type(x_cm, gamma, beta)
    out_cm = np.empty((C, M), dtype=dtype)
    if mode == "test":
        running_var = bn_param.get("running_var", np.ones(C, dtype=dtype))  # before training:
        running_mean = bn_param.get("running_mean", np.zeros(C, dtype=dtype))  # the identity
        scale = (gamma / np.sqrt(running_var + eps)).astype(dtype)  # (C,)
        shift = (beta - running_mean * scale).astype(dtype)

        def normalise(c0, c1):
            np.multiply(x_cm[c0:c1], scale[c0:c1, None], out=out_cm[c0:c1])
            out_cm[c0:c1] += shift[c0:c1, None]

        threads.split(normalise, C, x_cm.size)
        return out_cm, None
    xhat = np.empty((C, M), dtype=dtype)
    mean, var = np.empty(C, dtype=dtype), np.empty(C, dtype=dtype)

    def normalise(c0, c1):
        rows = slice(c0, c1)
        mean[rows] = x_cm[rows].mean(axis=1)
        np.subtract(x_cm[rows], mean[rows, None], out=xhat[rows])  # centred
        var[rows] = np.einsum("ij,ij->i", xhat[rows], xhat[rows]) / M  # one pass, no temp
        xhat[rows] *= (1 / np.sqrt(var[rows] + eps))[:, None]
        np.multiply(xhat[rows], gamma[rows, None], out=out_cm[rows])
        out_cm[rows] += beta[rows, None]

    threads.split(normalise, C, x_cm.size)
    inv_std = (1 / np.sqrt(var + eps)).astype(dtype)
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=dtype))
    running_var = bn_param.get("running_var", np.ones(C, dtype=dtype))
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return out_cm, (xhat, gamma, inv_std)


def spatial_batchnorm_backward_fast(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_forward_fast` (training mode).

    With M = N*H*W values per channel: dbeta = Σ dout, dgamma = Σ dout·xhat, and
    dx = gamma·inv_std · (dout − dbeta/M − xhat·dgamma/M).

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(xhat_cm, gamma, inv_std)``.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Channel-major in memory.
    dgamma, dbeta : ndarray, shape (C,)
    """
    N, C, H, W = dout.shape
    dout_cm = _channel_major(dout).reshape(C, -1)  # (C, N*H*W)
    dx, dgamma, dbeta = _batchnorm_rows_backward(dout_cm, cache)
    return dx.reshape(C, N, H, W).swapaxes(0, 1), dgamma, dbeta


def _batchnorm_rows_backward(dout_cm, cache):
    """spatial_batchnorm_backward_fast on rows: dout_cm (C, M) in the order of the cache's xhat."""
    xhat, gamma, inv_std = cache
    C, M = xhat.shape
    dtype = np.result_type(xhat, dout_cm)
    dx = np.empty((C, M), dtype=dtype)
    dgamma, dbeta = np.empty(C, dtype=dtype), np.empty(C, dtype=dtype)

    def backward(c0, c1):
        rows = slice(c0, c1)
        dbeta[rows] = dout_cm[rows].sum(axis=1)
        dgamma[rows] = np.einsum("ij,ij->i", dout_cm[rows], xhat[rows])
        np.multiply(xhat[rows], (dgamma[rows] / M)[:, None], out=dx[rows])
        np.subtract(dout_cm[rows], dx[rows], out=dx[rows])
        dx[rows] -= (dbeta[rows] / M)[:, None]
        dx[rows] *= (gamma[rows] * inv_std[rows])[:, None]

    threads.split(backward, C, dx.size)
    return dx, dgamma, dbeta
