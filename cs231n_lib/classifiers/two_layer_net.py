"""A two-layer fully connected net from the modular layers: affine - relu - affine - softmax."""

from __future__ import annotations

import numpy as np

from cs231n_lib import i18n
from cs231n_lib.layer_utils import affine_relu_backward, affine_relu_forward
from cs231n_lib.layers import affine_backward, affine_forward, softmax_loss


class TwoLayerNet:
    """Two-layer net ``scores = max(0, X W1 + b1) W2 + b2`` with a softmax loss.

    The network has input dimension D, a hidden layer of H units and C classes. It does not
    run optimisation itself: a :class:`~cs231n_lib.solver.Solver` does, through ``params``
    and :meth:`loss`.

    Regularisation follows CS231n's convention: the loss adds ``0.5 * reg * sum(W**2)`` for
    each weight matrix (W1 and W2, not the biases), so its gradient is ``reg * W``.

    Parameters
    ----------
    input_dim : int
        D, the size of one input (3*32*32 for a CIFAR-10 image).
    hidden_dim : int
        H, the number of hidden units.
    num_classes : int
        C.
    weight_scale : float
        Standard deviation of the normal distribution the weights are drawn from.
    reg : float
        L2 regularisation strength.
    seed : int, optional
        Seed of the generator that draws the initial weights (None: a fresh one).
    dtype : numpy floating dtype
        dtype of the parameters: float64 for gradient checks, float32 trains about twice as
        fast (give it float32 data too).

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,).
    reg : float
    """

    def __init__(
        self,
        input_dim=3 * 32 * 32,
        hidden_dim=100,
        num_classes=10,
        weight_scale=1e-3,
        reg=0.0,
        seed=None,
        dtype=np.float64,
    ):
        for name, value in (
            ("input_dim", input_dim),
            ("hidden_dim", hidden_dim),
            ("num_classes", num_classes),
        ):
            if int(value) != value or value < 1:
                raise ValueError(
                    i18n._("{name} must be a positive integer, got {value!r}").format(
                        name=name, value=value
                    )
                )
        if reg < 0:
            raise ValueError(i18n._("reg must be >= 0, got {reg!r}").format(reg=reg))
        self.params = {}
        self.reg = reg
        rng = np.random.default_rng(seed)
        # TODO: initialise the weights W1 (D, H) and W2 (H, C) from a normal distribution with
        # mean 0 and standard deviation weight_scale (draw them with rng.standard_normal, W1
        # first), and the biases b1 (H,) and b2 (C,) to zeros. Store all four in self.params.
        ### BEGIN SOLUTION
        D, H, C = input_dim, hidden_dim, num_classes
        self.params["W1"] = weight_scale * rng.standard_normal((D, H))  # (D, H)
        self.params["b1"] = np.zeros(H)  # (H,)
        self.params["W2"] = weight_scale * rng.standard_normal((H, C))  # (H, C)
        self.params["b2"] = np.zeros(C)  # (C,)
        ### END SOLUTION
        self.params = {name: np.asarray(p, dtype=dtype) for name, p in self.params.items()}

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Parameters
        ----------
        X : ndarray, shape (N, d1, ..., dk)
            A minibatch; each example is flattened to D = d1*...*dk numbers.
        y : ndarray of int, shape (N,), optional
            Labels. Without them the method runs the forward pass only.

        Returns
        -------
        scores : ndarray, shape (N, C)
            When ``y`` is None.
        loss : float
            Softmax loss averaged over N, plus ``0.5 * reg * (sum(W1**2) + sum(W2**2))``.
        grads : dict of str to ndarray
            Gradient of the loss for every entry of ``params``, each with that entry's shape.
        """
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        scores = None
        # TODO: forward pass: compute the class scores (N, C) with affine_relu_forward and
        # affine_forward; keep their caches for the backward pass.
        ### BEGIN SOLUTION
        hidden, hidden_cache = affine_relu_forward(X, W1, b1)  # (N, H)
        scores, scores_cache = affine_forward(hidden, W2, b2)  # (N, C)
        ### END SOLUTION
        if y is None:
            return scores

        loss, grads = 0.0, {}
        # TODO: backward pass: the softmax loss plus 0.5 * reg * sum(W**2) for W1 and W2, and the
        # gradient of that total for W1, b1, W2 and b2, stored in grads under the same names.
        ### BEGIN SOLUTION
        data_loss, dscores = softmax_loss(scores, y)  # dscores (N, C)
        loss = data_loss + 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dhidden, dW2, grads["b2"] = affine_backward(dscores, scores_cache)  # (N, H)
        _, dW1, grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        grads["W2"] = dW2 + self.reg * W2  # (H, C)
        grads["W1"] = dW1 + self.reg * W1  # (D, H)
        ### END SOLUTION
        return loss, grads
