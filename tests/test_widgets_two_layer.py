"""The computational-graph stepper: its gradients are the affine layer's, and its buttons step."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib.layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
)
from cs231n_lib.widgets_two_layer import AffineGraph, GraphStepper


@pytest.mark.parametrize("activation", ["none", "relu", "sigmoid"])
def test_graph_gradients_match_the_layers(activation):
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(2), rng.standard_normal((2, 2))
    graph = AffineGraph(x=x, W=W, a=0.7, b=-1.3, activation=activation)
    y, cache = affine_forward(x[None, :], W, np.zeros(2))  # (1, 2)
    dh = np.array([[0.7, -1.3]])
    if activation == "relu":
        h, act_cache = relu_forward(y)
        dy = relu_backward(dh, act_cache)
    elif activation == "sigmoid":
        h, act_cache = sigmoid_forward(y)
        dy = sigmoid_backward(dh, act_cache)
    else:
        h, dy = y, dh
    assert graph.values["L"] == pytest.approx(float(np.sum(h * dh)))
    dx, dW, _ = affine_backward(dy, cache)
    m = graph.matrix_gradients()
    np.testing.assert_allclose(m["dW"], dW)
    np.testing.assert_allclose(m["dX"], dx)
    np.testing.assert_allclose(m["XT_dY"], dW)  # the lecture's dL/dW = X^T dL/dY
    np.testing.assert_allclose(m["dY_WT"], dx)  # and dL/dX = dL/dY W^T


def test_steps_forward_then_backward():
    graph = AffineGraph(activation="relu")
    phases = [s.phase for s in graph.steps]
    assert phases == ["forward"] * 9 + ["backward"] * 15
    assert graph.steps[9].node == "L" and graph.steps[-1].node == "x1"
    assert "[y1 > 0]" in next(
        s.text for s in graph.steps if s.node == "y1" and s.phase == "backward"
    )


def test_bad_activation_is_named():
    with pytest.raises(ValueError, match="activation must be one of"):
        AffineGraph(activation="tanh")


def test_stepper_buttons_and_menu():
    stepper = GraphStepper()
    assert stepper.summary().startswith("step 0 / 20")
    stepper.next_button.click()
    stepper.next_button.click()
    assert stepper.summary() == "step 2 / 20 (forward): x2·w12 = 2 × -1 = -2"
    assert "background" in stepper.table.value
    stepper.back_button.click()
    assert stepper.summary().startswith("step 1 / 20")
    for _ in range(30):
        stepper.next()
    assert stepper.summary().startswith("step 20 / 20 (backward): dL/dx1")
    assert "Xᵀ·dL/dY" in stepper.table.value
    stepper.reset_button.click()
    assert stepper.position == 0
    stepper.activation.value = "sigmoid"
    assert stepper.summary().startswith("step 0 / 24") and stepper.graph.activation == "sigmoid"
