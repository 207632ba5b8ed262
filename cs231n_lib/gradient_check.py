"""Numerical gradients by centred differences, to check the analytic gradients students write.

For a scalar function f and a small step h, the centred difference

    df/dx_i ≈ (f(x + h e_i) − f(x − h e_i)) / (2h)

has error O(h²), against O(h) for the one-sided version. Every function here perturbs ``x``
in place, one entry at a time, and always restores it — also when ``f`` raises — so the
array the caller passed in is unchanged afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from cs231n_lib.i18n import _


def rel_error(x, y) -> float:
    """Largest relative error between two arrays: max |x − y| / max(1e-8, |x| + |y|).

    Parameters
    ----------
    x, y : array_like
        Arrays of the same shape.

    Returns
    -------
    float
        Around 1e-7 or less for a correct gradient in float64; around 1e-2 or more for a
        wrong one.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(
            _("rel_error: shapes differ: {x_shape} vs {y_shape}").format(
                x_shape=x.shape, y_shape=y.shape
            )
        )
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


@contextmanager
def _perturbed(x: np.ndarray, ix: tuple, delta: float) -> Iterator[None]:
    """Temporarily add ``delta`` to ``x[ix]``; the old value comes back even if f raises."""
    old = x[ix].copy()
    x[ix] = old + delta
    try:
        yield
    finally:
        x[ix] = old


def _require_float(x: np.ndarray, name: str = "x") -> None:
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(
            _(
                "{name} must be a float numpy array to be perturbed in place, got {kind}; "
                "convert it first, e.g. {name} = {name}.astype(np.float64)"
            ).format(name=name, kind=kind)
        )
    if not x.flags.writeable:
        raise ValueError(
            _("{name} is read-only; pass a writable copy: {name}.copy()").format(name=name)
        )


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True, h: float = 1e-5
) -> np.ndarray:
    """Numerical gradient of a scalar function at ``x``.

    Parameters
    ----------
    f : callable
        Takes ``x`` (the same array object, perturbed in place) and returns a scalar.
    x : ndarray of float, any shape
        Point to evaluate the gradient at. Restored after every perturbation.
    verbose : bool
        Print each index and its gradient entry.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray, same shape as x
    """
    _require_float(x)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        with _perturbed(x, ix, h):
            fxph = f(x)  # f(x + h)
        with _perturbed(x, ix, -h):
            fxmh = f(x)  # f(x - h)
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Numerical gradient of ``sum(f(x) * df)``: the backward pass of an array-valued f.

    Parameters
    ----------
    f : callable
        Takes ``x`` and returns an array ``out``.
    x : ndarray of float, any shape
        Input. Restored after every perturbation.
    df : ndarray, shape of f(x)
        Upstream gradient dL/d(out).
    h : float
        Step size.

    Returns
    -------
    grad : ndarray, same shape as x
        dL/dx = sum over out of dL/d(out) * d(out)/dx.
    """
    _require_float(x)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        with _perturbed(x, ix, h):
            pos = np.array(f(x), dtype=np.float64, copy=True)  # copy: f may return a view of x
        with _perturbed(x, ix, -h):
            neg = np.array(f(x), dtype=np.float64, copy=True)
        if pos.shape != np.shape(df):
            raise ValueError(
                _(
                    "eval_numerical_gradient_array: f(x) has shape {out_shape} but df has shape "
                    "{df_shape}; df must be the upstream gradient of f's output"
                ).format(out_shape=pos.shape, df_shape=np.shape(df))
            )
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic_grad: np.ndarray,
    num_checks: int = 10,
    h: float = 1e-5,
    seed: int | None = None,
) -> np.ndarray:
    """Compare an analytic gradient with centred differences at a few random entries.

    Prints one line per check and returns the relative errors, so a notebook can both show
    them and assert on them.

    Parameters
    ----------
    f : callable
        Scalar function of ``x``.
    x : ndarray of float, any shape
        Point of evaluation; restored after every perturbation.
    analytic_grad : ndarray, same shape as x
        The gradient to check.
    num_checks : int
        How many random entries to check.
    h : float
        Step size.
    seed : int, optional
        Seed for choosing the entries (default: numpy's global generator, as CS231n does).

    Returns
    -------
    rel_errors : ndarray, shape (num_checks,)
    """
    _require_float(x)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(
            _(
                "grad_check_sparse: analytic_grad has shape {grad_shape} but x has shape "
                "{x_shape}; the gradient must have the shape of what it differentiates"
            ).format(grad_shape=analytic_grad.shape, x_shape=x.shape)
        )
    rng = np.random.default_rng(seed) if seed is not None else None
    errors = np.empty(num_checks)
    for i in range(num_checks):
        ix = tuple(
            int(rng.integers(m)) if rng is not None else int(np.random.randint(m))  # noqa: NPY002
            for m in x.shape
        )
        with _perturbed(x, ix, h):
            fxph = f(x)
        with _perturbed(x, ix, -h):
            fxmh = f(x)
        numeric = (fxph - fxmh) / (2 * h)
        analytic = float(analytic_grad[ix])
        errors[i] = abs(numeric - analytic) / max(1e-12, abs(numeric) + abs(analytic))
        print(
            _("numerical: {numeric:f} analytic: {analytic:f}, relative error: {error:e}").format(
                numeric=numeric, analytic=analytic, error=errors[i]
            )
        )
    return errors
