"""What the CIFAR-10 net benchmarks share: the machine line, the data, Adam training, accuracy.

``two_layer_net.py`` and ``fc_net_cifar10.py`` train on the same split of the embedded CIFAR-10
(49,000 training, 1,000 validation and 1,000 test images, float32) and report the same three
accuracies, so they take all of it from here (a script in this folder imports its neighbours).
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from cs231n_lib.data import get_cifar10_data
from cs231n_lib.solver import Solver


def machine() -> str:
    """One line saying where the numbers were measured (printed first by every benchmark)."""
    cpu = platform.processor() or platform.machine()
    return (
        f"numpy {np.__version__}, {os.cpu_count()} cores, {cpu}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def load_data() -> dict[str, np.ndarray]:
    """The full split, float32, mean-subtracted by ``get_cifar10_data``; says what it loaded."""
    start = time.perf_counter()
    data = get_cifar10_data(
        num_training=49000, num_validation=1000, num_test=1000, dtype=np.float32
    )
    print(
        f"data loaded in {time.perf_counter() - start:.1f} s: {data['X_train'].shape[0]} train, "
        f"{data['X_val'].shape[0]} val, {data['X_test'].shape[0]} test (float32)"
    )
    return data


def subset(data: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The first ``n`` training images, with the whole validation set (for short runs)."""
    return {
        "X_train": data["X_train"][:n],
        "y_train": data["y_train"][:n],
        "X_val": data["X_val"],
        "y_val": data["y_val"],
    }


def fit(net, data, *, learning_rate, lr_decay, batch_size, num_epochs, seed, verbose, **options):
    """Train ``net`` on ``data`` with Adam, without the Solver's per-iteration printing or
    progress bar (epoch lines only when ``verbose``); returns (solver, seconds of training).
    ``options`` go to the Solver as they are (``num_train_samples=...``)."""
    solver = Solver(
        net,
        data,
        update_rule="adam",
        optim_config={"learning_rate": learning_rate},
        lr_decay=lr_decay,
        batch_size=batch_size,
        num_epochs=num_epochs,
        print_every=10**9,
        verbose=verbose,
        progress=False,
        seed=seed,
        **options,
    )
    start = time.perf_counter()
    solver.train()
    return solver, time.perf_counter() - start


def accuracy(net, X: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    """Fraction of ``X`` (N, D) that ``net`` labels as ``y`` (N,), scored ``batch`` at a time."""
    pred = np.concatenate(
        [np.argmax(net.loss(X[i : i + batch]), axis=1) for i in range(0, len(X), batch)]
    )
    return float(np.mean(pred == y))


def final_accuracies(net, data: dict[str, np.ndarray]) -> tuple[float, float, float]:
    """(train accuracy on the first 5,000 training images, validation, test) of a final run."""
    train = accuracy(net, data["X_train"][:5000], data["y_train"][:5000])
    return (
        train,
        accuracy(net, data["X_val"], data["y_val"]),
        accuracy(net, data["X_test"], data["y_test"]),
    )
