"""The conv-net explorers build, and every control changes what they show."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib.widgets_conv import ConvArithmeticExplorer, FilterBrowser, conv_arithmetic

PNG = b"\x89PNG"


def test_conv_arithmetic_fits_and_does_not_fit():
    ok = conv_arithmetic(7, 3, 3, 2, 0, 1)
    assert ok["out"] == 3 and ok["formula"] == "(7 + 2*0 - 3)/2 + 1 = 3"
    assert ok["params"] == 28 and ok["positions"] == [0, 2, 4]
    bad = conv_arithmetic(7, 3, 3, 3, 0, 10)
    assert bad["out"] is None and "2.33 is not an integer" in bad["error"]
    assert bad["positions"] == [0, 3]  # a flooring framework: the last column is never seen
    assert conv_arithmetic(32, 3, 5, 1, 2, 10)["params"] == 760


def test_arithmetic_explorer_every_control_changes_the_output():
    ex = ConvArithmeticExplorer()
    assert ex.summary() == (
        "output 5 × 5 × 1: (7 + 2*0 - 3)/1 + 1 = 5; parameters 1 × (3·3·3 + 1) = 28"
    )
    assert ex.image.value.tobytes().startswith(PNG)
    for control, value in [(ex.size, 9), (ex.depth, 6), (ex.filter_size, 5), (ex.stride, 2),
                           (ex.pad, 1), (ex.num_filters, 4)]:  # fmt: skip
        before_text, before_png = ex.text.value, ex.image.value
        control.value = value
        assert ex.text.value != before_text, control.description
        if control not in (ex.depth, ex.num_filters):  # these do not change the picture
            assert ex.image.value != before_png, control.description
    ex.size.value, ex.filter_size.value, ex.stride.value, ex.pad.value = 7, 3, 3, 0
    assert ex.text.value.startswith("⚠ does not fit: output size (7 + 2*0 - 3)/3 + 1 = 2.33")


@pytest.fixture
def browser():
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    X = rng.standard_normal((5, 3, 8, 8)).astype(np.float32)
    images = rng.integers(0, 256, size=(5, 8, 8, 3)).astype(np.uint8)
    return FilterBrowser(W1, np.zeros(4, np.float32), X, images, labels=list("abcde"))


def test_filter_browser_controls_change_the_output(browser):
    assert browser.activations.shape == (5, 4, 8, 8) and browser.activations.min() >= 0
    assert browser.summary().startswith("filter 0 of 4: strongest mean activation")
    assert browser.image.value.tobytes().startswith(PNG)
    text, png = browser.text.value, browser.image.value
    browser.filter.value = 2
    assert browser.text.value != text and browser.image.value != png
    png = browser.image.value
    browser.images.value = (1, 3)
    assert browser.image.value != png
    browser.images.value = ()
    assert browser.text.value == "filter 2: choose at least one image"


def test_filter_browser_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3, H, W\)"):
        FilterBrowser(np.zeros((2, 3, 3, 3)), np.zeros(2), np.zeros((4, 1, 8, 8)),
                      np.zeros((4, 8, 8, 3)))  # fmt: skip
