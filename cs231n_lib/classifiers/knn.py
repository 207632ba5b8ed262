"""k-nearest-neighbour classifier with L2 distances, in three versions of increasing speed."""

from __future__ import annotations

import numpy as np

from cs231n_lib import config, i18n


def _test_rows(num_test: int, what: str):
    """``range(num_test)``, with a progress bar on the full data (the loops take a minute)."""
    if config.FAST or num_test < 100:
        return range(num_test)
    from tqdm.auto import tqdm

    return tqdm(range(num_test), desc=i18n._(what), unit=i18n._("test image"), leave=False)


class KNearestNeighbor:
    """kNN classifier with L2 distance.

    Training only memorises the data; prediction compares every test point with every
    training point, which is why the distance computation is worth vectorising.
    """

    def __init__(self) -> None:
        self.X_train: np.ndarray | None = None
        self.y_train: np.ndarray | None = None

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        """Memorise the training data.

        Parameters
        ----------
        X : ndarray, shape (num_train, D)
        y : ndarray of int, shape (num_train,)
        """
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim != 2:
            raise ValueError(
                i18n._(
                    "X must be (num_train, D), got shape {shape}; flatten images first: "
                    "X.reshape(X.shape[0], -1)"
                ).format(shape=X.shape)
            )
        if y.shape != (X.shape[0],):
            raise ValueError(
                i18n._("y must have shape ({N},), got {shape}").format(N=X.shape[0], shape=y.shape)
            )
        self.X_train = X
        self.y_train = y

    def _check_test(self, X: np.ndarray) -> None:
        if self.X_train is None:
            raise RuntimeError(i18n._("call train(X, y) before computing distances or predicting"))
        if X.ndim != 2 or X.shape[1] != self.X_train.shape[1]:
            raise ValueError(
                i18n._(
                    "X must be (num_test, {D}) like the training data, got shape {shape}"
                ).format(D=self.X_train.shape[1], shape=X.shape)
            )

    def predict(self, X: np.ndarray, k: int = 1, num_loops: int = 0) -> np.ndarray:
        """Predict labels for test data.

        Parameters
        ----------
        X : ndarray, shape (num_test, D)
        k : int
            Number of nearest neighbours that vote.
        num_loops : {0, 1, 2}
            Which distance implementation to use.

        Returns
        -------
        y_pred : ndarray of int, shape (num_test,)
        """
        X = np.asarray(X)
        compute = {
            0: self.compute_distances_no_loops,
            1: self.compute_distances_one_loop,
            2: self.compute_distances_two_loops,
        }
        if num_loops not in compute:
            raise ValueError(
                i18n._("num_loops must be 0, 1 or 2, got {num_loops!r}").format(num_loops=num_loops)
            )
        dists = compute[num_loops](X)
        return self.predict_labels(dists, k=k)

    def compute_distances_two_loops(self, X: np.ndarray) -> np.ndarray:
        """L2 distance between each test point and each training point, with two loops.

        Parameters
        ----------
        X : ndarray, shape (num_test, D)

        Returns
        -------
        dists : ndarray of float, shape (num_test, num_train)
            ``dists[i, j]`` is the Euclidean distance between ``X[i]`` and ``X_train[j]``.
        """
        self._check_test(X)
        num_test, num_train = X.shape[0], self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in _test_rows(num_test, i18n.N_("two loops")):
            for j in range(num_train):
                # TODO: compute the L2 distance between the i-th test point X[i] and the j-th
                # training point self.X_train[j], and store it in dists[i, j]. Loop over
                # neither dimension D nor use np.linalg.norm.
                ### BEGIN SOLUTION
                diff = X[i].astype(np.float64) - self.X_train[j]  # (D,)
                dists[i, j] = np.sqrt(np.sum(diff * diff))
                ### END SOLUTION
        return dists

    def compute_distances_one_loop(self, X: np.ndarray) -> np.ndarray:
        """Same as :meth:`compute_distances_two_loops`, with a single loop over test points."""
        self._check_test(X)
        num_test, num_train = X.shape[0], self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in _test_rows(num_test, i18n.N_("one loop")):
            # TODO: compute the L2 distances between X[i] and every training point at once
            # and store them in dists[i, :]. Use broadcasting, not np.linalg.norm.
            ### BEGIN SOLUTION
            diff = self.X_train - X[i].astype(np.float64)  # (num_train, D): 123 MB
            dists[i, :] = np.sqrt(np.einsum("ij,ij->i", diff, diff))  # no second such array
            ### END SOLUTION
        return dists

    def compute_distances_no_loops(self, X: np.ndarray) -> np.ndarray:
        """Same as :meth:`compute_distances_two_loops`, with no Python loop at all.

        Uses ||a − b||² = ||a||² + ||b||² − 2 a·b, which needs one matrix product.
        """
        self._check_test(X)
        num_test, num_train = X.shape[0], self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        # TODO: compute all distances without any explicit loop and store them in dists.
        # Expand ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b: one matrix product and two
        # broadcast sums. Round-off can make a squared distance slightly negative; clip it
        # at 0 before the square root. No np.linalg.norm, no scipy.
        ### BEGIN SOLUTION
        X = np.asarray(X, dtype=np.float64)  # no copy when already float64
        train = np.asarray(self.X_train, dtype=np.float64)
        test_sq = np.einsum("ij,ij->i", X, X)[:, None]  # (num_test, 1), no (N, D) temporary
        train_sq = np.einsum("ij,ij->i", train, train)[None, :]  # (1, num_train)
        sq = X @ train.T  # (num_test, num_train): a.b, then turned into ||a-b||^2 in place
        sq *= -2.0
        sq += test_sq
        sq += train_sq
        dists = np.sqrt(np.maximum(sq, 0.0, out=sq), out=sq)
        ### END SOLUTION
        return dists

    def predict_labels(self, dists: np.ndarray, k: int = 1) -> np.ndarray:
        """Majority vote of the k nearest training points for every test point.

        Parameters
        ----------
        dists : ndarray, shape (num_test, num_train)
        k : int

        Returns
        -------
        y_pred : ndarray of int, shape (num_test,)
            Ties between labels go to the smaller label.
        """
        if self.y_train is None:
            raise RuntimeError(i18n._("call train(X, y) before predicting"))
        dists = np.asarray(dists)
        num_train = self.y_train.shape[0]
        if dists.ndim != 2 or dists.shape[1] != num_train:
            raise ValueError(
                i18n._("dists must be (num_test, {num_train}), got shape {shape}").format(
                    num_train=num_train, shape=dists.shape
                )
            )
        if not 1 <= k <= num_train:
            raise ValueError(
                i18n._("k must be between 1 and num_train={num_train}, got {k}").format(
                    num_train=num_train, k=k
                )
            )
        num_test = dists.shape[0]
        y_pred = np.zeros(num_test, dtype=np.int64)
        for i in range(num_test):
            # TODO: find the labels of the k training points closest to the i-th test point
            # (np.argsort helps), then the most common of those labels (np.bincount helps).
            # Break ties by choosing the smaller label. Store it in y_pred[i].
            ### BEGIN SOLUTION
            nearest = np.argsort(dists[i], kind="stable")[:k]  # (k,)
            closest_y = self.y_train[nearest]
            y_pred[i] = np.argmax(np.bincount(closest_y))  # argmax: first (smallest) on ties
            ### END SOLUTION
        return y_pred
