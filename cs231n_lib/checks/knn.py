"""Self-checks for assignment 1: k-nearest neighbours (notebooks/01_knn.ipynb)."""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np

from cs231n_lib.checks import Checker, exercise, key
from cs231n_lib.classifiers.knn import KNearestNeighbor
from cs231n_lib.i18n import N_, _


def _small_case(t: Checker, num_train: int = 9, num_test: int = 5, D: int = 6):
    """Integer-valued pixels, like images, with one test point equal to a training point."""
    X_train = t.rng.integers(0, 256, size=(num_train, D)).astype(np.float64)
    y_train = t.rng.integers(0, 4, size=num_train)
    X_test = t.rng.integers(0, 256, size=(num_test, D)).astype(np.float64)
    X_test[0] = X_train[3]  # a distance of exactly 0 must come out as 0, not nan
    knn = KNearestNeighbor()
    knn.train(X_train, y_train)
    return knn, X_test


def _forbidden_calls(fn, names: set[str]) -> list[str]:
    """Names from ``names`` that the source of ``fn`` uses (``np.linalg.norm``, ``cdist`` ...).

    Structural, from the syntax tree of the function's own source: a comment or a string that
    mentions ``norm`` does not count, ``np.linalg.norm(...)``, ``linalg.norm`` and a bare
    ``norm`` imported under that name do.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.add(node.attr)
        elif isinstance(node, ast.Name) and node.id in names:
            found.add(node.id)
    return sorted(found)


_SQUARED_HINT = N_(
    "these are the squared distances (each value is the expected one squared); take np.sqrt "
    "of the sum of squared differences"
)


def _squared(dists, expected) -> bool:
    """True when ``dists`` is ``expected`` squared: the missing square root, the commonest slip
    in these exercises, gets its own message rather than a bare "values differ"."""
    if expected is None:
        return False
    got = np.asarray(dists)
    if got.shape != expected.shape or got.dtype.kind not in "fiu":
        return False
    with np.errstate(all="ignore"):
        return bool(
            not np.allclose(got, expected, rtol=1e-9, atol=1e-3)
            and np.allclose(got, expected**2, rtol=1e-9, atol=1e-3)
        )


def _distances(t: Checker, method: str) -> None:
    knn, X_test = _small_case(t)
    dists = t.call(getattr(knn, method), X_test)
    if t.mode == "public" and _squared(dists, t.golden.get("dists")):
        t.true("dists", False, _SQUARED_HINT)
    else:
        t.close("dists", dists, rtol=1e-9, atol=1e-3)  # atol: sqrt of round-off near distance 0
    # The TODO forbids the library routine: the exercise is to write the distance yourself.
    used = _forbidden_calls(getattr(KNearestNeighbor, method), {"norm", "cdist", "pdist"})
    t.true(
        key(N_("no np.linalg.norm or scipy")),
        not used,
        _(
            "{method} calls {calls}; the TODO asks you to compute the distance yourself "
            "(differences, squares, a sum and np.sqrt), without np.linalg.norm or scipy"
        ).format(method=method, calls=", ".join(used)),
    )


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
    # Non-integer values (as after mean subtraction): with integer pixels every term is exact
    # in float64 and the difference of identical points comes out exactly 0, so a missing clip
    # could never show. Here round-off makes some squared distances slightly negative.
    knn = KNearestNeighbor()
    base = t.rng.uniform(-128.0, 128.0, size=(40, 3072)) + t.rng.uniform(100.0, 200.0)
    knn.train(base, np.arange(40))
    near = t.call(knn.compute_distances_no_loops, base.copy())
    t.true(
        key(N_("no nan for identical points")),
        bool(np.all(np.isfinite(near))),
        N_(
            "the distance between identical points is nan: round-off made the squared distance "
            "slightly negative and np.sqrt of a negative number is nan; clip the squared "
            "distances at 0 (np.maximum(..., 0)) before np.sqrt"
        ),
    )


@exercise(KNearestNeighbor.predict_labels)
def _predict_labels(t: Checker) -> None:
    knn = KNearestNeighbor()
    num_train = 12
    y_train = t.rng.integers(0, 5, size=num_train)
    knn.train(np.zeros((num_train, 1)), y_train)
    dists = t.rng.permuted(np.tile(np.arange(num_train, dtype=np.float64), (6, 1)), axis=1)
    for k in (1, 3, 5):
        t.equal(key(N_("labels (k={k})"), k=k), t.call(knn.predict_labels, dists, k=k))
    # A tie: two labels with one vote each among k=2 -> the smaller label wins.
    tie = KNearestNeighbor()
    tie.train(np.zeros((2, 1)), np.array([7, 2]))
    got = t.call(tie.predict_labels, np.array([[0.0, 1.0]]), k=2)
    t.equal(key(N_("tie goes to the smaller label")), got, np.array([2]))


@exercise("knn_cross_validation", N_("the cross-validation cell of notebooks/01_knn.ipynb"))
def _cross_validation(t: Checker, k_to_accuracies=None, k_choices=None, num_folds=5) -> None:
    """Property checks: the notebook's own numbers are not known in advance (under the grader
    they come from a hidden subsample and are compared with the solution's there)."""
    if k_to_accuracies is None or k_choices is None:
        raise TypeError(
            _(
                "the check cell was changed: run it as check('knn_cross_validation', "
                "k_to_accuracies=k_to_accuracies, k_choices=k_choices)"
            )
        )
    if not k_to_accuracies:
        raise NotImplementedError(
            _(
                "knn_cross_validation: not implemented yet: k_to_accuracies is empty, so the "
                "cross-validation cell above has not run to the end (it raised, or it was not "
                "written); implement this in the cell above (see its TODO), run it, then run "
                "this check"
            )
        )
    t.true(
        key(N_("one entry per k")),
        sorted(k_to_accuracies) == sorted(k_choices),
        _("k_to_accuracies must have exactly the keys {expected}, got {got}").format(
            expected=sorted(k_choices), got=sorted(k_to_accuracies)
        ),
    )
    lengths = {k: len(v) for k, v in k_to_accuracies.items()}
    t.true(
        key(N_("{folds} folds per k"), folds=num_folds),
        all(n == num_folds for n in lengths.values()),
        _("each k needs one accuracy per fold ({folds}); got {lengths}").format(
            folds=num_folds, lengths=lengths
        ),
    )
    values = np.array([a for v in k_to_accuracies.values() for a in v], dtype=float)
    t.true(
        key(N_("accuracies are fractions")),
        values.size > 0 and bool(np.all((values >= 0) & (values <= 1))),
        N_("store accuracies as fractions in [0, 1] (num_correct / num_val), not counts or %"),
    )
    complete = sorted(k_to_accuracies) == sorted(k_choices) and all(
        n == num_folds for n in lengths.values()
    )
    if complete:
        # Under the grader the subsample comes from the hidden seed, so these numbers must be
        # computed, not copied; they are compared with the solution's outside the kernel.
        table = np.array([k_to_accuracies[k] for k in sorted(k_choices)], dtype=float)
        t.graded(key(N_("accuracies per k and fold")), table, rtol=1e-9)
    if values.size == 0:
        return
    # Leaks. Raw-pixel kNN is right about a third of the time on CIFAR-10. A validation image
    # that is also among the training images is its own nearest neighbour (distance 0), so
    # 1-NN scores 100% on a fold that was not held out.
    if 1 in k_to_accuracies and len(k_to_accuracies[1]):
        k1 = np.asarray(k_to_accuracies[1], dtype=float)
        t.true(
            key(N_("no leak: 1-NN well below 100%")),
            bool(np.all(k1 < 0.9)),
            _(
                "1-NN scores {acc:.3f} on fold {fold}: the validation images are among the "
                "training images (each is its own nearest neighbour). Train on the other "
                "{others} folds only and predict the held-out fold"
            ).format(acc=k1.max(), fold=int(np.argmax(k1)), others=num_folds - 1),
        )
    if complete:
        table = np.array([k_to_accuracies[k] for k in sorted(k_choices)], dtype=float)
        t.true(
            key(N_("each fold held out once")),
            bool(np.any(np.ptp(table, axis=1) > 0)),
            N_(
                "every fold gives exactly the same accuracy for every k: the same fold is held "
                "out (or the same data predicted) in every iteration; hold out fold i in "
                "iteration i"
            ),
        )
    t.true(
        key(N_("better than chance")),
        float(values.mean()) > 0.15,
        _(
            "mean accuracy {acc:.3f} is near chance (0.10): are the validation labels taken "
            "from the same fold as the validation images?"
        ).format(acc=values.mean()),
    )
