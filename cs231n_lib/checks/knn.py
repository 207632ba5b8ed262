"""Self-checks for assignment 1: k-nearest neighbours (notebooks/01_knn.ipynb)."""

from __future__ import annotations

import numpy as np

from cs231n_lib.checks import Checker, exercise
from cs231n_lib.classifiers.knn import KNearestNeighbor


def _small_case(t: Checker, num_train: int = 9, num_test: int = 5, D: int = 6):
    """Integer-valued pixels, like images, with one test point equal to a training point."""
    X_train = t.rng.integers(0, 256, size=(num_train, D)).astype(np.float64)
    y_train = t.rng.integers(0, 4, size=num_train)
    X_test = t.rng.integers(0, 256, size=(num_test, D)).astype(np.float64)
    X_test[0] = X_train[3]  # a distance of exactly 0 must come out as 0, not nan
    knn = KNearestNeighbor()
    knn.train(X_train, y_train)
    return knn, X_test


def _distances(t: Checker, method: str) -> None:
    knn, X_test = _small_case(t)
    dists = t.call(getattr(knn, method), X_test)
    t.close("dists", dists, rtol=1e-9, atol=1e-3)  # atol: sqrt of round-off near distance 0


@exercise(KNearestNeighbor.compute_distances_two_loops)
def _two_loops(t: Checker) -> None:
    _distances(t, "compute_distances_two_loops")


@exercise(KNearestNeighbor.compute_distances_one_loop)
def _one_loop(t: Checker) -> None:
    _distances(t, "compute_distances_one_loop")


@exercise(KNearestNeighbor.compute_distances_no_loops)
def _no_loops(t: Checker) -> None:
    _distances(t, "compute_distances_no_loops")
    # Large, nearly equal vectors: the expansion ||a||^2 + ||b||^2 - 2ab cancels badly here.
    knn = KNearestNeighbor()
    base = t.rng.integers(200, 256, size=(3, 3072)).astype(np.float64)
    knn.train(base, np.arange(3))
    near = t.call(knn.compute_distances_no_loops, base.copy())
    t.true(
        "no nan for identical points",
        bool(np.all(np.isfinite(near))),
        "distance between identical images is nan: clip the squared distances at 0 "
        "(np.maximum(..., 0)) before np.sqrt",
    )


@exercise(KNearestNeighbor.predict_labels)
def _predict_labels(t: Checker) -> None:
    knn = KNearestNeighbor()
    num_train = 12
    y_train = t.rng.integers(0, 5, size=num_train)
    knn.train(np.zeros((num_train, 1)), y_train)
    dists = t.rng.permuted(np.tile(np.arange(num_train, dtype=np.float64), (6, 1)), axis=1)
    for k in (1, 3, 5):
        t.equal(f"labels (k={k})", t.call(knn.predict_labels, dists, k=k))
    # A tie: two labels with one vote each among k=2 -> the smaller label wins.
    tie = KNearestNeighbor()
    tie.train(np.zeros((2, 1)), np.array([7, 2]))
    got = t.call(tie.predict_labels, np.array([[0.0, 1.0]]), k=2)
    t.equal("tie goes to the smaller label", got, np.array([2]))


@exercise("knn_cross_validation", "the cross-validation cell of notebooks/01_knn.ipynb")
def _cross_validation(t: Checker, k_to_accuracies=None, k_choices=None, num_folds=5) -> None:
    if k_to_accuracies is None or k_choices is None:
        raise TypeError(
            "call check('knn_cross_validation', k_to_accuracies=k_to_accuracies, "
            "k_choices=k_choices)"
        )
    t.true(
        "one entry per k",
        sorted(k_to_accuracies) == sorted(k_choices),
        f"k_to_accuracies must have exactly the keys {sorted(k_choices)}, "
        f"got {sorted(k_to_accuracies)}",
    )
    lengths = {k: len(v) for k, v in k_to_accuracies.items()}
    t.true(
        f"{num_folds} folds per k",
        all(n == num_folds for n in lengths.values()),
        f"each k needs one accuracy per fold ({num_folds}); got {lengths}",
    )
    values = np.array([a for v in k_to_accuracies.values() for a in v], dtype=float)
    t.true(
        "accuracies are fractions",
        values.size > 0 and bool(np.all((values >= 0) & (values <= 1))),
        "store accuracies as fractions in [0, 1] (num_correct / num_val), not counts or %",
    )
    if sorted(k_to_accuracies) == sorted(k_choices) and all(
        n == num_folds for n in lengths.values()
    ):
        # Under the grader the subsample comes from the hidden seed, so these numbers must be
        # computed, not copied; they are compared with the solution's outside the kernel.
        table = np.array([k_to_accuracies[k] for k in sorted(k_choices)], dtype=float)
        t.graded("accuracies per k and fold", table, rtol=1e-9)
    t.true(
        "better than chance",
        values.size > 0 and float(values.mean()) > 0.15,
        f"mean accuracy {values.mean():.3f} is near chance (0.10): are the validation "
        f"labels taken from the same fold as the validation images?",
    )
