"""Self-checks of the conv net's normalisation layers: spatial batch norm and group norm.

Every case is drawn from ``t.rng``. Each forward result is also compared with the naive twin
in ``cs231n_lib/layers.py`` (one channel or one group at a time through the batch-norm and
layer-norm functions of assignment 5) where that needs nothing from this exercise. Backward
checks build the documented cache themselves; no input may be modified in place.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import layers
from cs231n_lib.checks import exercise, key, snapshot
from cs231n_lib.i18n import N_, _

LAYERS = "cs231n_lib/layers.py"
_HINT = N_("reshape and transpose into new arrays; never write into x, gamma, beta or dout")


def _case(t, shape=(3, 4, 3, 5)):
    N, C, H, W = shape
    x = t.rng.standard_normal(shape) * t.rng.uniform(1, 3, size=(1, C, 1, 1)) + 1.5
    return x, t.rng.uniform(0.5, 2, size=C), t.rng.standard_normal(C)


@exercise("spatial_batchnorm_forward", f"spatial_batchnorm_forward in {LAYERS}")
def _spatial_batchnorm_forward(t):
    x, gamma, beta = _case(t)
    inputs = {"x": x, "gamma": gamma, "beta": beta}
    before = snapshot(inputs)
    bn_param = {"mode": "train", "momentum": 0.7}
    out, _cache = t.call(layers.spatial_batchnorm_forward, x, gamma, beta, bn_param)
    t.close(key(N_("out in training mode")), out)
    t.close(key(N_("running_mean after one step")), bn_param.get("running_mean"))
    t.close(key(N_("running_var after one step")), bn_param.get("running_var"))
    bn_param["mode"] = "test"
    out_test, _cache = t.call(layers.spatial_batchnorm_forward, x[:2], gamma, beta, bn_param)
    t.close(key(N_("out in test mode")), out_test)
    plain, _cache = t.call(layers.spatial_batchnorm_forward, x, np.ones(4), np.zeros(4),
                      {"mode": "train"})  # fmt: skip
    plain = np.asarray(plain)
    t.true(
        key(N_("each channel is normalised over N, H and W")),
        np.allclose(plain.mean(axis=(0, 2, 3)), 0, atol=1e-9)
        and np.allclose(plain.var(axis=(0, 2, 3)), 1, atol=1e-3),
        N_(
            "with gamma = 1, beta = 0 every channel of out should have mean 0 and variance 1 over "
            "the batch and all positions: move the channels last before reshaping to (N*H*W, C)"
        ),
    )
    t.unchanged("spatial_batchnorm_forward", inputs, before, hint=_HINT)


@exercise("spatial_batchnorm_backward", f"spatial_batchnorm_backward in {LAYERS}")
def _spatial_batchnorm_backward(t):
    x, gamma, beta = _case(t, (2, 3, 4, 3))
    dout = t.rng.standard_normal(x.shape)
    inputs = {"x": x, "gamma": gamma, "dout": dout}
    before = snapshot(inputs)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 3)  # the documented cache: batch norm's
    mu, var = rows.mean(axis=0), rows.var(axis=0)
    x_hat = (rows - mu) / np.sqrt(var + 1e-5)
    cache = (rows, x_hat, mu, var, gamma, beta, 1e-5)
    dx, dgamma, dbeta = t.call(layers.spatial_batchnorm_backward, dout, cache)
    t.close("dx", dx)
    t.close("dgamma", dgamma)
    t.close("dbeta", dbeta)
    t.unchanged("spatial_batchnorm_backward", inputs, before, hint=_HINT)


@exercise("spatial_groupnorm_forward", f"spatial_groupnorm_forward in {LAYERS}")
def _spatial_groupnorm_forward(t):
    x, gamma, beta = _case(t, (2, 6, 3, 4))
    inputs = {"x": x, "gamma": gamma, "beta": beta}
    before = snapshot(inputs)
    for G in (1, 2, 6):
        out, _cache = t.call(layers.spatial_groupnorm_forward, x, gamma, beta, G, {})
        t.close(key(N_("out with G = {G}"), G=G), out)
    out4, _cache = t.call(
        layers.spatial_groupnorm_forward,
        x, gamma.reshape(1, 6, 1, 1), beta.reshape(1, 6, 1, 1), 3, {},
    )  # fmt: skip
    t.close(key(N_("out with G = 3 and gamma of shape (1, C, 1, 1)")), out4)
    t.unchanged("spatial_groupnorm_forward", inputs, before, hint=_HINT)


@exercise("spatial_groupnorm_backward", f"spatial_groupnorm_backward in {LAYERS}")
def _spatial_groupnorm_backward(t):
    x, gamma, beta = _case(t, (2, 4, 3, 3))
    dout = t.rng.standard_normal(x.shape)
    inputs = {"x": x, "gamma": gamma, "dout": dout}
    before = snapshot(inputs)
    G, eps = 2, 1e-5
    xg = x.reshape(2, G, 2, 3, 3)  # the documented cache, computed here
    mu = xg.mean(axis=(2, 3, 4), keepdims=True)
    var = xg.var(axis=(2, 3, 4), keepdims=True)  # (N, G, 1, 1, 1)
    x_hat = ((xg - mu) / np.sqrt(var + eps)).reshape(x.shape)
    dx, dgamma, dbeta = t.call(layers.spatial_groupnorm_backward, dout, (x_hat, var, gamma, G, eps))
    t.close("dx", dx)
    t.close("dgamma", dgamma)
    t.close("dbeta", dbeta)
    t.true(
        key(N_("dgamma has gamma's shape")),
        np.shape(dgamma) == gamma.shape,
        _("dgamma should have gamma's shape {expected}, got {got}").format(
            expected=gamma.shape, got=np.shape(dgamma)
        ),
    )
    t.unchanged("spatial_groupnorm_backward", inputs, before, hint=_HINT)
