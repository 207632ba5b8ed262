"""Self-checks of the linear-classifier exercises (notebooks 02_svm and 03_softmax).

Losses are compared with the golden values of the instructor's solution on small seeded
cases; training is checked on a least-squares classifier defined here, so that a wrong loss
cannot make a correct SGD loop fail (or the other way round); the hyper-parameter searches
are checked from the values the notebook passes in.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import config
from cs231n_lib.checks import Checker, exercise, export_for_grader, key
from cs231n_lib.checks._hints import SOFTMAX_UNDERFLOW_HINT
from cs231n_lib.classifiers import linear
from cs231n_lib.i18n import N_, _

_FILE = "cs231n_lib/classifiers/linear.py"

# Lowest validation accuracy a tuned model must reach, on the full data and on the fast slice
# (1,000 training images, 200 validation images): a pass bar for students, below the course's
# goals (0.39 SVM, 0.40 softmax), which the notebooks' solution searches reach on the full data
# (tests/test_notebooks_full.py asserts it; the README's run-time section says when it last ran).
# An accuracy measured on 1,000 images moves by about 1.5 points from sampling alone, on 200
# images by about 3.
MIN_VAL_ACCURACY = {
    "svm": {"full": 0.35, "fast": 0.22},
    "softmax": {"full": 0.36, "fast": 0.22},
}


def _loss_case(t: Checker, N: int = 9, D: int = 11, C: int = 4):
    """A small problem with margins on both sides of zero: W (D, C), X (N, D), y (N,)."""
    W = 0.3 * t.rng.standard_normal((D, C))  # (D, C)
    X = t.rng.standard_normal((N, D))  # (N, D)
    X[:, -1] = 1.0  # the bias trick
    y = t.rng.integers(0, C, size=N)  # (N,)
    y[:C] = np.arange(C)  # every class appears at least once
    return W, X, y


def _scalar(value) -> np.ndarray:
    """A loss as a float64 array (0-d for a number; any other shape is reported as wrong)."""
    return np.asarray(value, dtype=np.float64)


def _check_loss(t: Checker, fn, *, stability: bool) -> None:
    W, X, y = _loss_case(t)
    inputs = (W.copy(), X.copy(), y.copy())
    for suffix, reg in (("", 0.0), ("_reg", 0.25)):
        loss, dW = t.call(fn, W, X, y, reg)
        if not suffix:
            t.true(
                key(N_("loss is a number")),
                np.ndim(loss) == 0,
                _("return the loss as one number (a float), got shape {shape}").format(
                    shape=np.shape(loss)
                ),
            )
        t.close(f"loss{suffix}", _scalar(loss))
        t.close(f"dW{suffix}", dW)
    t.true(
        key(N_("inputs unchanged")),
        all(np.array_equal(a, b) for a, b in zip((W, X, y), inputs, strict=True)),
        _("{fn} changed W, X or y in place; compute on new arrays instead").format(fn=fn.__name__),
    )
    # A larger batch with more classes, where indexing mistakes (rows vs columns) show.
    W, X, y = _loss_case(t, N=30, D=7, C=6)
    loss, dW = t.call(fn, W, X, y, 0.1)
    t.close("loss_batch30", _scalar(loss))
    t.close("dW_batch30", dW)
    if stability:
        # Scores of the order of 1e4: exp overflows unless the scores are shifted first.
        W, X, y = _loss_case(t, N=6, D=5, C=3)
        X = 5e3 * X  # (N, D), scores up to ~1e4
        loss, dW = t.call(fn, W, X, y, 0.0)
        if t.mode == "public" and not np.isfinite(_scalar(loss)).all():
            t.true("loss_large_scores", False, SOFTMAX_UNDERFLOW_HINT)
        else:
            t.close("loss_large_scores", _scalar(loss))
        t.close("dW_large_scores", dW)


@exercise(linear.svm_loss_naive)
def check_svm_loss_naive(t: Checker) -> None:
    _check_loss(t, linear.svm_loss_naive, stability=False)


@exercise(linear.svm_loss_vectorized)
def check_svm_loss_vectorized(t: Checker) -> None:
    _check_loss(t, linear.svm_loss_vectorized, stability=False)


@exercise(linear.softmax_loss_naive)
def check_softmax_loss_naive(t: Checker) -> None:
    _check_loss(t, linear.softmax_loss_naive, stability=True)


@exercise(linear.softmax_loss_vectorized)
def check_softmax_loss_vectorized(t: Checker) -> None:
    _check_loss(t, linear.softmax_loss_vectorized, stability=True)


class _LeastSquares(linear.LinearClassifier):
    """0.5 * mean ||x W - onehot(y)||^2 + 0.5 * reg * ||W||^2: a loss the check trusts."""

    def loss(self, X_batch, y_batch, reg):
        return _least_squares(self.W, X_batch, y_batch, reg)


def _least_squares(W, X, y, reg):
    N = X.shape[0]
    R = X @ W  # (N, C)
    R[np.arange(N), y] -= 1.0  # residual against the one-hot targets
    loss = 0.5 * np.sum(R * R) / N + 0.5 * reg * np.sum(W * W)
    return float(loss), X.T @ R / N + reg * W  # (D, C)


N_("minibatch sampling and the update step")  # the note in the "where" below


@exercise(
    "linear_classifier_train",
    f"LinearClassifier.train (minibatch sampling and the update step) in {_FILE}",
)
def check_linear_classifier_train(t: Checker) -> None:
    N, D, C = 40, 6, 3
    X = t.rng.standard_normal((N, D))  # (N, D)
    y = t.rng.integers(0, C, size=N)  # (N,)
    W0 = 0.01 * t.rng.standard_normal((D, C))  # (D, C)
    seed = int(t.rng.integers(2**31))
    lr, reg, batch_size, num_iters = 0.2, 0.01, 16, 12
    X_before = X.copy()

    clf = _LeastSquares(W0.copy())
    history = t.call(
        clf.train, X, y, learning_rate=lr, reg=reg, num_iters=num_iters,
        batch_size=batch_size, seed=seed,
    )  # fmt: skip
    history = np.asarray(history, dtype=np.float64)
    t.equal(key(N_("number of losses")), history.shape, (num_iters,))
    if history.shape != (num_iters,):
        return

    # Replay the first two steps to tell a sampling mistake from an update mistake.
    rng = np.random.default_rng(seed)
    idx = rng.choice(N, batch_size)  # (batch_size,)
    loss0, grad0 = _least_squares(W0, X[idx], y[idx], reg)
    t.true(
        key(N_("first minibatch")),
        np.isclose(history[0], loss0, rtol=1e-9),
        N_(
            "the loss of the first step is not the loss on the minibatch that "
            "rng.choice(num_train, batch_size) draws; sample with exactly that call (it draws with "
            "replacement) and use X[idx], y[idx], before updating W"
        ),
    )
    W1 = W0 - lr * grad0  # (D, C)
    idx = rng.choice(N, batch_size)
    loss1, _cache = _least_squares(W1, X[idx], y[idx], reg)
    t.true(
        key(N_("first update")),
        np.isclose(history[1], loss1, rtol=1e-9),
        N_(
            "after one step the loss is not that of W - learning_rate * dW; check the update "
            "(and that each step draws a new minibatch)"
        ),
    )
    t.close("loss_history", history)
    t.close("W", clf.W)
    t.true(
        key(N_("X unchanged")),
        np.array_equal(X, X_before),
        N_("train changed the training data X in place; index it (X[idx]) into a new array"),
    )


@exercise("linear_classifier_predict", linear.LinearClassifier.predict)
def check_linear_classifier_predict(t: Checker) -> None:
    N, D, C = 25, 7, 5
    W = t.rng.standard_normal((D, C))  # (D, C)
    X = t.rng.standard_normal((N, D))  # (N, D)
    clf = linear.LinearClassifier(W)
    y_pred = np.asarray(t.call(clf.predict, X))
    t.true(
        key(N_("integer labels")),
        np.issubdtype(y_pred.dtype, np.integer),
        _("predict must return integer class labels, got dtype {dtype}").format(dtype=y_pred.dtype),
    )
    t.equal("y_pred", y_pred, np.argmax(X @ W, axis=1))


_NOT_PASSED = object()  # default of the tuning checks' arguments: tells "not passed" from None


def _check_tuning(t: Checker, kind: str, values: dict, min_combinations: int = 4) -> None:
    """``values``: results, best_<kind>, X_val, y_val, as the notebook passes them."""
    if t.mode == "record":
        return  # judged from the notebook's values; there is nothing to record
    missing = [name for name, value in values.items() if value is _NOT_PASSED]
    if missing:
        wanted = ", ".join(f"{name}={name}" for name in missing)
        raise TypeError(
            _(
                "the check cell was changed: pass the search's values to the check, "
                "check(..., {wanted})"
            ).format(wanted=wanted)
        )
    (results, best_model, X_val, y_val), best_name = values.values(), list(values)[1]
    if isinstance(results, dict) and not results and best_model is None:
        raise NotImplementedError(
            _(
                "{name}: not implemented yet: results is empty and {best} is None, so the "
                "search cell above has not run to the end (it raised, or it was not written); "
                "implement this in the search cell (see its TODO), run it, then run this check"
            ).format(name=t.exercise.name, best=best_name)
        )
    ok_format = (
        isinstance(results, dict)
        and len(results) > 0
        and all(
            isinstance(pair, tuple) and len(pair) == 2 and len(np.atleast_1d(value)) == 2
            for pair, value in results.items()
        )
    )
    t.true(
        key(N_("results format")),
        ok_format,
        _(
            "results must map (learning_rate, reg) tuples to (train_accuracy, val_accuracy) "
            "tuples; it is empty: did the search cell run to the end?"
        )
        if isinstance(results, dict) and not results
        else N_(
            "results must map (learning_rate, reg) tuples to (train_accuracy, val_accuracy) tuples"
        ),
    )
    if not ok_format:
        return
    t.true(
        key(N_("enough combinations")),
        len({k[0] for k in results}) >= 2
        and len({k[1] for k in results}) >= 2
        and len(results) >= min_combinations,
        _(
            "search at least 2 learning rates x 2 regularisation strengths (got {count} "
            "combinations)"
        ).format(count=len(results)),
    )
    accs = np.array([[float(a) for a in v] for v in results.values()])  # (K, 2)
    t.true(
        key(N_("accuracies are fractions")),
        bool(np.all((accs >= 0) & (accs <= 1))),
        N_("accuracies must be fractions in [0, 1], e.g. np.mean(y_pred == y)"),
    )
    best_val = accs[:, 1].max()
    t.true(
        key(N_("best model kept")),
        best_model is not None,
        _("{best} is None; keep the classifier with the best validation accuracy in it").format(
            best=best_name
        ),
    )
    if best_model is None:
        return
    # The grader re-evaluates these weights outside the kernel (cs231n_course.grader.tuning).
    export_for_grader(t.exercise.name, W=getattr(best_model, "W", None), X_val=X_val, y_val=y_val)
    val_acc = float(np.mean(best_model.predict(X_val) == y_val))
    t.true(
        key(N_("best model matches results")),
        np.isclose(val_acc, best_val),
        _(
            "the model passed as the best has validation accuracy {acc:.4f}, but the best "
            "validation accuracy in results is {best:.4f}; keep the classifier that reached it"
        ).format(acc=val_acc, best=best_val),
    )
    goal = MIN_VAL_ACCURACY[kind]["fast" if config.FAST else "full"]
    t.true(
        key(N_("validation accuracy >= {goal:.2f}"), goal=goal),
        val_acc >= goal,
        _(
            "the best validation accuracy is {acc:.4f}; tune further to reach {goal:.2f} (try "
            "other learning rates and regularisation strengths, or more iterations)"
        ).format(acc=val_acc, goal=goal),
    )


@exercise(
    "svm_tuning", N_("the hyper-parameter search cell (svm_tuning) of notebooks/02_svm.ipynb")
)
def check_svm_tuning(
    t: Checker, results=_NOT_PASSED, best_svm=_NOT_PASSED, X_val=_NOT_PASSED, y_val=_NOT_PASSED
) -> None:
    values = dict(results=results, best_svm=best_svm, X_val=X_val, y_val=y_val)
    _check_tuning(t, "svm", values)


@exercise(
    "softmax_tuning",
    N_("the hyper-parameter search cell (softmax_tuning) of notebooks/03_softmax.ipynb"),
)
def check_softmax_tuning(
    t: Checker,
    results=_NOT_PASSED,
    best_softmax=_NOT_PASSED,
    X_val=_NOT_PASSED,
    y_val=_NOT_PASSED,
) -> None:
    values = dict(results=results, best_softmax=best_softmax, X_val=X_val, y_val=y_val)
    _check_tuning(t, "softmax", values)
