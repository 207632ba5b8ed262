"""kNN classifier: the three distance versions agree with a trusted reference; votes; errors."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib.classifiers.knn import KNearestNeighbor


def reference_dists(X, X_train):
    return np.sqrt(((X[:, None, :] - X_train[None, :, :]) ** 2).sum(-1))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", ["two_loops", "one_loop", "no_loops"])
def test_distances_match_reference(seed, method):
    rng = np.random.default_rng(seed)
    num_train, num_test, D = rng.integers(1, 12), rng.integers(1, 8), rng.integers(1, 40)
    X_train = rng.integers(0, 256, (num_train, D)).astype(np.float64)
    X = rng.integers(0, 256, (num_test, D)).astype(np.float64)
    knn = KNearestNeighbor()
    knn.train(X_train, np.zeros(num_train, dtype=int))
    got = getattr(knn, f"compute_distances_{method}")(X)
    np.testing.assert_allclose(
        got, reference_dists(X, X_train), rtol=1e-9, atol=1e-6,
        err_msg=f"seed={seed} num_train={num_train} num_test={num_test} D={D}",
    )  # fmt: skip


def test_no_loops_on_uint8_and_identical_points():
    X = np.random.default_rng(0).integers(0, 256, (4, 3072)).astype(np.uint8)
    knn = KNearestNeighbor()
    knn.train(X, np.arange(4))
    d = knn.compute_distances_no_loops(X)
    assert np.all(np.isfinite(d)) and np.allclose(np.diag(d), 0, atol=1e-3)
    # uint8 must not wrap around: 0 - 255 is -255, not 1
    np.testing.assert_allclose(d, reference_dists(X.astype(float), X.astype(float)), atol=1e-3)
    np.testing.assert_allclose(knn.compute_distances_two_loops(X), d, atol=1e-3)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(3)
    X_train, X = rng.standard_normal((5, 3)), rng.standard_normal((2, 3))
    X_train.setflags(write=False)
    X.setflags(write=False)
    knn = KNearestNeighbor()
    knn.train(X_train, np.arange(5))
    for m in (knn.compute_distances_two_loops, knn.compute_distances_one_loop):
        m(X)
    knn.compute_distances_no_loops(X)


def test_vote_majority_and_ties_to_smaller_label():
    knn = KNearestNeighbor()
    knn.train(np.zeros((5, 1)), np.array([3, 1, 1, 3, 0]))
    dists = np.array([[0.0, 1, 2, 3, 4], [4.0, 3, 2, 1, 0], [0.0, 1, 5, 5, 5]])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=1), [3, 0, 3])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=3), [1, 0, 1])  # 0/3/1 tie -> 0
    np.testing.assert_array_equal(knn.predict_labels(dists, k=2), [1, 0, 1])  # 3 vs 1 -> 1


def test_predict_end_to_end_on_separable_clusters():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    y = np.repeat(np.arange(3), 20)
    X_train = centers[y] + rng.standard_normal((60, 2))
    X_test = centers + 0.1
    knn = KNearestNeighbor()
    knn.train(X_train, y)
    for loops in (0, 1, 2):
        np.testing.assert_array_equal(knn.predict(X_test, k=5, num_loops=loops), [0, 1, 2])


def test_clear_errors():
    knn = KNearestNeighbor()
    with pytest.raises(RuntimeError, match="call train"):
        knn.compute_distances_no_loops(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="flatten images"):
        knn.train(np.zeros((2, 4, 4)), np.zeros(2))
    knn.train(np.zeros((2, 3)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match=r"\(num_test, 3\)"):
        knn.compute_distances_one_loop(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="num_loops"):
        knn.predict(np.zeros((1, 3)), num_loops=3)
    with pytest.raises(ValueError, match="k must be between 1 and num_train=2"):
        knn.predict_labels(np.zeros((1, 2)), k=3)
