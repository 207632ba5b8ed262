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
