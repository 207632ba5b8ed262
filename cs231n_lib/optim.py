"""First-order update rules: ``next_w, config = rule(w, dw, config)``.

Each rule takes the current weights ``w``, their gradient ``dw`` (same shape) and a ``config``
dict of hyper-parameters and state (velocity, moving averages, step counter), and returns the
new weights and the config to pass to the next call for the same weights. Missing entries get
the documented defaults (those of CS231n). Nothing passed in is modified: the returned weights
and state are new arrays in a new dict, so ``w``, ``dw`` and the caller's ``config`` stay as
they were.

All rules do gradient descent, ``w <- w - learning_rate * (some step built from dw)``.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib.i18n import _

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam", "UPDATE_RULES"]


def _with_defaults(rule: str, config: dict | None, defaults: dict, state: tuple = ()) -> dict:
    """A new config dict: ``config`` with ``defaults`` filled in; unknown keys are an error.

    ``state`` names the entries the rule keeps between calls (they are allowed but have no
    default here, because their default depends on ``w``).
    """
    config = {} if config is None else dict(config)
    unknown = sorted(set(config) - set(defaults) - set(state))
    if unknown:
        valid = sorted(set(defaults) | set(state))
        raise ValueError(
            _("{rule}: unknown config key(s) {unknown}; valid keys are {valid}").format(
                rule=rule, unknown=unknown, valid=valid
            )
        )
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``w <- w - learning_rate * dw``.

    Parameters
    ----------
    w : ndarray, any shape
        Current weights.
    dw : ndarray, same shape as w
        Gradient of the loss with respect to w.
    config : dict, optional
        ``learning_rate`` (float, default 1e-2).

    Returns
    -------
    next_w : ndarray, same shape as w
    config : dict
        The config with defaults filled in.
    """
    config = _with_defaults("sgd", config, {"learning_rate": 1e-2})
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: a velocity accumulates a running sum of past gradients.

        v <- momentum * v - learning_rate * dw
        w <- w + v

    Parameters
    ----------
    w : ndarray, any shape
    dw : ndarray, same shape as w
    config : dict, optional
        ``learning_rate`` (float, default 1e-2); ``momentum`` (float in [0, 1), default 0.9;
        0 gives plain SGD); ``velocity`` (ndarray like w, default zeros): state.

    Returns
    -------
    next_w : ndarray, same shape as w
    config : dict
        The config with the new ``velocity``.
    """
    config = _with_defaults(
        "sgd_momentum", config, {"learning_rate": 1e-2, "momentum": 0.9}, state=("velocity",)
    )
    v = config.get("velocity", np.zeros_like(w))  # (same shape as w)
    next_w = None
    # TODO: update the velocity v and the weights as in the docstring; store the new velocity
    # in config["velocity"]. Build new arrays: do not modify w, dw or v in place.
    ### BEGIN SOLUTION
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    ### END SOLUTION
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide each step by a moving average of the squared gradient.

        cache <- decay_rate * cache + (1 - decay_rate) * dw**2
        w     <- w - learning_rate * dw / (sqrt(cache) + epsilon)

    Parameters
    ----------
    w : ndarray, any shape
    dw : ndarray, same shape as w
    config : dict, optional
        ``learning_rate`` (float, default 1e-2); ``decay_rate`` (float in [0, 1), default 0.99);
        ``epsilon`` (float, default 1e-8, avoids dividing by zero); ``cache`` (ndarray like w,
        default zeros): state.

    Returns
    -------
    next_w : ndarray, same shape as w
    config : dict
        The config with the new ``cache``.
    """
    config = _with_defaults(
        "rmsprop",
        config,
        {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
        state=("cache",),
    )
    cache = config.get("cache", np.zeros_like(w))  # (same shape as w)
    next_w = None
    # TODO: update the moving average of squared gradients and the weights as in the
    # docstring; store the new average in config["cache"]. Do not modify arrays in place.
    ### BEGIN SOLUTION
    decay = config["decay_rate"]
    cache = decay * cache + (1 - decay) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    ### END SOLUTION
    return next_w, config


def adam(w, dw, config=None):
    """Adam: momentum on the gradient (m) and RMSProp scaling (v), both bias-corrected.

        t <- t + 1
        m <- beta1 * m + (1 - beta1) * dw
        v <- beta2 * v + (1 - beta2) * dw**2
        m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t)
        w <- w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Parameters
    ----------
    w : ndarray, any shape
    dw : ndarray, same shape as w
    config : dict, optional
        ``learning_rate`` (float, default 1e-3); ``beta1`` (default 0.9); ``beta2`` (default
        0.999); ``epsilon`` (default 1e-8); state: ``m``, ``v`` (ndarrays like w, default
        zeros) and ``t`` (int step counter, default 0; the first update uses t = 1).

    Returns
    -------
    next_w : ndarray, same shape as w
    config : dict
        The config with the new ``m``, ``v`` and ``t``.
    """
    config = _with_defaults(
        "adam",
        config,
        {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0},
        state=("m", "v"),
    )
    m = config.get("m", np.zeros_like(w))  # (same shape as w)
    v = config.get("v", np.zeros_like(w))  # (same shape as w)
    next_w = None
    # TODO: implement the Adam update as in the docstring (increment t first, so the first
    # update uses t = 1); store m, v and t back in config. Do not modify arrays in place.
    ### BEGIN SOLUTION
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    ### END SOLUTION
    return next_w, config


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
"""The update rules by name, as the Solver's ``update_rule`` accepts them."""
