"""Tests of the linear-classifier pictures and explorers (cs231n_lib.widgets_linear)."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib.widgets_linear import (
    RetrainExplorer,
    ScoreExplorer,
    plot_hyperparameter_search,
    plot_templates,
    weights_to_templates,
)

CLASSES = [f"class{c}" for c in range(10)]
PNG = b"\x89PNG"


def _images(seed, N):
    """Random images (N, 32, 32, 3) uint8, their preprocessed rows (N, 3073), labels (N,)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(N, 32, 32, 3)).astype(np.uint8)
    rows = images.reshape(N, -1) - 127.5  # (N, 3072), roughly mean-subtracted
    X = np.hstack([rows, np.ones((N, 1))])  # (N, 3073), bias trick
    return images, X, rng.integers(0, 10, size=N)


def test_templates_are_rescaled_columns():
    W = np.random.default_rng(0).standard_normal((3073, 10))
    T = weights_to_templates(W)
    assert T.shape == (10, 32, 32, 3)
    assert np.allclose(T.min(axis=(1, 2, 3)), 0) and np.allclose(T.max(axis=(1, 2, 3)), 255)
    # Column 4, pixel (row 1, column 2, green) is entry 1*96 + 2*3 + 1 of the flattened image.
    ranks = np.argsort(np.argsort(W[:3072, 4]))
    assert ranks[1 * 96 + 2 * 3 + 1] == np.argsort(np.argsort(T[4].ravel()))[1 * 96 + 2 * 3 + 1]
    assert weights_to_templates(W[:3072]).shape == (10, 32, 32, 3)  # without the bias row
    with pytest.raises(ValueError, match=r"\(3072, C\) or \(3073, C\)"):
        weights_to_templates(np.ones((100, 10)))


def test_plot_templates():
    from matplotlib.figure import Figure

    fig = plot_templates(np.ones((3073, 10)) * np.arange(3073)[:, None], CLASSES, fig=Figure())
    assert [ax.get_title() for ax in fig.axes] == CLASSES
    with pytest.raises(ValueError, match="3 class names for 10 templates"):
        plot_templates(np.ones((3073, 10)), CLASSES[:3], fig=Figure())


def test_plot_hyperparameter_search():
    from matplotlib.figure import Figure

    results = {(1e-7, 1e4): (0.30, 0.28), (1e-6, 1e4): (0.35, 0.33), (1e-7, 1e3): (0.2, 0.1)}
    fig = plot_hyperparameter_search(results, fig=Figure())
    left, right = fig.axes[:2]
    assert "training" in left.get_title() and "validation" in right.get_title()
    xy = left.collections[0].get_offsets()
    np.testing.assert_allclose(sorted(map(tuple, np.asarray(xy))), [(-7, 3), (-7, 4), (-6, 4)])
    np.testing.assert_allclose(sorted(right.collections[0].get_array()), [0.1, 0.28, 0.33])
    with pytest.raises(ValueError, match="empty"):
        plot_hyperparameter_search({}, fig=Figure())


def test_score_explorer_scores_contributions_and_controls():
    images, X, y = _images(1, N=6)
    W = 1e-3 * np.random.default_rng(2).standard_normal((3073, 10))
    explorer = ScoreExplorer(W, images, X, y, CLASSES)
    assert bytes(explorer.image.value).startswith(PNG)
    np.testing.assert_allclose(explorer.scores(2), X[2] @ W)
    # The contribution maps plus the bias add up to the scores.
    maps = explorer.contributions(2)
    assert maps.shape == (10, 32, 32)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)) + W[-1], X[2] @ W)

    before_png, before_text = explorer.image.value, explorer.text.value
    assert before_text.startswith("test image 0: true class ")
    explorer.index.value = 4  # moving the slider redraws
    assert explorer.image.value != before_png
    assert explorer.text.value.startswith("test image 4: ")
    assert explorer.summary() == explorer.text.value
    pred = int(np.argmax(X[4] @ W))
    assert f"predicted {CLASSES[pred]}" in explorer.summary()


def test_score_explorer_rejects_mismatched_inputs():
    images, X, y = _images(3, N=4)
    with pytest.raises(ValueError, match=r"expected W of shape \(3073, 10\)"):
        ScoreExplorer(np.zeros((3072, 10)), images, X, y, CLASSES)
    with pytest.raises(ValueError, match=r"X_images of shape \(4, 32, 32, 3\)"):
        ScoreExplorer(np.zeros((3073, 10)), images[:3], X, y, CLASSES)


def test_retrain_explorer_draws_templates_of_image_weights():
    _, X, y = _images(4, N=60)
    explorer = RetrainExplorer(X[:40], y[:40], X[40:], y[40:], CLASSES, num_iters=10,
                               batch_size=20)  # fmt: skip
    assert bytes(explorer.image.value).startswith(PNG)
    assert len(explorer.loss_history) == 10
    assert explorer.summary().startswith(
        "svm, learning rate 1.0e-07, reg 5.0e+04, 10 steps: final loss"
    )
    assert explorer.clf.W.shape == (3073, 10)


def test_retrain_explorer_retrains_when_a_control_changes():
    # Few features keep this quick: the controls and the text do not depend on image size.
    rng = np.random.default_rng(5)
    X = np.hstack([50 * rng.standard_normal((80, 12)), np.ones((80, 1))])  # (80, 13)
    y = rng.integers(0, 10, size=80)
    explorer = RetrainExplorer(X[:60], y[:60], X[60:], y[60:], CLASSES, num_iters=20,
                               batch_size=20, learning_rate=1e-5, reg=1.0)  # fmt: skip
    first_text, first_png = explorer.summary(), explorer.image.value

    explorer.learning_rate.value = 1e-6
    assert explorer.summary() != first_text and explorer.image.value != first_png
    assert "learning rate 1.0e-06" in explorer.summary()

    explorer.kind.value = "softmax"
    assert explorer.summary().startswith("softmax, ")
    assert type(explorer.clf).__name__ == "Softmax"

    explorer.num_iters.value = 30
    assert len(explorer.loss_history) == 30

    # The same settings give the same run (fixed seed).
    again = RetrainExplorer(X[:60], y[:60], X[60:], y[60:], CLASSES, kind="softmax",
                            learning_rate=1e-6, reg=1.0, num_iters=30, batch_size=20)  # fmt: skip
    assert again.loss_history == explorer.loss_history

    explorer.learning_rate.value = 1e-4
    explorer.reg.value = 1e6  # lr * reg = 100: every step multiplies W by about -99
    assert "training diverged" in explorer.summary()
    assert bytes(explorer.image.value).startswith(PNG)


def test_retrain_explorer_rejects_unknown_loss():
    _, X, y = _images(5, N=10)
    with pytest.raises(ValueError, match="'svm' or 'softmax'"):
        RetrainExplorer(X, y, X, y, CLASSES, kind="hinge")
