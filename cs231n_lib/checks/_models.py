"""The check every classifier model shares: parameters, initialisation, scores, loss, gradients."""

from __future__ import annotations

import numpy as np

from cs231n_lib.checks import Checker


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
        "params shapes",
        got == shapes,
        f"params should hold arrays of shapes {shapes}, but they have shapes {got}",
    )
    if t.problems:
        return
    for name in zero_biases:
        t.true(f"{name} is zero", not np.any(model.params[name]), f"{name} should start at 0")
    low, high = std_range
    for name in std_weights:
        s = float(np.std(model.params[name]))
        t.true(
            f"{name} std close to weight_scale",
            low * weight_scale < s < high * weight_scale,
            f"{name} has standard deviation {s:.3g}; it should be about "
            f"weight_scale = {weight_scale}",
        )
    # Scores, loss and gradients on parameters from t.rng (independent of the initialisation).
    model.params = {
        name: t.rng.standard_normal(shape) * (0.3 if name.startswith("W") else 0.1)
        for name, shape in shapes.items()
    }
    X = t.rng.standard_normal(x_shape)
    y = t.rng.integers(num_classes, size=x_shape[0])
    t.close("scores", t.call(model.loss, X))
    loss, _ = t.call(model.loss, X, y)
    t.close("loss with reg = 0", loss)
    model.reg = reg
    loss, grads = t.call(model.loss, X, y)
    t.close(f"loss with reg = {reg}", loss)
    for name in shapes:
        t.close(f"grads[{name!r}] with reg = {reg}", grads.get(name))
