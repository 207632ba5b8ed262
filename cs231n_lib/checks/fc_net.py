"""Self-checks of assignment 5 (fully connected nets): FullyConnectedNet, batch and layer
normalisation, dropout, and the overfitting experiment.

Every case is drawn from ``t.rng``; dropout masks come from an int seed drawn from it, so the
fingerprints the grader compares are the same on every run. Backward checks build the
documented cache themselves, so a wrong forward pass never makes a right backward pass fail.
Every check verifies that no input was modified in place.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import layers
from cs231n_lib.checks import CheckFailed, exercise, key, snapshot
from cs231n_lib.checks._models import check_model
from cs231n_lib.classifiers.fc_net import FullyConnectedNet
from cs231n_lib.i18n import N_, _

LAYERS = "cs231n_lib/layers.py"
FC_NET = "FullyConnectedNet.__init__ and FullyConnectedNet.loss in cs231n_lib/classifiers/fc_net.py"

_HINT = N_(
    "compute into new arrays (out = a * b, not a *= b); replace bn_param's arrays, do not edit"
)


def _bn_case(t, N=6, D=4):
    x = t.rng.standard_normal((N, D)) * t.rng.uniform(1, 4, size=D) + t.rng.uniform(-3, 3, D)
    gamma = t.rng.uniform(0.5, 2.0, size=D)  # (D,)
    beta = t.rng.standard_normal(D)  # (D,)
    return x, gamma, beta


def _bn_cache(x, gamma, beta, eps=1e-5):
    """The documented batchnorm_forward cache, computed here (not by student code)."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return (x, x_hat, mu, var, gamma, beta, eps)


def _ln_cache(x, gamma, eps=1e-5):
    var = x.var(axis=1, keepdims=True)  # (N, 1)
    x_hat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(var + eps)
    return (x_hat, var, gamma, eps)


# ---- batch normalisation --------------------------------------------------------------------


@exercise("batchnorm_forward", f"batchnorm_forward in {LAYERS}")
def _batchnorm_forward(t):
    x, gamma, beta = _bn_case(t)
    running_mean, running_var = t.rng.standard_normal(4), t.rng.uniform(0.5, 2, size=4)
    bn_param = {"mode": "train", "momentum": 0.8,
                "running_mean": running_mean, "running_var": running_var}  # fmt: skip
    inputs = {"x": x, "gamma": gamma, "beta": beta, "running_mean": running_mean,
              "running_var": running_var}  # fmt: skip
    before = snapshot(inputs)
    out, _cache = t.call(layers.batchnorm_forward, x, gamma, beta, bn_param)
    t.close(key(N_("out in training mode")), out)
    t.close(key(N_("running_mean after one step")), bn_param.get("running_mean"))
    t.close(key(N_("running_var after one step (unbiased variance)")), bn_param.get("running_var"))
    # Without gamma and beta, training-mode outputs have mean 0 and variance about 1.
    plain, _cache = t.call(layers.batchnorm_forward, x, np.ones(4), np.zeros(4), {"mode": "train"})
    t.true(
        key(N_("training mode uses the batch's own statistics")),
        np.allclose(np.asarray(plain).mean(axis=0), 0, atol=1e-9)
        and np.allclose(np.asarray(plain).var(axis=0), 1, atol=1e-3),
        N_(
            "with gamma = 1 and beta = 0 every column of out should have mean 0 and (biased) "
            "variance 1: normalise with the mean and variance of this batch, not the running ones"
        ),
    )
    bn_param["mode"] = "test"
    x_test = t.rng.standard_normal((3, 4))
    out_test, _cache = t.call(layers.batchnorm_forward, x_test, gamma, beta, bn_param)
    t.close(key(N_("out in test mode (running averages)")), out_test)
    t.unchanged("batchnorm_forward", inputs, before, hint=_HINT)


def _check_bn_backward(t, name, fn):
    x, gamma, beta = _bn_case(t, N=5, D=3)
    dout = t.rng.standard_normal((5, 3))
    inputs = {"x": x, "gamma": gamma, "beta": beta, "dout": dout}
    before = snapshot(inputs)
    dx, dgamma, dbeta = t.call(fn, dout, _bn_cache(x, gamma, beta))
    t.close("dx", dx)
    t.close("dgamma", dgamma)
    t.close("dbeta", dbeta)
    t.true(
        key(N_("dx sums to 0 over the batch")),
        np.allclose(np.sum(dx, axis=0), 0, atol=1e-8),
        N_(
            "each column of dx should sum to 0 (shifting every example of a feature by the same "
            "amount does not change the normalised output): the paths through mu and var are "
            "missing or wrong"
        ),
    )
    t.unchanged(name, inputs, before, hint=_HINT)


@exercise("batchnorm_backward", f"batchnorm_backward in {LAYERS}")
def _batchnorm_backward(t):
    _check_bn_backward(t, "batchnorm_backward", layers.batchnorm_backward)


@exercise("batchnorm_backward_alt", f"batchnorm_backward_alt in {LAYERS}")
def _batchnorm_backward_alt(t):
    _check_bn_backward(t, "batchnorm_backward_alt", layers.batchnorm_backward_alt)


# ---- layer normalisation --------------------------------------------------------------------


@exercise("layernorm_forward", f"layernorm_forward in {LAYERS}")
def _layernorm_forward(t):
    x, gamma, beta = _bn_case(t, N=4, D=6)
    inputs = {"x": x, "gamma": gamma, "beta": beta}
    before = snapshot(inputs)
    out, _cache = t.call(layers.layernorm_forward, x, gamma, beta, {})
    t.close("out", out)
    one, _cache = t.call(layers.layernorm_forward, x[:1], gamma, beta, {})
    t.close(key(N_("out for the first example alone (no dependence on the batch)")), one, out[:1])
    t.unchanged("layernorm_forward", inputs, before, hint=_HINT)


@exercise("layernorm_backward", f"layernorm_backward in {LAYERS}")
def _layernorm_backward(t):
    x, gamma, beta = _bn_case(t, N=4, D=5)
    dout = t.rng.standard_normal((4, 5))
    inputs = {"x": x, "gamma": gamma, "dout": dout}
    before = snapshot(inputs)
    dx, dgamma, dbeta = t.call(layers.layernorm_backward, dout, _ln_cache(x, gamma))
    t.close("dx", dx)
    t.close("dgamma", dgamma)
    t.close("dbeta", dbeta)
    t.unchanged("layernorm_backward", inputs, before, hint=_HINT)


# ---- dropout --------------------------------------------------------------------------------


@exercise("dropout_forward", f"dropout_forward in {LAYERS}")
def _dropout_forward(t):
    x = t.rng.standard_normal((50, 40)) + 2.0
    seed = int(t.rng.integers(2**31))
    before = snapshot({"x": x})
    p = 0.3
    out, cache = t.call(layers.dropout_forward, x, {"mode": "train", "p": p, "seed": seed})
    out = np.asarray(out)
    t.close(key(N_("out in training mode (p = 0.3)")), out)
    kept = out != 0
    t.true(
        key(N_("kept units are divided by p (inverted dropout)")),
        np.allclose(out[kept], x[kept] / p),
        N_(
            "a kept unit should be x / p, so that the expected output equals x and test time "
            "needs no rescaling"
        ),
    )
    frac = float(kept.mean())
    t.true(
        key(N_("about a fraction p of the units is kept")),
        abs(frac - p) < 0.06,
        _("{frac:.0%} of the units were kept; p = {p} is the probability of keeping a unit").format(
            frac=frac, p=p
        ),
    )
    again, _cache = t.call(layers.dropout_forward, x, {"mode": "train", "p": p, "seed": seed})
    t.equal(
        key(N_("the same seed gives the same mask")), np.asarray(again) == out, np.ones_like(kept)
    )
    out_test, _cache = t.call(layers.dropout_forward, x, {"mode": "test", "p": p})
    t.close(key(N_("out in test mode is x")), out_test, x, rtol=0)
    t.unchanged("dropout_forward", {"x": x}, before, hint=_HINT)


@exercise("dropout_backward", f"dropout_backward in {LAYERS}")
def _dropout_backward(t):
    p = 0.6
    mask = (t.rng.random((6, 5)) < p) / p  # the documented cache: 0 or 1/p
    dout = t.rng.standard_normal((6, 5))
    inputs = {"dout": dout, "mask": mask}
    before = snapshot(inputs)
    dx = t.call(layers.dropout_backward, dout, ({"mode": "train", "p": p}, mask))
    t.close(key(N_("dx in training mode")), dx)
    dx_test = t.call(layers.dropout_backward, dout, ({"mode": "test", "p": p}, None))
    t.close(key(N_("dx in test mode is dout")), dx_test, dout, rtol=0)
    t.unchanged("dropout_backward", inputs, before, hint=_HINT)


# ---- the network ----------------------------------------------------------------------------


def _shapes(dims, normalization=None):
    shapes = {}
    for i in range(1, len(dims)):
        shapes[f"W{i}"], shapes[f"b{i}"] = (dims[i - 1], dims[i]), (dims[i],)
        if normalization and i < len(dims) - 1:
            shapes[f"gamma{i}"], shapes[f"beta{i}"] = (dims[i],), (dims[i],)
    return shapes


@exercise("fully_connected_net", FC_NET)
def _fully_connected_net(t):
    D, hidden, C, N = 30, [20, 25, 15], 7, 6
    std = 0.05
    model = t.call(FullyConnectedNet, hidden, input_dim=D, num_classes=C, weight_scale=std,
                   dtype=np.float64, seed=int(t.rng.integers(1000)))  # fmt: skip
    shapes = _shapes([D, *hidden, C])
    check_model(
        t, model, shapes, (N, 5, 6), C,  # X is (N, d1, d2) with D = 30
        weight_scale=std, std_range=(0.8, 1.2), zero_biases=("b1", "b2", "b3", "b4"),
        std_weights=("W1", "W2", "W3"), reg=0.4,
    )  # fmt: skip


@exercise("fc_net_normalization", FC_NET + " (" + N_("the normalization option") + ")")
def _fc_net_normalization(t):
    D, hidden, C, N = 12, [10, 8], 5, 6
    for norm in ("batchnorm", "layernorm"):
        seed = int(t.rng.integers(1000))
        model = t.call(FullyConnectedNet, hidden, input_dim=D, num_classes=C, weight_scale=0.3,
                       normalization=norm, dtype=np.float64, seed=seed)  # fmt: skip
        shapes = _shapes([D, *hidden, C], norm)
        got = {name: np.shape(model.params.get(name)) for name in shapes}
        wrong = _(
            "with normalization={norm!r} params should have shapes {shapes}, got {got}"
        ).format(norm=norm, shapes=shapes, got=got)
        t.true(key(N_("{norm}: params shapes"), norm=norm), got == shapes, wrong)
        if t.problems:
            return
        t.true(
            key(N_("{norm}: gamma starts at 1, beta at 0"), norm=norm),
            all(np.all(model.params[f"gamma{i}"] == 1) and not np.any(model.params[f"beta{i}"])
                for i in (1, 2)),
            N_("every gamma{i} should start as ones and every beta{i} as zeros"),
        )  # fmt: skip
        model.params = {n: t.rng.standard_normal(s) * 0.5 for n, s in shapes.items()}
        model.reg = 0.2
        X = t.rng.standard_normal((N, D)) * 2 + 1
        y = t.rng.integers(C, size=N)
        loss, grads = t.call(model.loss, X, y)
        t.close(f"{norm}: loss", loss)
        for name in shapes:
            t.close(f"{norm}: grads[{name!r}]", grads.get(name))
        # Test mode: batch norm now uses the running averages of that one training step.
        t.close(key(N_("{norm}: scores in test mode"), norm=norm), t.call(model.loss, X[:3]))


@exercise("fc_net_dropout", FC_NET + " (" + N_("the dropout_keep_ratio option") + ")")
def _fc_net_dropout(t):
    D, hidden, C, N = 10, [12, 9], 4, 5
    kwargs = dict(input_dim=D, num_classes=C, weight_scale=0.3, dtype=np.float64, seed=3)
    model = t.call(FullyConnectedNet, hidden, dropout_keep_ratio=0.6, **kwargs)
    plain = t.call(FullyConnectedNet, hidden, **kwargs)
    shapes = _shapes([D, *hidden, C])
    params = {n: t.rng.standard_normal(s) * 0.5 for n, s in shapes.items()}
    model.params, plain.params = dict(params), dict(params)
    model.dropout_param["seed"] = int(t.rng.integers(2**31))  # the same masks on every call
    X = t.rng.standard_normal((N, D))
    y = t.rng.integers(C, size=N)
    loss, grads = t.call(model.loss, X, y)
    t.close(key(N_("loss with dropout (keep 0.6, fixed masks)")), loss)
    for name in shapes:
        t.close(key(N_("grads[{name!r}] with dropout"), name=name), grads.get(name))
    t.close(
        key(N_("scores in test mode equal the net's without dropout")),
        t.call(model.loss, X), t.call(plain.loss, X),
    )  # fmt: skip


# ---- notebook results -----------------------------------------------------------------------


_NOT_PASSED = object()  # a keyword the check cell did not pass (None means the cell's solver)


@exercise("fc_overfit", N_("the overfitting cells of 05_fully_connected_nets.ipynb"))
def _fc_overfit(t, three_layer=_NOT_PASSED, five_layer=_NOT_PASSED):
    if three_layer is _NOT_PASSED or five_layer is _NOT_PASSED:
        raise CheckFailed(
            _(
                'the check cell was changed: run it as check("fc_overfit", '
                "three_layer=solver_3, five_layer=solver_5)"
            )
        )
    if three_layer is None and five_layer is None:
        raise NotImplementedError(
            _(
                "fc_overfit: not implemented yet: solver_3 and solver_5 are None, so the two "
                "overfitting cells above have not run to the end (they raised, or they were not "
                "written); implement this in those cells (choose their weight_scale and "
                "learning_rate, see their TODOs), run them, then run this check"
            )
        )
    if three_layer is None or five_layer is None:
        raise NotImplementedError(
            _(
                "fc_overfit: not implemented yet: {name} is None, so its overfitting cell "
                "above has not run to the end (it raised, or it was not written); implement "
                "this in that cell (choose its weight_scale and learning_rate, see its TODO), "
                "run it, then run this check"
            ).format(name="solver_3" if three_layer is None else "solver_5")
        )
    for name, solver in (("3-layer", three_layer), ("5-layer", five_layer)):
        acc = max(getattr(solver, "train_acc_history", None) or [0.0])
        t.true(
            key(N_("{name} net reaches 100% training accuracy"), name=name),
            acc >= 1.0,
            _(
                "the {name} net reached {acc:.0%} training accuracy on the 50 images; change its "
                "learning rate and weight scale until it memorises all of them"
            ).format(name=name, acc=acc),
        )
