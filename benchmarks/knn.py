"""kNN on the embedded CIFAR-10: the CS231n protocol, its spread, and the distance speed-ups.

Prints three tables:

1. Accuracy on the 5,000 / 500 protocol at k=1 and at the k chosen by 5-fold cross-validation
   over k in {1, 3, 5, 8, 10, 12, 15, 20, 50, 100}: the CS231n subsample (first 5,000 / 500)
   and the mean ± std over 5 random subsamples (seeds 0-4). CS231n's notebook expects about 27%
   (k=1) and above 28% (cross-validated k) on the official data.
2. Two-loop, one-loop and no-loop distance times at 5,000 x 500, measured one after the other
   in this run, as ratios to the no-loop time.
3. With --full: 1-NN with L2 distance, all 50,000 training vs all 10,000 test images through
   KNearestNeighbor.compute_distances_no_loops (35.3% expected on this copy).

Run: .venv/bin/python benchmarks/knn.py [--full]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cs231n_lib.classifiers.knn import KNearestNeighbor
from cs231n_lib.data import load_cifar10, subsample_knn

K_CHOICES = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)


def flat(X: np.ndarray) -> np.ndarray:
    return X.reshape(len(X), -1).astype(np.float64)  # (N, 3072)


def cross_validated_k(X: np.ndarray, y: np.ndarray, num_folds: int = 5) -> int:
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(y, num_folds)
    acc = {k: [] for k in K_CHOICES}
    for f in range(num_folds):
        knn = KNearestNeighbor()
        knn.train(np.concatenate(X_folds[:f] + X_folds[f + 1 :]),
                  np.concatenate(y_folds[:f] + y_folds[f + 1 :]))  # fmt: skip
        dists = knn.compute_distances_no_loops(X_folds[f])
        for k in K_CHOICES:
            acc[k].append(np.mean(knn.predict_labels(dists, k=k) == y_folds[f]))
    return max(K_CHOICES, key=lambda k: np.mean(acc[k]))


def protocol(data, seed: int | None) -> tuple[float, int, float]:
    X_tr, y_tr, X_te, y_te = subsample_knn(*data, num_training=5000, num_test=500, seed=seed)
    X_tr, X_te = flat(X_tr), flat(X_te)
    knn = KNearestNeighbor()
    knn.train(X_tr, y_tr)
    dists = knn.compute_distances_no_loops(X_te)
    acc1 = float(np.mean(knn.predict_labels(dists, k=1) == y_te))
    best_k = cross_validated_k(X_tr, y_tr)
    acc_cv = float(np.mean(knn.predict_labels(dists, k=best_k) == y_te))
    return acc1, best_k, acc_cv


def timings(data) -> dict[str, float]:
    X_tr, y_tr, X_te, _ = subsample_knn(*data, num_training=5000, num_test=500)
    knn = KNearestNeighbor()
    knn.train(flat(X_tr), y_tr)
    X_te = flat(X_te)
    out = {}
    for name in ("no_loops", "one_loop", "two_loops"):
        start = time.perf_counter()
        getattr(knn, f"compute_distances_{name}")(X_te)
        out[name] = time.perf_counter() - start
    return out


def full_one_nn(data, chunk: int = 1000) -> float:
    X_train, y_train, X_test, y_test = data
    knn = KNearestNeighbor()
    knn.train(flat(X_train), y_train)
    correct = 0
    for start in range(0, len(X_test), chunk):
        dists = knn.compute_distances_no_loops(flat(X_test[start : start + chunk]))
        pred = knn.predict_labels(dists, k=1)
        correct += int(np.sum(pred == y_test[start : start + chunk]))
    return correct / len(X_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run 1-NN on all 50k x 10k")
    args = parser.parse_args()
    data = load_cifar10()

    print("\n1. kNN accuracy, 5,000 train / 500 test")
    print(f"{'subsample':<22}{'k=1':>8}{'CV k':>7}{'acc @ CV k':>12}")
    acc1, k, acc_cv = protocol(data, None)
    print(f"{'CS231n (first 5000)':<22}{acc1:>8.3f}{k:>7}{acc_cv:>12.3f}")
    runs = [protocol(data, seed) for seed in range(5)]
    for seed, (a1, kk, ac) in enumerate(runs):
        print(f"{f'random, seed {seed}':<22}{a1:>8.3f}{kk:>7}{ac:>12.3f}")
    a1s, acs = np.array([r[0] for r in runs]), np.array([r[2] for r in runs])
    print(f"{'mean ± std (5 seeds)':<22}{a1s.mean():>8.3f}{'':>7}{acs.mean():>12.3f}")
    print(f"{'':<22}{'±' + format(a1s.std(), '.3f'):>8}{'':>7}{'±' + format(acs.std(), '.3f'):>12}")

    print("\n2. Distance computation, 5,000 x 500 x 3072 (float64), one run each")
    t = timings(data)
    for name in ("two_loops", "one_loop", "no_loops"):
        print(f"{name:<12}{t[name]:>9.3f} s{t[name] / t['no_loops']:>9.0f}x the no-loop time")

    if args.full:
        start = time.perf_counter()
        acc = full_one_nn(data)
        print(f"\n3. 1-NN, all 50,000 vs 10,000: accuracy {acc:.4f} "
              f"({time.perf_counter() - start:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
