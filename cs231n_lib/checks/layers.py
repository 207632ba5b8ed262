"""Self-checks of assignment 4 (two-layer net): layers, losses, update rules, TwoLayerNet.

Every case is drawn from ``t.rng``. Backward checks build the documented cache themselves
(``(x, w, b)`` for affine, ``x`` for relu, ``out`` for sigmoid), so a wrong forward pass never
makes a right backward pass fail. Every check also verifies that no input was modified in
place.
"""

from __future__ import annotations

import warnings

import numpy as np

from cs231n_lib import config, layer_utils, layers, optim
from cs231n_lib.checks import CheckFailed, exercise, export_for_grader, key
from cs231n_lib.checks._hints import SOFTMAX_UNDERFLOW_HINT
from cs231n_lib.checks._models import check_model
from cs231n_lib.classifiers.two_layer_net import TwoLayerNet
from cs231n_lib.i18n import N_, _

# Lowest validation accuracy of the tuned two-layer net: CS231n's bar on the full data; fast mode
# trains on a few hundred images for a few seconds.
TWO_LAYER_GOAL = {"full": 0.48, "fast": 0.25}

_HINT = N_(
    "compute into a new array instead "
    "(e.g. np.where(...) or out = a * b, not a *= b or a[mask] = 0)"
)


# ---- layers ---------------------------------------------------------------------------------


@exercise(layers.affine_forward)
def _affine_forward(t):
    x = t.rng.standard_normal((3, 2, 4))  # (N, d1, d2), D = 8
    w = t.rng.standard_normal((8, 5))  # (D, M)
    b = t.rng.standard_normal(5)  # (M,)
    inputs = {"x": x, "w": w, "b": b}
    with t.inputs_unchanged(inputs, hint=_HINT):
        out, _cache = t.call(layers.affine_forward, x, w, b)
        t.close("out", out)


@exercise(layers.affine_backward)
def _affine_backward(t):
    x = t.rng.standard_normal((4, 3, 2))  # (N, d1, d2), D = 6
    w = t.rng.standard_normal((6, 5))  # (D, M)
    b = t.rng.standard_normal(5)  # (M,)
    dout = t.rng.standard_normal((4, 5))  # (N, M)
    inputs = {"dout": dout, "x": x, "w": w, "b": b}
    with t.inputs_unchanged(inputs, hint=_HINT):
        dx, dw, db = t.call(layers.affine_backward, dout, (x, w, b))
        t.close("dx", dx)
        t.close("dw", dw)
        t.close("db", db)


@exercise(layers.relu_forward)
def _relu_forward(t):
    x = t.rng.standard_normal((4, 6))
    with t.inputs_unchanged({"x": x}, hint=_HINT):
        out, _cache = t.call(layers.relu_forward, x)
        t.close("out", out)


@exercise(layers.relu_backward)
def _relu_backward(t):
    x = t.rng.standard_normal((5, 4))
    x[0, :2] = 0.0  # the derivative at exactly 0 is 0 (the notebook's definition): x > 0, not >= 0
    dout = t.rng.standard_normal((5, 4))
    inputs = {"dout": dout, "x": x}
    with t.inputs_unchanged(inputs, hint=_HINT):
        dx = t.call(layers.relu_backward, dout, x)
        t.close("dx", dx)


@exercise(layers.sigmoid_forward)
def _sigmoid_forward(t):
    x = t.rng.standard_normal((4, 5)) * 3
    with t.inputs_unchanged({"x": x}, hint=_HINT):
        out, _cache = t.call(layers.sigmoid_forward, x)
        t.close("out", out)
    big = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out_big, _cache = t.call(layers.sigmoid_forward, big)
    t.close(
        key(N_("out for large |x|")), out_big, np.array([0.0, 1.9287498479639178e-22, 0.5, 1, 1])
    )
    t.true(
        key(N_("no overflow for large |x|")),
        not any(issubclass(w.category, RuntimeWarning) for w in caught),
        N_(
            "sigmoid_forward warned (overflow in exp?) for x = -1000; use exp(-|x|), which is "
            "never larger than 1, and pick the formula by the sign of x"
        ),
    )


@exercise(layers.sigmoid_backward)
def _sigmoid_backward(t):
    out = t.rng.uniform(0.01, 0.99, size=(3, 5))  # a sigmoid output
    dout = t.rng.standard_normal((3, 5))
    inputs = {"dout": dout, "out": out}
    with t.inputs_unchanged(inputs, hint=_HINT):
        dx = t.call(layers.sigmoid_backward, dout, out)
        t.close("dx", dx)


def _scores_labels(t, N=6, C=4):
    x = t.rng.standard_normal((N, C)) * 2  # (N, C)
    y = t.rng.integers(C, size=N)  # (N,)
    return x, y


@exercise(layers.svm_loss)
def _svm_loss(t):
    x, y = _scores_labels(t)
    inputs = {"x": x, "y": y}
    with t.inputs_unchanged(inputs, hint=_HINT):
        loss, dx = t.call(layers.svm_loss, x, y)
        t.close("loss", loss)
        t.close("dx", dx)


@exercise(layers.softmax_loss)
def _softmax_loss(t):
    x, y = _scores_labels(t)
    inputs = {"x": x, "y": y}
    with t.inputs_unchanged(inputs, hint=_HINT):
        loss, dx = t.call(layers.softmax_loss, x, y)
        t.close("loss", loss)
        t.close("dx", dx)
    # Scores of size 1e4: exp overflows unless each row is shifted by its maximum first.
    big = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4]])
    with warnings.catch_warnings(record=True), np.errstate(all="ignore"):
        warnings.simplefilter("always")
        loss_big, dx_big = t.call(layers.softmax_loss, big, np.array([1, 2]))
    expected_loss = 0.5 * (2e4 + np.log(2))
    if t.mode == "public" and not np.isfinite(np.asarray(loss_big, dtype=float)).all():
        t.true(key(N_("loss for scores of 1e4")), False, SOFTMAX_UNDERFLOW_HINT)
    else:
        t.close(key(N_("loss for scores of 1e4")), loss_big, expected_loss, rtol=1e-9)
    t.close(
        key(N_("dx for scores of 1e4")),
        dx_big,
        np.array([[0.5, -0.5, 0.0], [0.0, 0.25, -0.25]]),
        rtol=1e-9,
        atol=1e-12,
    )


@exercise("affine_relu", (layer_utils.affine_relu_forward, layer_utils.affine_relu_backward))
def _affine_relu(t):
    x = t.rng.standard_normal((3, 2, 3))  # (N, d1, d2), D = 6
    w = t.rng.standard_normal((6, 7))  # (D, M)
    b = t.rng.standard_normal(7)  # (M,)
    dout = t.rng.standard_normal((3, 7))  # (N, M)
    inputs = {"dout": dout, "x": x, "w": w, "b": b}
    with t.inputs_unchanged(inputs, hint=_HINT, fn="affine_relu_forward/backward"):
        out, cache = t.call(layer_utils.affine_relu_forward, x, w, b)
        t.close("out", out)
        dx, dw, db = t.call(layer_utils.affine_relu_backward, dout, cache)
        t.close("dx", dx)
        t.close("dw", dw)
        t.close("db", db)


# ---- update rules ---------------------------------------------------------------------------


def _run_rule(t, name, rule, state_keys, hyper):
    """Two steps of ``rule`` from a random state; checks weights and state after each."""
    w = t.rng.standard_normal((3, 4))
    config = dict(hyper)
    for state in state_keys:
        config[state] = t.rng.uniform(0.1, 1.0, size=(3, 4))
    for step in (1, 2):
        dw = t.rng.standard_normal((3, 4))
        inputs = {"w": w, "dw": dw, **{k: config[k] for k in state_keys}}
        unchanged = key(N_("inputs unchanged (step {step})"), step=step)
        with t.inputs_unchanged(inputs, key=unchanged, hint=_HINT):
            next_w, new_config = t.call(rule, w, dw, config)
            if not isinstance(new_config, dict):
                raise CheckFailed(
                    _("{name} must return (next_w, config); got {type}").format(
                        name=name, type=type(new_config)
                    )
                )
            t.close(key(N_("next_w after step {step}"), step=step), next_w)
            for state in state_keys:
                name = key(N_("config[{state!r}] after step {step}"), state=state, step=step)
                t.close(name, new_config.get(state))
        w, config = next_w, new_config


@exercise(optim.sgd_momentum)
def _sgd_momentum(t):
    _run_rule(t, "sgd_momentum", optim.sgd_momentum, ("velocity",), {"learning_rate": 0.05})


@exercise(optim.rmsprop)
def _rmsprop(t):
    _run_rule(t, "rmsprop", optim.rmsprop, ("cache",), {"learning_rate": 0.02})


@exercise(optim.adam)
def _adam(t):
    _run_rule(t, "adam", optim.adam, ("m", "v"), {"learning_rate": 0.01, "t": 3})
    # From a fresh config the first step must use t = 1 and move each weight by about
    # learning_rate (the bias-corrected m_hat / sqrt(v_hat) is +-1 on step 1).
    w = t.rng.standard_normal(4)
    dw = t.rng.standard_normal(4)
    next_w, config1 = t.call(optim.adam, w, dw, {"learning_rate": 0.1})
    t.equal(key(N_("t after the first step")), config1.get("t"), 1)
    t.close(key(N_("first step from zeros")), next_w, w - 0.1 * np.sign(dw), rtol=1e-6)


# ---- the network ----------------------------------------------------------------------------


@exercise("two_layer_net", (TwoLayerNet.__init__, TwoLayerNet.loss))
def _two_layer_net(t):
    D, H, C, N = 40, 50, 6, 5
    std = 0.02
    model = t.call(
        TwoLayerNet, input_dim=D, hidden_dim=H, num_classes=C, weight_scale=std, seed=t.seed
    )  # seeded: the std property is decided by the seed, never by chance
    shapes = {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}
    check_model(
        t, model, shapes, (N, 5, 8), C,  # X is (N, d1, d2) with D = 40
        weight_scale=std, std_range=(0.8, 1.2), zero_biases=("b1", "b2"),
        std_weights=("W1", "W2"), reg=0.7,
    )  # fmt: skip


@exercise("two_layer_net_tuning", N_("the hyper-parameter tuning cell of 04_two_layer_net.ipynb"))
def _two_layer_net_tuning(t, best_net=None, X_val=None, y_val=None):
    if X_val is None or y_val is None:
        raise CheckFailed(
            _(
                'the check cell was changed: run it as check("two_layer_net_tuning", '
                'best_net=best_net, X_val=data["X_val"], y_val=data["y_val"])'
            )
        )
    if best_net is None:
        raise NotImplementedError(
            _(
                "two_layer_net_tuning: not implemented yet: best_net is None, so the tuning cell "
                "above has not run to the end (it raised, or it was not written); implement "
                "this in the cell above (see its TODO), run it, then run this check"
            )
        )
    # The grader re-evaluates these weights outside the kernel (cs231n_course.grader.tuning).
    params = getattr(best_net, "params", None)
    export_for_grader(t.exercise.name, **(params if isinstance(params, dict) else {}),
                      X_val=X_val, y_val=y_val)  # fmt: skip
    scores = np.concatenate(
        [best_net.loss(X_val[i : i + 500]) for i in range(0, len(X_val), 500)]
    )  # (N_val, C)
    acc = float(np.mean(np.argmax(scores, axis=1) == y_val))
    goal = TWO_LAYER_GOAL["fast" if config.FAST else "full"]
    t.true(
        key(N_("validation accuracy >= {goal:.0%}"), goal=goal),
        acc >= goal,
        _(
            "best_net reaches {acc:.1%} on the validation set; tune the hyper-parameters "
            "(learning rate, hidden size, regularisation, epochs) until it reaches {goal:.0%}"
        ).format(acc=acc, goal=goal),
    )
