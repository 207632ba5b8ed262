"""How faithful and how fast is the embedded CIFAR-10 copy?

Prints one table:

- full decode: decoding all 60,000 JPEG files of datasets/cifar10-jpeg75.tar.gz with Pillow
  (no cache involved);
- cached load: ``load_embedded()`` once the .npy cache exists (best and median of 5), with
  the sha256 check of the archive included;
- fidelity: 1-nearest-neighbour with L2 distance, all 50,000 training images against all
  10,000 test images. The published figure for the official (lossless) data is 35.4%.

Distances use ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b in float64, which is exact here: pixels
are integers and every sum stays below 2^53, so ties and near-ties are resolved exactly (to the
lowest training index). Run: ``.venv/bin/python benchmarks/data_fidelity.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from cs231n_lib.data import EmbeddedArchive, load_embedded
from cs231n_lib.data.embedded import decode_archive


def nearest_neighbour_accuracy(X_train, y_train, X_test, y_test, chunk=500):
    """Accuracy of 1-NN with L2 distance, computed exactly in float64.

    Parameters
    ----------
    X_train : ndarray of uint8, shape (N_train, 32, 32, 3)
    y_train : ndarray of int, shape (N_train,)
    X_test : ndarray of uint8, shape (N_test, 32, 32, 3)
    y_test : ndarray of int, shape (N_test,)
    chunk : int
        Test images per distance block (a block is chunk x N_train float64).

    Returns
    -------
    float
        Fraction of test images whose nearest training image has the same label.
    """
    A = X_train.reshape(len(X_train), -1).astype(np.float64)  # (N_train, D)
    a2 = np.einsum("ij,ij->i", A, A)  # (N_train,)
    correct = 0
    for start in range(0, len(X_test), chunk):
        B = X_test[start : start + chunk].reshape(-1, A.shape[1]).astype(np.float64)  # (n, D)
        # ||b||^2 is the same for every training image, so it does not change the argmin.
        d = a2[None, :] - 2.0 * (B @ A.T)  # (n, N_train)
        nearest = np.argmin(d, axis=1)  # (n,)
        correct += int(np.sum(y_train[nearest] == y_test[start : start + chunk]))
    return correct / len(X_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-knn", action="store_true", help="only time decoding and loading")
    args = parser.parse_args()

    archive = EmbeddedArchive.default()
    rows = []

    t0 = time.perf_counter()
    decode_archive(archive)
    rows.append(("full decode, 60,000 JPEGs (Pillow)", f"{time.perf_counter() - t0:.2f} s"))

    load_embedded(archive)  # make sure the cache exists
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        X_train, y_train, X_test, y_test = load_embedded(archive)
        times.append(time.perf_counter() - t0)
    rows.append(
        (
            "cached load (sha256 + 4 .npy files)",
            f"best {min(times):.3f} s, median {statistics.median(times):.3f} s",
        )
    )

    if not args.skip_knn:
        t0 = time.perf_counter()
        accuracy = nearest_neighbour_accuracy(X_train, y_train, X_test, y_test)
        elapsed = time.perf_counter() - t0
        rows.append(("1-NN L2, 50,000 train vs 10,000 test", f"{100 * accuracy:.2f} %"))
        rows.append(("  (official data, published)", "35.4 %"))
        rows.append(("  time for the 1-NN run (float64, exact)", f"{elapsed:.1f} s"))

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
