"""Wiring an exercise: its name said once, its ``where`` derived from the code it checks, and
``t.inputs_unchanged`` catching a function that modifies its inputs in place."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib import layer_utils, layers
from cs231n_lib.checks import Checker, Exercise, exercise, exercises, where_of
from cs231n_lib.classifiers.knn import KNearestNeighbor
from cs231n_lib.classifiers.two_layer_net import TwoLayerNet


def test_where_is_the_qualified_name_and_the_library_file():
    assert where_of(layers.affine_forward) == "affine_forward in cs231n_lib/layers.py"
    assert (
        where_of(KNearestNeighbor.predict_labels)
        == "KNearestNeighbor.predict_labels in cs231n_lib/classifiers/knn.py"
    )
    assert where_of(TwoLayerNet.__init__, TwoLayerNet.loss) == (
        "TwoLayerNet.__init__ and TwoLayerNet.loss in cs231n_lib/classifiers/two_layer_net.py"
    )
    with pytest.raises(ValueError, match="one file"):
        where_of(layers.affine_forward, layer_utils.affine_relu_forward)


def test_a_check_named_after_its_function_is_registered_under_that_name():
    table = exercises()
    assert table["affine_forward"].where == "affine_forward in cs231n_lib/layers.py"
    assert table["compute_distances_two_loops"].where.startswith("KNearestNeighbor.")
    assert table["affine_relu"].where == (
        "affine_relu_forward and affine_relu_backward in cs231n_lib/layer_utils.py"
    )


def test_exercise_needs_a_where_for_a_plain_name():
    with pytest.raises(TypeError, match="say where"):
        exercise("nowhere")


def _checker(name: str = "affine_forward") -> Checker:
    return Checker(Exercise(name, "f in cs231n_lib/x.py", lambda t: None), "public", 0)


def test_inputs_unchanged_names_what_was_modified_in_place():
    t = _checker()
    x, w = np.ones(3), np.zeros(2)
    with t.inputs_unchanged({"x": x, "w": w}, hint="compute into a new array"):
        x *= 2  # what a student's in-place update does
    assert t.problems == [
        "inputs unchanged: affine_forward modified x in place; compute into a new array"
    ]


def test_inputs_unchanged_passes_and_keeps_the_order_of_results():
    t = _checker()
    with t.inputs_unchanged({"x": np.ones(3)}, hint="h", fn="g"):
        t.true("first", True, "never")
    assert t.passed == ["first", "inputs unchanged"] and t.problems == []
