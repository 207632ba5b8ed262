"""A fully connected net of any depth, with optional batch/layer normalisation and dropout.

With L = len(hidden_dims) + 1 layers the architecture is::

    {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax

Regularisation follows the course's convention: the loss adds ``0.5 * reg * sum(W**2)`` for
every weight matrix (not the biases, not gamma or beta), so its gradient is ``reg * W``.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import i18n
from cs231n_lib.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)

NORMALIZATIONS = (None, "batchnorm", "layernorm")


def affine_norm_relu_forward(x, w, b, gamma, beta, normalization, norm_param):
    """An affine layer, an optional normalisation and a ReLU, as one layer.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)
    gamma, beta : ndarray, shape (M,), or None when ``normalization`` is None
    normalization : None, "batchnorm" or "layernorm"
    norm_param : dict or None
        ``bn_param`` or ``ln_param`` of the normalisation layer.

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        ``(fc_cache, norm_cache, relu_cache, normalization)``.
    """
    a, fc_cache = affine_forward(x, w, b)  # (N, M)
    norm_cache = None
    if normalization == "batchnorm":
        a, norm_cache = batchnorm_forward(a, gamma, beta, norm_param)  # (N, M)
    elif normalization == "layernorm":
        a, norm_cache = layernorm_forward(a, gamma, beta, norm_param)  # (N, M)
    out, relu_cache = relu_forward(a)  # (N, M)
    return out, (fc_cache, norm_cache, relu_cache, normalization)


def affine_norm_relu_backward(dout, cache):
    """Backward pass of :func:`affine_norm_relu_forward`.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    dgamma, dbeta : ndarray, shape (M,), or None without normalisation
    """
    fc_cache, norm_cache, relu_cache, normalization = cache
    da = relu_backward(dout, relu_cache)  # (N, M)
    dgamma = dbeta = None
    if normalization == "batchnorm":
        da, dgamma, dbeta = batchnorm_backward_alt(da, norm_cache)  # (N, M)
    elif normalization == "layernorm":
        da, dgamma, dbeta = layernorm_backward(da, norm_cache)  # (N, M)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


class FullyConnectedNet:
    """A fully connected net with any number of hidden layers and a softmax loss.

    Like :class:`~cs231n_lib.classifiers.two_layer_net.TwoLayerNet` it only computes scores,
    loss and gradients; a :class:`~cs231n_lib.solver.Solver` trains it.

    Parameters
    ----------
    hidden_dims : list of int
        The size of each hidden layer (L - 1 numbers for an L-layer net).
    input_dim : int
        D, the size of one input (3*32*32 for a CIFAR-10 image).
    num_classes : int
        C.
    normalization : None, "batchnorm" or "layernorm"
        Normalisation after each hidden affine layer.
    dropout_keep_ratio : float in (0, 1]
        Probability of keeping each hidden unit; 1 means no dropout.
    reg : float
        L2 regularisation strength.
    weight_scale : float
        Standard deviation of the normal distribution the weights are drawn from.
    dtype : numpy floating dtype
        float64 for gradient checks; float32 trains about twice as fast.
    seed : int, optional
        Seeds the initial weights and the sequence of dropout masks (None: fresh randomness;
        masks then come from NumPy's global generator). For a gradient check with dropout, fix
        the masks with ``model.dropout_param["seed"] = 123``: an int gives the same mask on
        every forward pass.

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1`` ... ``WL`` and ``b1`` ... ``bL`` (layer i maps ``dims[i-1]`` to ``dims[i]``
        numbers, with dims = [input_dim, *hidden_dims, num_classes]); with normalisation also
        ``gamma1`` ... ``gamma{L-1}`` (ones) and ``beta1`` ... ``beta{L-1}`` (zeros).
    bn_params : list of dict
        One ``bn_param`` per hidden layer with batch norm (running averages live there), or
        ``ln_param`` with layer norm; empty without normalisation.
    dropout_param : dict
        ``{"mode", "p", "seed"}``, shared by every dropout layer; empty without dropout.
    num_layers : int
        L.
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        normalization=None,
        dropout_keep_ratio=1,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
    ):
        hidden_dims = list(hidden_dims)
        for name, value in [("input_dim", input_dim), ("num_classes", num_classes)] + [
            (f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_dims)
        ]:
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(
                    i18n._("{name} must be a positive integer, got {value!r}").format(
                        name=name, value=value
                    )
                )
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                i18n._(
                    "normalization must be None, 'batchnorm' or 'layernorm', got {normalization!r}"
                ).format(normalization=normalization)
            )
        if not 0 < dropout_keep_ratio <= 1:
            raise ValueError(
                i18n._(
                    "dropout_keep_ratio is the probability of keeping a unit and must be in "
                    "(0, 1], got {ratio!r} (1 means no dropout)"
                ).format(ratio=dropout_keep_ratio)
            )
        if reg < 0:
            raise ValueError(i18n._("reg must be >= 0, got {reg!r}").format(reg=reg))
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        rng = np.random.default_rng(seed)
        # TODO: for each layer i = 1 ... L, with dims = [input_dim, *hidden_dims, num_classes],
        # store W{i} (dims[i-1], dims[i]) drawn with weight_scale * rng.standard_normal (W1
        # first) and b{i} zeros (dims[i],). With normalisation, every hidden layer i = 1 ...
        # L-1 also gets gamma{i} (ones) and beta{i} (zeros) of shape (dims[i],).
        ### BEGIN SOLUTION
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = weight_scale * rng.standard_normal((dims[i - 1], dims[i]))
            self.params[f"b{i}"] = np.zeros(dims[i])
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(dims[i])
                self.params[f"beta{i}"] = np.zeros(dims[i])
        ### END SOLUTION
        self.params = {name: np.asarray(p, dtype=dtype) for name, p in self.params.items()}

        # Dropout masks: a generator of their own, seeded from seed (see the class docstring).
        self.dropout_param = {}
        if self.use_dropout:
            mask_seed = None if seed is None else np.random.default_rng([seed, 1])
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio, "seed": mask_seed}
        # One parameter dict per normalisation layer: batch norm keeps its running averages in
        # it. (CS231n's name bn_params is kept for layer norm too.)
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        elif normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]

    def loss(self, X, y=None):
        """Class scores (test mode), or the loss and its gradients (training mode).

        Parameters
        ----------
        X : ndarray, shape (N, d1, ..., dk)
        y : ndarray of int, shape (N,), optional
            Labels. Without them the net runs in test mode (running averages, no dropout) and
            returns the scores.

        Returns
        -------
        scores : ndarray, shape (N, C)
            When ``y`` is None.
        loss : float
            Softmax loss averaged over N, plus ``0.5 * reg * sum(W**2)`` over every W{i}.
        grads : dict of str to ndarray
            The gradient for every entry of ``params``, each in that entry's shape.
        """
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode
        L = self.num_layers
        scores = None
        # TODO: forward pass. For each hidden layer i = 1 ... L-1 use affine_norm_relu_forward
        # (with gamma{i}, beta{i} and self.bn_params[i-1] when self.normalization is set,
        # else None), then dropout_forward with self.dropout_param if self.use_dropout. The
        # last layer is affine_forward. Keep every cache.
        ### BEGIN SOLUTION
        caches = []
        h = X
        for i in range(1, L):
            norm = self.normalization
            gamma = self.params.get(f"gamma{i}")
            beta = self.params.get(f"beta{i}")
            norm_param = self.bn_params[i - 1] if norm else None
            W, b = self.params[f"W{i}"], self.params[f"b{i}"]
            h, cache = affine_norm_relu_forward(h, W, b, gamma, beta, norm, norm_param)
            drop_cache = None
            if self.use_dropout:
                h, drop_cache = dropout_forward(h, self.dropout_param)  # (N, dims[i])
            caches.append((cache, drop_cache))
        scores, last_cache = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        ### END SOLUTION
        if mode == "test":
            return scores

        loss, grads = 0.0, {}
        # TODO: backward pass: the softmax loss plus 0.5 * reg * sum(W{i}**2) over every layer,
        # and the gradient of that total for every parameter, stored in grads under the
        # parameter's name (dropout_backward, then affine_norm_relu_backward, for each hidden
        # layer from the top down).
        ### BEGIN SOLUTION
        data_loss, dscores = softmax_loss(scores, y)  # dscores (N, C)
        weights = [self.params[f"W{i}"] for i in range(1, L + 1)]
        loss = data_loss + 0.5 * self.reg * sum(np.sum(W * W) for W in weights)
        dh, dW, grads[f"b{L}"] = affine_backward(dscores, last_cache)
        grads[f"W{L}"] = dW + self.reg * self.params[f"W{L}"]
        for i in range(L - 1, 0, -1):
            cache, drop_cache = caches[i - 1]
            if self.use_dropout:
                dh = dropout_backward(dh, drop_cache)
            dh, dW, db, dgamma, dbeta = affine_norm_relu_backward(dh, cache)
            grads[f"W{i}"] = dW + self.reg * self.params[f"W{i}"]
            grads[f"b{i}"] = db
            if self.normalization is not None:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        ### END SOLUTION
        return loss, grads
