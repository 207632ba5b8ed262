"""Sandwich layers: common sequences of layers as one forward/backward pair.

Each forward returns ``(out, cache)`` where ``cache`` is a tuple of the caches of the layers it
chains; each backward unpacks that tuple on its first line and runs the layers' backward passes
in reverse order.
"""

from __future__ import annotations

from cs231n_lib.layers import affine_backward, affine_forward, relu_backward, relu_forward


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

from cs231n_lib.fast_layers import (  # noqa: E402  (imports for this section)
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)

# These use the fast im2col layers (cs231n_lib.fast_layers), which the tests hold equal to the
# naive ones students write; they are support code, as in CS231n.


def conv_relu_forward(x, w, b, conv_param):
    """A convolution followed by a ReLU.

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
        ``(conv_cache, relu_cache)``.
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)  # (N, F, H_out, W_out)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Backward pass of :func:`conv_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, relu_cache)``.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    conv_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)  # (N, F, H_out, W_out)
    return conv_backward_fast(da, conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """A convolution, a ReLU and a max pool: ``max_pool(relu(conv(x)))``.

    The max pool runs before the ReLU: max and ReLU commute (max(relu(a), relu(b)) =
    relu(max(a, b))), so the output and the gradients are the same, and the ReLU works on a
    pooled map, a quarter of the size for 2x2 pooling.

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
        ``(conv_cache, pool_cache, relu_cache)``.
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)  # (N, F, H_out, W_out)
    pooled, pool_cache = max_pool_forward_fast(a, pool_param)  # (N, F, H_pool, W_pool)
    out, relu_cache = relu_forward(pooled)  # (N, F, H_pool, W_pool)
    return out, (conv_cache, pool_cache, relu_cache)


def conv_relu_pool_backward(dout, cache):
    """Backward pass of :func:`conv_relu_pool_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_pool, W_pool)
    cache : tuple
        ``(conv_cache, pool_cache, relu_cache)``.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    conv_cache, pool_cache, relu_cache = cache
    dpooled = relu_backward(dout, relu_cache)  # (N, F, H_pool, W_pool)
    da = max_pool_backward_fast(dpooled, pool_cache)  # (N, F, H_out, W_out)
    return conv_backward_fast(da, conv_cache)
