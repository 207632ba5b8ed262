"""The check every classifier model shares: parameters, initialisation, scores, loss, gradients."""

from __future__ import annotations

import numpy as np

from cs231n_lib.checks import Checker, key
from cs231n_lib.i18n import N_, _


def check_model(
    t: Checker,
    model,
    shapes: dict[str, tuple[int, ...]],
    x_shape: tuple[int, ...],
    num_classes: int,
    *,
    weight_scale: float,
    std_range: tuple[float, float],
    zero_biases: tuple[str, ...],
    std_weights: tuple[str, ...],
    reg: float,
) -> None:
    """Check a freshly built model, then its loss on parameters drawn from ``t.rng``.

    Parameters
    ----------
    model : object with ``params`` (dict name -> array), ``reg`` and ``loss(X, y=None)``
    shapes : dict name -> shape
        The parameters the model must hold.
    x_shape : tuple
        Shape of the input batch, (N, ...).
    std_range : (low, high)
        Initial weights must have a standard deviation between low and high times
        ``weight_scale``.
    zero_biases, std_weights : tuple of str
        Parameters that must start at 0, and those whose spread is checked.
    reg : float
        Regularisation strength for the second loss.
    """
    got = {name: np.shape(model.params.get(name)) for name in shapes}
    t.true(
        key(N_("params shapes")),
        got == shapes,
        _("params should hold arrays of shapes {expected}, but they have shapes {got}").format(
            expected=shapes, got=got
        ),
    )
    if t.problems:
        return
    for name in zero_biases:
        t.true(
            key(N_("{name} is zero"), name=name),
            not np.any(model.params[name]),
            _("{name} should start at 0").format(name=name),
        )
    low, high = std_range
    for name in std_weights:
        s = float(np.std(model.params[name]))
        t.true(
            key(N_("{name} std close to weight_scale"), name=name),
            low * weight_scale < s < high * weight_scale,
            _(
                "{name} has standard deviation {std:.3g}; it should be about weight_scale = "
                "{weight_scale}"
            ).format(name=name, std=s, weight_scale=weight_scale),
        )
    # Scores, loss and gradients on parameters from t.rng (independent of the initialisation).
    model.params = {
        name: t.rng.standard_normal(shape) * (0.3 if name.startswith("W") else 0.1)
        for name, shape in shapes.items()
    }
    X = t.rng.standard_normal(x_shape)
    y = t.rng.integers(num_classes, size=x_shape[0])
    t.close("scores", t.call(model.loss, X))
    loss, _cache = t.call(model.loss, X, y)
    t.close(key(N_("loss with reg = 0")), loss)
    model.reg = reg
    loss, grads = t.call(model.loss, X, y)
    t.close(key(N_("loss with reg = {reg}"), reg=reg), loss)
    for name in shapes:
        t.close(key(N_("grads[{name!r}] with reg = {reg}"), name=name, reg=reg), grads.get(name))
