"""Gradient checkers: exact gradients pass, wrong ones are caught, x is always restored."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)


def test_rel_error_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0  # the 1e-8 floor avoids 0/0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    before = x.copy()
    grad = eval_numerical_gradient(lambda z: np.sum(z**3), x, verbose=False)
    assert rel_error(grad, 3 * before**2) < 1e-7
    grad = eval_numerical_gradient(lambda z: np.sum(np.sin(z)), x, verbose=False)
    assert rel_error(grad, np.cos(before)) < 1e-7
    np.testing.assert_array_equal(x, before)


def test_array_gradient_matches_matrix_product_backward():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    dout = rng.standard_normal((2, 4))
    dx = eval_numerical_gradient_array(lambda z: z @ w, x, dout)
    dw = eval_numerical_gradient_array(lambda z: x @ z, w, dout)
    assert rel_error(dx, dout @ w.T) < 1e-9
    assert rel_error(dw, x.T @ dout) < 1e-9


def test_array_gradient_copes_with_f_returning_a_view():
    x = np.arange(4.0)
    grad = eval_numerical_gradient_array(lambda z: z, x, np.ones(4))
    np.testing.assert_allclose(grad, np.ones(4))


def test_sparse_check_passes_exact_and_catches_wrong(capsys):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 6))

    def f(z):
        return float(np.sum(z**2))

    good = grad_check_sparse(f, x, 2 * x, num_checks=6, seed=0)
    assert good.shape == (6,) and np.all(good < 1e-8)
    wrong = 2 * x.copy()
    wrong[:, ::2] *= 1.5  # a deliberate bug in half the entries
    bad = grad_check_sparse(f, x, wrong, num_checks=12, seed=0)
    assert np.max(bad) > 1e-2
    out = capsys.readouterr().out
    assert out.count("relative error") == 18


def test_x_is_restored_even_when_f_raises():
    x = np.ones((2, 2))
    calls = []

    def explode(z):
        calls.append(z.copy())
        raise RuntimeError("boom")

    for checker in (
        lambda: eval_numerical_gradient(explode, x, verbose=False),
        lambda: eval_numerical_gradient_array(explode, x, np.ones((2, 2))),
        lambda: grad_check_sparse(explode, x, np.ones((2, 2)), seed=0),
    ):
        with pytest.raises(RuntimeError, match="boom"):
            checker()
        np.testing.assert_array_equal(x, np.ones((2, 2)))
    assert calls and calls[0][0, 0] != 1.0  # f did see the perturbed value


def test_clear_errors_for_unusable_inputs():
    with pytest.raises(TypeError, match="float numpy array"):
        eval_numerical_gradient(np.sum, np.arange(3), verbose=False)
    x = np.zeros(3)
    x.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        eval_numerical_gradient(np.sum, x, verbose=False)
    with pytest.raises(ValueError, match="analytic_grad has shape"):
        grad_check_sparse(np.sum, np.zeros(3), np.zeros(4))
