"""Sandwich layers: common sequences of layers as one forward/backward pair.

Each forward returns ``(out, cache)`` where ``cache`` is a tuple of the caches of the layers it
chains; each backward unpacks that tuple on its first line and runs the layers' backward passes
in reverse order.
"""

from __future__ import annotations

from cs231n_lib.layers import (
    affine_backward,
    affine_forward,
    conv_output_size,
    relu_backward,
    relu_forward,
)


def affine_relu_forward(x, w, b):
    """An affine layer followed by a ReLU: ``out = max(0, x.reshape(N, D) @ w + b)``.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        ``(fc_cache, relu_cache)``: the caches of :func:`affine_forward` and
        :func:`relu_forward`.
    """
    out, cache = None, None
    # TODO: chain affine_forward and relu_forward; keep both caches.
    ### BEGIN SOLUTION
    a, fc_cache = affine_forward(x, w, b)  # (N, M)
    out, relu_cache = relu_forward(a)  # (N, M)
    cache = (fc_cache, relu_cache)
    ### END SOLUTION
    return out, cache


def affine_relu_backward(dout, cache):
    """Backward pass of :func:`affine_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple
        ``(fc_cache, relu_cache)`` from :func:`affine_relu_forward`.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    fc_cache, relu_cache = cache
    dx, dw, db = None, None, None
    # TODO: run relu_backward then affine_backward.
    ### BEGIN SOLUTION
    da = relu_backward(dout, relu_cache)  # (N, M)
    dx, dw, db = affine_backward(da, fc_cache)
    ### END SOLUTION
    return dx, dw, db


# ---- Convolutional sandwich layers ----

import numpy as np  # noqa: E402  (imports for this section)

from cs231n_lib import i18n, threads  # noqa: E402
from cs231n_lib.fast_layers import (  # noqa: E402
    conv_backward_fast,
    conv_forward_fast,
    conv_relu_pool_backward_fast,
    conv_relu_pool_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)

# These use the fast im2col layers (cs231n_lib.fast_layers), which the tests hold equal to the
# naive ones students write; they are support code, as in CS231n. Their outputs and gradients
# are laid out as the fast layers' (channel-major, or pixel-major for the fused conv-relu-pool
# layer: see cs231n_lib.fast_layers).


def conv_relu_forward(x, w, b, conv_param):
    """A convolution followed by a ReLU, applied in place on the conv output.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'`` and ``'pad'``.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, out)``; the ReLU's mask is out > 0 (where the conv output was > 0).
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)  # (N, F, H_out, W_out), a new array
    out = np.maximum(a, 0, out=a)  # ReLU in place: a is ours
    return out, (conv_cache, out)


def conv_relu_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, out)``.
    compute_dx : bool
        False skips dx (returned as None), e.g. for a network's first layer.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    conv_cache, out = cache
    out_cm, dout_cm = out.swapaxes(0, 1), dout.swapaxes(0, 1)  # (F, N, H_out, W_out) views
    da_cm = np.empty(out_cm.shape, dtype=np.result_type(out, dout))  # channel-major

    def relu_channels(c0, c1):  # a multiply by the mask is faster than np.where
        np.multiply(dout_cm[c0:c1], out_cm[c0:c1] > 0, out=da_cm[c0:c1])

    threads.split(relu_channels, len(da_cm), da_cm.size)  # channel ranges in parallel threads
    return conv_backward_fast(da_cm.swapaxes(0, 1), conv_cache, compute_dx=compute_dx)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """A convolution, a ReLU and a max pool: ``max_pool(relu(conv(x)))``.

    The max pool runs before the ReLU: max and ReLU commute (max(relu(a), relu(b)) =
    relu(max(a, b))), so the output and the gradients are the same, and the ReLU works on a
    pooled map, a quarter of the size for 2x2 pooling. For 2x2 stride-2 pools the three run
    fused (:func:`cs231n_lib.fast_layers.conv_relu_pool_forward_fast`): the conv output is
    pooled straight from a scratch buffer.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'`` and ``'pad'``.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'``.

    Returns
    -------
    out : ndarray, shape (N, F, H_pool, W_pool)
    cache : tuple
        ``(conv_cache, pool_cache, out)``; the ReLU's mask is out > 0.
    """
    if pool_param["pool_height"] == pool_param["pool_width"] == pool_param["stride"] == 2:
        return conv_relu_pool_forward_fast(x, w, b, conv_param, pool_param)
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)  # (N, F, H_out, W_out)
    pooled, pool_cache = max_pool_forward_fast(a, pool_param)  # (N, F, H_pool, W_pool)
    out = np.maximum(pooled, 0, out=pooled)  # ReLU in place: pooled is ours
    return out, (conv_cache, pool_cache, out)


def conv_relu_pool_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_relu_pool_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_pool, W_pool)
    cache : tuple
        ``(conv_cache, pool_cache, out)``.
    compute_dx : bool
        False skips dx (returned as None), e.g. for a network's first layer.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    conv_cache, pool_cache, out = cache
    pool_param = pool_cache[2]
    if pool_param["pool_height"] == pool_param["pool_width"] == pool_param["stride"] == 2:
        return conv_relu_pool_backward_fast(dout, cache, compute_dx=compute_dx)
    dpooled = np.where(out > 0, dout, np.zeros((), dtype=dout.dtype))  # ReLU backward
    da = max_pool_backward_fast(dpooled, pool_cache)  # (N, F, H_out, W_out)
    return conv_backward_fast(da, conv_cache, compute_dx=compute_dx)


# ---- With spatial batch normalisation (support code for the conv-net challenge) ----

from cs231n_lib.fast_layers import (  # noqa: E402
    _augmented_filters,
    _batch_blocks,
    _batchnorm_rows_backward,
    _batchnorm_rows_forward,
    _conv_backward_pool_order,
    _conv_blocks_backward,
    _conv_columns,
    _conv_product,
    _each_block,
    _matmul,
    _pool2x2_backward,
    _pool2x2_forward,
    _pool_phases_backward,
    _pool_phases_forward,
    _use_pool_order,
    spatial_batchnorm_backward_fast,
    spatial_batchnorm_forward_fast,
)


def _relu_inplace(a_cm):
    """ReLU in place on a channel-major array (C, ...), channels split between threads."""
    threads.split(lambda c0, c1: np.maximum(a_cm[c0:c1], 0, out=a_cm[c0:c1]), len(a_cm),
                  a_cm.size)  # fmt: skip


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """conv - spatial batchnorm - relu, with the fast layers.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w, b : conv weights (F, C, HH, WW) and biases (F,)
    gamma, beta : ndarray, shape (F,)
    conv_param, bn_param : dict
        As for :func:`conv_forward_fast` and :func:`spatial_batchnorm_forward_fast`.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, bn_cache, out)``.
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    y, bn_cache = spatial_batchnorm_forward_fast(a, gamma, beta, bn_param)
    _relu_inplace(y.swapaxes(0, 1))  # y is ours
    return y, (conv_cache, bn_cache, y)


def conv_bn_relu_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_bn_relu_forward`: dx (or None), dw, db, dgamma, dbeta."""
    conv_cache, bn_cache, out = cache
    out_cm, dout_cm = out.swapaxes(0, 1), dout.swapaxes(0, 1)
    dy_cm = np.empty(out_cm.shape, dtype=np.result_type(out, dout))

    def relu_channels(c0, c1):
        np.multiply(dout_cm[c0:c1], out_cm[c0:c1] > 0, out=dy_cm[c0:c1])

    threads.split(relu_channels, len(dy_cm), dy_cm.size)
    da, dgamma, dbeta = spatial_batchnorm_backward_fast(dy_cm.swapaxes(0, 1), bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache, compute_dx=compute_dx)
    return dx, dw, db, dgamma, dbeta


def conv_bn_relu_pool_forward(x, w, b, gamma, beta, conv_param, bn_param, pool_param):
    """conv - spatial batchnorm - relu - 2x2 max pool (the pool runs before the ReLU).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w, b : conv weights (F, C, HH, WW) and biases (F,)
    gamma, beta : ndarray, shape (F,)
    conv_param, bn_param : dict
    pool_param : dict
        Must be 2x2 with stride 2.

    Returns
    -------
    out : ndarray, shape (N, F, H_out/2, W_out/2)
    cache : tuple
        ``(conv_cache, bn_cache, masks, out)``.
    """
    if not pool_param["pool_height"] == pool_param["pool_width"] == pool_param["stride"] == 2:
        raise ValueError(
            i18n._("conv_bn_relu_pool needs a 2x2 stride-2 pool, got {pool_param}").format(
                pool_param=pool_param
            )
        )
    if _use_pool_order(x.shape, w.shape, conv_param):
        # Columns in pooling order (see cs231n_lib.im2col): batchnorm does not care about the
        # order inside a channel, and the pool then runs on contiguous blocks.
        N, F, H, W = x.shape[0], w.shape[0], x.shape[2], x.shape[3]
        blocks = _batch_blocks(N, F * (w[0].size + 1) * N * H * W)
        if blocks is not None:  # a large batch: blocks of images, as the plain fused layer
            return _conv_bn_relu_pool_blocks_forward(x, w, b, gamma, beta, conv_param,
                                                     bn_param, pool_param, blocks)  # fmt: skip
        prod, cols, _ = _conv_product(x, w, b, conv_param, pool_order=True)  # (F, 4*N*H*W/4)
        y, bn_cache = _batchnorm_rows_forward(prod, gamma, beta, bn_param)  # (F, 4*N*H*W/4)
        del prod  # the conv output is not needed any more: free it before pooling
        pooled, masks = _pool_phases_forward(y.reshape(F, 4, -1), relu=True)  # (F, N*H*W/4)
        out = pooled.reshape(F, N, H // 2, W // 2).swapaxes(0, 1)
        conv_cache = (x, w, b, conv_param, cols, "pool order")
        return out, (conv_cache, bn_cache, masks, out)
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    y, bn_cache = spatial_batchnorm_forward_fast(a, gamma, beta, bn_param)
    del a  # the conv output is not needed any more: free it before pooling
    conv_output_size(y.shape[2], 2, 2, 0, what="pool output height")
    conv_output_size(y.shape[3], 2, 2, 0, what="pool output width")
    pooled_cm, masks = _pool2x2_forward(y.swapaxes(0, 1))
    _relu_inplace(pooled_cm)
    return pooled_cm.swapaxes(0, 1), (conv_cache, bn_cache, masks, pooled_cm.swapaxes(0, 1))


def _conv_bn_relu_pool_blocks_forward(x, w, b, gamma, beta, conv_param, bn_param, pool_param,
                                      blocks):  # fmt: skip
    """conv_bn_relu_pool_forward in pooling order on fixed blocks of images.

    Three parallel regions: each thread makes its block's columns and conv output; batchnorm
    then takes its statistics over the whole batch, split by channel (the conv output holds
    every block's columns side by side, and the order inside a channel does not matter to
    batchnorm); then each thread pools its block. The blocks depend on N only, so the results
    are the same bits with any number of threads.
    """
    N, _, H, W = x.shape
    F = w.shape[0]
    Q = (H // 2) * (W // 2)  # pooled pixels per image and channel
    dtype = np.result_type(x, w, b)
    w_aug = _augmented_filters(w, b, dtype)
    prod = np.empty((F, 4 * N * Q), dtype=dtype)  # block k: columns 4*n0*Q .. 4*n1*Q
    cols = [None] * len(blocks)

    def product(k):
        n0, n1 = blocks[k]
        cols[k] = _conv_columns(x[n0:n1], w, b, conv_param, pool_order=True)
        _matmul(w_aug, cols[k], out=prod[:, 4 * n0 * Q : 4 * n1 * Q])

    _each_block(product, len(blocks))
    y, bn_cache = _batchnorm_rows_forward(prod, gamma, beta, bn_param)  # (F, 4*N*Q)
    prod = None  # the conv output is not needed any more: free it before pooling
    out_rows = np.empty((F, N * Q), dtype=y.dtype)
    masks = np.empty((F, 4, N * Q), dtype=bool)

    def pool(k):
        n0, n1 = blocks[k]
        block = y[:, 4 * n0 * Q : 4 * n1 * Q].reshape(F, 4, (n1 - n0) * Q)
        _pool_phases_forward(block, relu=True, out=out_rows[:, n0 * Q : n1 * Q],
                             masks=masks[:, :, n0 * Q : n1 * Q])  # fmt: skip

    _each_block(pool, len(blocks))
    out = out_rows.reshape(F, N, H // 2, W // 2).swapaxes(0, 1)
    conv_cache = (x, w, b, conv_param, tuple(zip(blocks, cols, strict=True)), "pool order")
    return out, (conv_cache, bn_cache, masks, out)


def _conv_bn_relu_pool_blocks_backward(dout, cache, compute_dx):
    """The backward pass of :func:`_conv_bn_relu_pool_blocks_forward`, in three regions."""
    conv_cache, bn_cache, masks, out = cache
    x, w, b, _, parts, _ = conv_cache
    N, _, H, W = x.shape
    F = w.shape[0]
    Q = (H // 2) * (W // 2)
    dout_cm = dout.swapaxes(0, 1)
    dy = np.empty((F, 4 * N * Q), dtype=np.result_type(bn_cache[0], dout))

    def pool(k):
        (n0, n1), _ = parts[k]
        d = dout_cm[:, n0:n1].reshape(F, (n1 - n0) * Q)  # a copy here if not channel-major
        _pool_phases_backward(d, masks[:, :, n0 * Q : n1 * Q],
                              out=dy[:, 4 * n0 * Q : 4 * n1 * Q].reshape(F, 4, -1))  # fmt: skip

    _each_block(pool, len(parts))
    da, dgamma, dbeta = _batchnorm_rows_backward(dy, bn_cache)  # (F, 4*N*Q), by channel
    dy = None  # free it before the conv passes

    def block_da(k):
        (n0, n1), _ = parts[k]
        return da[:, 4 * n0 * Q : 4 * n1 * Q]

    dtype = np.result_type(parts[0][1], da)
    dx, dw, db = _conv_blocks_backward(
        block_da, conv_cache, dtype, np.result_type(b, dout), compute_dx
    )
    return dx, dw, db, dgamma, dbeta


def conv_bn_relu_pool_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_bn_relu_pool_forward`: dx (or None), dw, db, dgamma, dbeta."""
    conv_cache, bn_cache, masks, out = cache
    if len(conv_cache) == 6 and isinstance(conv_cache[4], tuple):  # blocks of images
        return _conv_bn_relu_pool_blocks_backward(dout, cache, compute_dx)
    xhat = bn_cache[0]  # (F, N*H*W)
    N, F, Hp, Wp = out.shape
    if len(conv_cache) == 6:  # columns in pooling order
        P4 = N * Hp * Wp
        dout_rows = dout.swapaxes(0, 1).reshape(F, P4)  # a copy only if not channel-major
        dy = _pool_phases_backward(dout_rows, masks, dtype=np.result_type(out, dout))
        da, dgamma, dbeta = _batchnorm_rows_backward(dy.reshape(F, 4 * P4), bn_cache)
        dx, dw, db = _conv_backward_pool_order(da, conv_cache, compute_dx)
        return dx, dw, db, dgamma, dbeta
    dy_cm = np.empty((F, N, 2 * Hp, 2 * Wp), dtype=np.result_type(xhat, dout))
    _pool2x2_backward(dout.swapaxes(0, 1), masks, dy_cm, relu_out=out.swapaxes(0, 1))
    da, dgamma, dbeta = spatial_batchnorm_backward_fast(dy_cm.swapaxes(0, 1), bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache, compute_dx=compute_dx)
    return dx, dw, db, dgamma, dbeta
