"""Convolutional networks built from the layers: a three-layer net and a deeper one.

``ThreeLayerConvNet`` is the exercise (CS231n's): conv - relu - 2×2 max pool - affine - relu -
affine - softmax. ``ConvNet`` is the general pattern from the lecture,

    INPUT -> [[CONV -> RELU]*N -> POOL]*M -> [FC -> RELU]*K -> FC -> softmax,

with 3×3 convolutions (stride 1, pad 1, so only the pools shrink the image) and He
initialisation; it is support code, used for the CIFAR-10 challenge and the benchmark
``benchmarks/convnet_cifar10.py``. Both use the fast layers and run in float32 by default.

Threads: the fast layers run their matrix products on their own threads, one BLAS thread
each, whatever BLAS is set to (:mod:`cs231n_lib.threads`); the affine layers' products use
BLAS's own threads. Importing this module changes neither. Notebook 06 puts BLAS on one
thread in its first cells (``cs231n_lib.threads.set_blas_threads(1)``): BLAS's threads spin
while they wait for each other, which made training steps several times slower whenever
other processes kept the cores busy (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import i18n
from cs231n_lib.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_bn_relu_backward,
    conv_bn_relu_forward,
    conv_bn_relu_pool_backward,
    conv_bn_relu_pool_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cs231n_lib.layers import affine_backward, affine_forward, softmax_loss


def _check_positive_ints(**values):
    for name, value in values.items():
        if int(value) != value or value < 1:
            raise ValueError(
                i18n._("{name} must be a positive integer, got {value!r}").format(
                    name=name, value=value
                )
            )


class ThreeLayerConvNet:
    """conv - relu - 2×2 max pool - affine - relu - affine - softmax.

    The convolution has ``num_filters`` filters of size filter_size × filter_size, stride 1
    and pad (filter_size - 1)/2, so it keeps the spatial size H × W; the pool halves it. The
    network works on minibatches of shape (N, C, H, W).

    Regularisation adds ``0.5 * reg * sum(W**2)`` for W1, W2 and W3 (not the biases).

    Parameters
    ----------
    input_dim : tuple of int
        (C, H, W) of one input; H and W must be even (for the pool).
    num_filters : int
        F, filters in the convolutional layer.
    filter_size : int
        Odd width and height of the filters (odd so that the padding keeps the size).
    hidden_dim : int
        Units in the hidden affine layer.
    num_classes : int
    weight_scale : float
        Standard deviation of the normal distribution the weights are drawn from.
    reg : float
        L2 regularisation strength.
    dtype : numpy dtype
        float32 (fast) or float64 (for gradient checks).
    seed : int, optional
        Seed of the generator that draws the initial weights.

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1`` (F, C, filter_size, filter_size), ``b1`` (F,), ``W2`` (F*H/2*W/2, hidden_dim),
        ``b2`` (hidden_dim,), ``W3`` (hidden_dim, num_classes), ``b3`` (num_classes,), all of
        ``dtype``.
    """

    def __init__(
        self,
        input_dim=(3, 32, 32),
        num_filters=32,
        filter_size=7,
        hidden_dim=100,
        num_classes=10,
        weight_scale=1e-3,
        reg=0.0,
        dtype=np.float32,
        seed=None,
    ):
        C, H, W = input_dim
        _check_positive_ints(
            C=C, H=H, W=W, num_filters=num_filters, filter_size=filter_size,
            hidden_dim=hidden_dim, num_classes=num_classes,
        )  # fmt: skip
        if filter_size % 2 == 0:
            raise ValueError(
                i18n._(
                    "filter_size must be odd so that pad (filter_size - 1)/2 keeps the size, got "
                    "{filter_size}; use {smaller} or {larger}"
                ).format(filter_size=filter_size, smaller=filter_size - 1, larger=filter_size + 1)
            )
        if H % 2 or W % 2:
            raise ValueError(
                i18n._("H and W must be even for the 2x2 pool, got input_dim {input_dim}").format(
                    input_dim=input_dim
                )
            )
        if reg < 0:
            raise ValueError(i18n._("reg must be >= 0, got {reg!r}").format(reg=reg))
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        rng = np.random.default_rng(seed)
        # TODO: initialise W1 (F, C, filter_size, filter_size), W2 (F*(H/2)*(W/2), hidden_dim)
        # and W3 (hidden_dim, num_classes) from a normal distribution with mean 0 and standard
        # deviation weight_scale (rng.standard_normal, in the order W1, W2, W3), and the biases
        # b1, b2, b3 to zeros. Store all six in self.params.
        ### BEGIN SOLUTION
        F, fs = num_filters, filter_size
        self.params["W1"] = weight_scale * rng.standard_normal((F, C, fs, fs))  # (F, C, fs, fs)
        self.params["b1"] = np.zeros(F)  # (F,)
        pooled = F * (H // 2) * (W // 2)  # size of one example after the pool
        self.params["W2"] = weight_scale * rng.standard_normal((pooled, hidden_dim))
        self.params["b2"] = np.zeros(hidden_dim)  # (hidden_dim,)
        self.params["W3"] = weight_scale * rng.standard_normal((hidden_dim, num_classes))
        self.params["b3"] = np.zeros(num_classes)  # (num_classes,)
        ### END SOLUTION
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Parameters
        ----------
        X : ndarray, shape (N, C, H, W)
        y : ndarray of int, shape (N,), optional
            Labels; without them only the forward pass runs.

        Returns
        -------
        scores : ndarray, shape (N, num_classes)
            When ``y`` is None.
        loss : float
            Softmax loss plus ``0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))``.
        grads : dict of str to ndarray
            Gradient of the loss for every entry of ``params``, each with that entry's shape.
        """
        X = X.astype(self.dtype, copy=False)
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        filter_size = W1.shape[2]
        conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        scores = None
        # TODO: forward pass: conv_relu_pool_forward, affine_relu_forward and affine_forward
        # (from cs231n_lib.layer_utils and cs231n_lib.layers) give the scores (N, num_classes);
        # keep the three caches.
        ### BEGIN SOLUTION
        pooled, cache1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        hidden, cache2 = affine_relu_forward(pooled, W2, b2)  # (N, hidden_dim)
        scores, cache3 = affine_forward(hidden, W3, b3)  # (N, num_classes)
        ### END SOLUTION
        if y is None:
            return scores

        loss, grads = 0.0, {}
        # TODO: backward pass: softmax loss plus the L2 term, and the gradients of that total
        # for all six parameters, stored in grads under the same names as in self.params.
        # (conv_relu_pool_backward(..., compute_dx=False) skips the gradient for the images,
        # which nothing needs.)
        ### BEGIN SOLUTION
        data_loss, dscores = softmax_loss(scores, y)  # (N, num_classes)
        loss = data_loss + 0.5 * self.reg * sum(np.sum(W * W) for W in (W1, W2, W3))
        dhidden, dW3, grads["b3"] = affine_backward(dscores, cache3)  # (N, hidden_dim)
        dpooled, dW2, grads["b2"] = affine_relu_backward(dhidden, cache2)
        # The gradient for the images is not needed: compute_dx=False skips it (and its
        # col2im), which is most of the first layer's backward pass.
        _, dW1, grads["b1"] = conv_relu_pool_backward(dpooled, cache1, compute_dx=False)
        grads["W1"] = dW1 + self.reg * W1
        grads["W2"] = dW2 + self.reg * W2
        grads["W3"] = dW3 + self.reg * W3
        ### END SOLUTION
        return loss, grads


class ConvNet:
    """INPUT -> [[CONV3x3 -> RELU]*N -> POOL2x2]*M -> [FC -> RELU]*K -> FC -> softmax.

    ``stages=((32,), (64,), (128,))`` means M = 3 stages of one 3×3 convolution each (32, 64,
    then 128 filters), each followed by a 2×2 max pool: 32×32 → 16×16 → 8×8 → 4×4. Convolutions
    use stride 1 and pad 1, so they keep the size. ``hidden_dims`` are the K hidden affine
    layers. Weights are drawn with He initialisation (standard deviation sqrt(2 / fan_in)),
    so no weight scale needs tuning; biases start at 0.

    Parameters
    ----------
    input_dim : tuple of int
        (C, H, W); H and W must be divisible by 2**M.
    stages : sequence of sequence of int
        Filters of each convolution, grouped by pool.
    hidden_dims : sequence of int
        Sizes of the hidden affine layers (may be empty).
    num_classes : int
    reg : float
        L2 strength on all weights (not biases): adds ``0.5 * reg * sum(W**2)``.
    dtype : numpy dtype
    flip : bool
        Data augmentation: when the loss gets labels (training), mirror a random half of the
        minibatch left-right. Keep False for gradient checks (the loss is then random).
    batchnorm : bool
        Spatial batch normalisation after every convolution (before its ReLU), with scale
        ``gamma{k}`` (ones) and shift ``beta{k}`` (zeros) per filter; minibatch statistics
        when the loss gets labels, running averages otherwise (``self.bn_params``).
    label_smoothing : float
        ε in [0, 1): the training target is (1 - ε) on the label and ε spread evenly over
        all classes, so the data loss is (1 - ε) · softmax loss + ε · the mean over classes
        of -log p. 0 (the default) is the plain softmax loss.
    seed : int, optional
        Seed for the initial weights and the flips.

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1``, ``b1``, ... numbered in layer order: conv weights (F, C, 3, 3), affine weights
        (D, M).
    """

    def __init__(
        self,
        input_dim=(3, 32, 32),
        stages=((32,), (64,), (128,)),
        hidden_dims=(),
        num_classes=10,
        reg=0.0,
        dtype=np.float32,
        flip=False,
        batchnorm=False,
        label_smoothing=0.0,
        seed=None,
    ):
        C, H, W = input_dim
        scale = 2 ** len(stages)
        if H % scale or W % scale:
            raise ValueError(
                i18n._(
                    "{pools} pools need H and W divisible by {scale}, got {input_dim}; use fewer "
                    "stages"
                ).format(pools=len(stages), scale=scale, input_dim=input_dim)
            )
        if reg < 0:
            raise ValueError(i18n._("reg must be >= 0, got {reg!r}").format(reg=reg))
        if not 0 <= label_smoothing < 1:
            raise ValueError(
                i18n._("label_smoothing must be in [0, 1), got {value!r}").format(
                    value=label_smoothing
                )
            )
        self.reg, self.dtype, self.flip, self.batchnorm = reg, dtype, flip, batchnorm
        self.label_smoothing = label_smoothing
        self.bn_params = {}  # conv layer number -> bn_param dict (running averages)
        self.stages = [tuple(stage) for stage in stages]
        self.hidden_dims = tuple(hidden_dims)
        self.rng = np.random.default_rng(seed)
        self.params = {}
        depth, k = C, 0
        for stage in self.stages:
            for F in stage:
                _check_positive_ints(filters=F)
                k += 1
                std = np.sqrt(2.0 / (depth * 9))
                self.params[f"W{k}"] = std * self.rng.standard_normal((F, depth, 3, 3))
                self.params[f"b{k}"] = np.zeros(F)
                if batchnorm:
                    self.params[f"gamma{k}"] = np.ones(F)
                    self.params[f"beta{k}"] = np.zeros(F)
                    self.bn_params[k] = {"mode": "train"}
                depth = F
        D = depth * (H // scale) * (W // scale)
        for M in (*self.hidden_dims, num_classes):
            _check_positive_ints(units=M)
            k += 1
            self.params[f"W{k}"] = np.sqrt(2.0 / D) * self.rng.standard_normal((D, M))
            self.params[f"b{k}"] = np.zeros(M)
            D = M
        for name, v in self.params.items():
            self.params[name] = v.astype(dtype)

    def describe(self):
        """The architecture in one line, e.g. ``[conv32-relu-pool] ... -> fc10``."""
        conv = "conv3x3x{}-bn-relu" if self.batchnorm else "conv3x3x{}-relu"
        parts = ["[" + "-".join(conv.format(F) for F in s) + "-pool2x2]" for s in self.stages]
        parts += [f"fc{M}-relu" for M in self.hidden_dims]
        layers = sum(len(s) for s in self.stages) + len(self.hidden_dims) + 1
        last = self.params[f"W{layers}"]
        n = sum(v.size for v in self.params.values())
        return " -> ".join([*parts, f"fc{last.shape[1]}"]) + f" ({n:,} parameters)"

    def _smooth(self, scores, loss, dscores):
        """The label-smoothed loss and its gradient, from the softmax loss and its gradient.

        With ε = label_smoothing and C classes: loss' = (1 - ε) loss + ε mean_k(-log p_k);
        its gradient is softmax - ((1 - ε) onehot + ε/C), divided by N: dscores (which is
        (softmax - onehot)/N) plus ε (onehot - 1/C)/N.
        """
        eps = self.label_smoothing
        N, C = scores.shape
        shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        uniform = float(-log_probs.mean(axis=1).sum() / N)  # mean over classes of -log p
        onehot = dscores - np.exp(log_probs) / N  # -onehot / N
        dscores = dscores - eps * (onehot + 1.0 / (C * N))
        return (1 - eps) * loss + eps * uniform, dscores

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients (same contract as ThreeLayerConvNet).

        Parameters
        ----------
        X : ndarray, shape (N, C, H, W)
        y : ndarray of int, shape (N,), optional

        Returns
        -------
        scores : ndarray, shape (N, num_classes)
            When ``y`` is None.
        loss : float
        grads : dict of str to ndarray
        """
        X = X.astype(self.dtype, copy=False)
        if y is not None and self.flip:
            mirror = self.rng.random(len(X)) < 0.5  # (N,)
            X = np.where(mirror[:, None, None, None], X[:, :, :, ::-1], X)  # (N, C, H, W)
        conv_param = {"stride": 1, "pad": 1}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        caches, out, k = [], X, 0
        for stage in self.stages:
            for i in range(len(stage)):
                k += 1
                W, b = self.params[f"W{k}"], self.params[f"b{k}"]
                last = i == len(stage) - 1
                if self.batchnorm:
                    bn = self.bn_params[k]
                    bn["mode"] = "test" if y is None else "train"
                    gamma, beta = self.params[f"gamma{k}"], self.params[f"beta{k}"]
                    if last:
                        out, cache = conv_bn_relu_pool_forward(
                            out, W, b, gamma, beta, conv_param, bn, pool_param
                        )
                    else:
                        out, cache = conv_bn_relu_forward(out, W, b, gamma, beta, conv_param, bn)
                elif last:
                    out, cache = conv_relu_pool_forward(out, W, b, conv_param, pool_param)
                else:
                    out, cache = conv_relu_forward(out, W, b, conv_param)
                caches.append(cache)
        for _ in self.hidden_dims:
            k += 1
            out, cache = affine_relu_forward(out, self.params[f"W{k}"], self.params[f"b{k}"])
            caches.append(cache)
        k += 1
        scores, cache = affine_forward(out, self.params[f"W{k}"], self.params[f"b{k}"])
        caches.append(cache)
        if y is None:
            return scores

        loss, dout = softmax_loss(scores, y)
        if self.label_smoothing:
            loss, dout = self._smooth(scores, loss, dout)
        weights = [self.params[f"W{i}"] for i in range(1, k + 1)]  # not gamma, beta
        loss += 0.5 * self.reg * sum(float(np.sum(w * w)) for w in weights)
        grads = {}
        dout, grads[f"W{k}"], grads[f"b{k}"] = affine_backward(dout, caches.pop())
        for _ in self.hidden_dims:
            k -= 1
            dout, grads[f"W{k}"], grads[f"b{k}"] = affine_relu_backward(dout, caches.pop())
        for stage in reversed(self.stages):
            for i in reversed(range(len(stage))):
                k -= 1
                last = i == len(stage) - 1
                # The first layer's dx (the gradient for the images) is not needed: skip it.
                if self.batchnorm:
                    backward = conv_bn_relu_pool_backward if last else conv_bn_relu_backward
                    dout, grads[f"W{k}"], grads[f"b{k}"], grads[f"gamma{k}"], grads[f"beta{k}"] = (
                        backward(dout, caches.pop(), compute_dx=k > 1)
                    )
                else:
                    backward = conv_relu_pool_backward if last else conv_relu_backward
                    dout, grads[f"W{k}"], grads[f"b{k}"] = backward(
                        dout, caches.pop(), compute_dx=k > 1
                    )
        for i, w in enumerate(weights, start=1):
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * w
        return loss, grads
