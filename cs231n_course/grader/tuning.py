"""Tuning exercises verified outside the student's kernel, from the submitted weights alone.

A tuning check (SVM, softmax, two-layer net) judges a *model*: anything it verifies from an
object the student's kernel hands it is forgeable in that kernel (a ``predict`` that looks
the validation labels up, a ``check()`` that prints what the reference printed). So under the
grader the check also writes the model's weights to the grading export folder
(``cs231n_lib.checks.export_for_grader``), and after the run the grader re-evaluates them here,
in its own process: the standard forward pass of the exercise's model (a linear classifier;
affine-ReLU-affine) on the validation split the *reference* run exported for the same seed.
Weights are only numbers: they classify well or they do not, whatever code produced them.

An exercise passes only if nbval's comparison passed *and* the weights reach the goal here.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from cs231n_lib.checks.layers import TWO_LAYER_GOAL
from cs231n_lib.checks.linear import MIN_VAL_ACCURACY

MAX_EXPORT_BYTES = 256 << 20  # a full-data two-layer net is ~12 MB in float64

# exercise -> (the model's parameter names, goal table)
TUNING = {
    "svm_tuning": (("W",), MIN_VAL_ACCURACY["svm"]),
    "softmax_tuning": (("W",), MIN_VAL_ACCURACY["softmax"]),
    "two_layer_net_tuning": (("W1", "b1", "W2", "b2"), TWO_LAYER_GOAL),
}


class ExportProblem(ValueError):
    """The submitted export cannot be evaluated; the message says why, for the student."""


def read_export(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``names`` of one export file, refusing anything but plain numeric arrays."""
    if not path.is_file() or path.is_symlink():
        raise ExportProblem(
            "the check cell did not hand the grader the model's weights (was check() "
            "replaced, or the cell changed?)"
        )
    if path.stat().st_size > MAX_EXPORT_BYTES:
        raise ExportProblem(f"the exported weights exceed {MAX_EXPORT_BYTES >> 20} MiB")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in names if k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ExportProblem(f"the exported weights cannot be read ({type(err).__name__})") from err
    missing = [k for k in names if k not in arrays]
    if missing:
        raise ExportProblem(f"the exported model has no {', '.join(missing)}")
    for key, arr in arrays.items():
        if arr.dtype.kind not in "fiu" or not np.all(np.isfinite(arr)):
            raise ExportProblem(f"the model's {key} is not an array of finite numbers")
    return arrays


def accuracy(exercise: str, params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Validation accuracy of ``params`` under the exercise's own model, computed here."""
    X = X.reshape(len(X), -1)
    if exercise == "two_layer_net_tuning":
        W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
        D, H = X.shape[1], W1.shape[-1] if W1.ndim == 2 else -1
        if W1.shape != (D, H) or b1.shape != (H,) or W2.ndim != 2 or W2.shape[0] != H:
            raise ExportProblem(
                f"the model's shapes do not fit the data: W1 {W1.shape}, b1 {b1.shape}, "
                f"W2 {W2.shape} for inputs of dimension {D}"
            )
        if b2.shape != (W2.shape[1],):
            raise ExportProblem(f"the model's b2 has shape {b2.shape}, W2 {W2.shape}")
        dtype = np.result_type(W1, W2)
        hidden = np.maximum(X.astype(dtype) @ W1 + b1, 0)
        scores = hidden @ W2 + b2
    else:
        W = params["W"]
        if W.ndim != 2 or W.shape[0] != X.shape[1]:
            raise ExportProblem(
                f"the model's W has shape {W.shape}, but the validation data has "
                f"{X.shape[1]} columns"
            )
        scores = X.astype(np.result_type(W, np.float32)) @ W
    return float(np.mean(np.argmax(scores, axis=1) == y))


def verify(exercise: str, submitted: Path, reference: Path, *, fast: bool) -> str | None:
    """Why the tuning exercise's submitted model fails, or None when it reaches the goal.

    ``submitted``: the export the student's run wrote; ``reference``: the one the reference
    run wrote for the same seed (its ``X_val``/``y_val`` are the split the model is judged on).
    """
    names, goals = TUNING[exercise]
    try:
        with np.load(reference, allow_pickle=False) as data:
            X, y = data["X_val"], data["y_val"]
    except (OSError, KeyError, ValueError) as err:
        raise RuntimeError(f"the reference run exported no validation split: {err}") from err
    goal = goals["fast" if fast else "full"]
    try:
        params = read_export(submitted, names)
        acc = accuracy(exercise, params, X, y)
    except ExportProblem as err:
        return f"the grader could not evaluate your model: {err}"
    if acc < goal:
        return (
            f"your model's weights, evaluated by the grader on the validation split, reach "
            f"{acc:.3f}; the goal is {goal:.2f} (tune further)"
        )
    return None
