"""Visualisation helpers: shapes and value ranges."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cs231n_lib import vis  # noqa: E402


@pytest.mark.parametrize(("N", "G"), [(1, 1), (4, 2), (5, 3), (10, 4), (16, 4)])
def test_grid_shape_and_range(N, G):
    rng = np.random.default_rng(N)
    Xs = rng.standard_normal((N, 5, 7, 3)) * 40 - 3
    grid = vis.visualize_grid(Xs, ubound=255.0, padding=2)
    assert grid.shape == (G * 7 - 2, G * 9 - 2, 3)
    assert grid.min() >= 0.0 and grid.max() <= 255.0
    np.testing.assert_allclose(grid[:5, :7].max(), 255.0)  # each image uses the full range
    np.testing.assert_allclose(grid[:5, :7].min(), 0.0)


def test_grid_places_images_and_leaves_padding_empty():
    Xs = np.stack([np.full((2, 2, 1), v, dtype=float) for v in range(4)])
    Xs[:, 0, 0, 0] += 1  # give every image a range
    grid = vis.visualize_grid(Xs, ubound=1.0, padding=1)
    assert grid.shape == (5, 5, 1)
    assert np.all(grid[2, :, 0] == 0) and np.all(grid[:, 2, 0] == 0)
    assert grid[0, 0, 0] == 1.0 and grid[3, 3, 0] == 1.0


def test_constant_image_does_not_divide_by_zero():
    grid = vis.visualize_grid(np.ones((1, 3, 3, 3)))
    assert np.all(grid == 0)


def test_grid_rejects_wrong_layout():
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        vis.visualize_grid(np.zeros((3, 32, 32)))


def test_class_examples_grid():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(40, 8, 8, 3), dtype=np.uint8)
    y = np.repeat(np.arange(4), 10)
    fig = vis.class_examples(X, y, ["a", "b", "c", "d"], samples_per_class=3)
    assert len(fig.axes) == 12
    assert [ax.get_title() for ax in fig.axes[:4]] == ["a", "b", "c", "d"]
    plt.close(fig)
    with pytest.raises(ValueError, match="fewer than samples_per_class"):
        vis.class_examples(X, y, ["a", "b", "c", "d"], samples_per_class=11)


def test_knn_plots():
    ax = vis.show_distances(np.random.default_rng(0).random((4, 9)))
    assert ax.images[0].get_array().shape == (4, 9)
    ax = vis.cross_validation_plot({1: [0.2, 0.3], 3: [0.25, 0.35]})
    assert ax.get_xlabel() == "k"
    with pytest.raises(ValueError, match="empty"):
        vis.cross_validation_plot({})
    fig = vis.show_neighbors(
        np.zeros((4, 4, 3)), np.zeros((2, 4, 4, 3)), [0, 1], ["x", "y"], distances=[1.0, 2.0]
    )
    assert [a.get_title() for a in fig.axes] == ["query", "x\n1", "y\n2"]
    plt.close("all")
