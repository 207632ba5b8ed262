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
    # TODO: compute the softmax loss and its gradient, vectorised and numerically stable
    # (shift each row by its maximum; compute log-probabilities, not log of probabilities).
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
