"""ipywidgets explorer for kNN: pick a test image and k, see its neighbours and their vote."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cs231n_lib.i18n import _, class_name


def neighbor_vote(dists_row: np.ndarray, y_train: np.ndarray, k: int, num_classes: int):
    """The k nearest training indices of one test point and the votes per class.

    Parameters
    ----------
    dists_row : ndarray, shape (num_train,)
    y_train : ndarray of int, shape (num_train,)
    k : int
    num_classes : int

    Returns
    -------
    nearest : ndarray of int, shape (k,)
        Training indices, closest first.
    votes : ndarray of int, shape (num_classes,)
    winner : int
        The predicted label (ties go to the smaller label, as in predict_labels).
    """
    nearest = np.argsort(dists_row, kind="stable")[:k]
    votes = np.bincount(y_train[nearest], minlength=num_classes)
    return nearest, votes, int(np.argmax(votes))


class KNNExplorer:
    """Choose a test image and k; see the k nearest training images and the vote.

    Parameters
    ----------
    dists : ndarray, shape (num_test, num_train)
        Distances computed by your classifier.
    X_train_images : ndarray, shape (num_train, 32, 32, 3)
    y_train : ndarray of int, shape (num_train,)
    X_test_images : ndarray, shape (num_test, 32, 32, 3)
    y_test : ndarray of int, shape (num_test,)
    classes : sequence of str
    max_k : int
    """

    def __init__(
        self,
        dists: np.ndarray,
        X_train_images: np.ndarray,
        y_train: np.ndarray,
        X_test_images: np.ndarray,
        y_test: np.ndarray,
        classes: Sequence[str],
        max_k: int = 15,
    ) -> None:
        import ipywidgets as widgets

        dists = np.asarray(dists)
        if dists.shape != (len(X_test_images), len(X_train_images)):
            raise ValueError(
                _(
                    "dists has shape {shape}, expected (num_test, num_train) = "
                    "({num_test}, {num_train})"
                ).format(
                    shape=dists.shape, num_test=len(X_test_images), num_train=len(X_train_images)
                )
            )
        self.dists = dists
        self.X_train_images, self.y_train = X_train_images, np.asarray(y_train)
        self.X_test_images, self.y_test = X_test_images, np.asarray(y_test)
        self.classes = list(classes)
        self.index = widgets.IntSlider(
            value=0, min=0, max=len(X_test_images) - 1, description=_("test image")
        )
        self.k = widgets.IntSlider(value=5, min=1, max=min(max_k, dists.shape[1]), description="k")
        self.output = widgets.Output()
        self.index.observe(self._on_change, names="value")
        self.k.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.index, self.k]), self.output])
        self.render()

    def _on_change(self, _change) -> None:
        self.render()

    def summary(self) -> str:
        """One line describing the current choice and vote (also shown under the pictures)."""
        i, k = self.index.value, self.k.value
        _nearest, votes, winner = neighbor_vote(self.dists[i], self.y_train, k, len(self.classes))
        tally = ", ".join(f"{class_name(self.classes[c])} {v}" for c, v in enumerate(votes) if v)
        truth = class_name(self.classes[int(self.y_test[i])])
        verdict = _("correct") if winner == self.y_test[i] else _("wrong")
        return _("test image {i} ({truth}), k={k}: votes {tally} -> {winner} ({verdict})").format(
            i=i,
            truth=truth,
            k=k,
            tally=tally,
            winner=class_name(self.classes[winner]),
            verdict=verdict,
        )

    def render(self) -> None:
        import matplotlib.pyplot as plt

        from cs231n_lib.vis import show_neighbors

        i, k = self.index.value, self.k.value
        nearest, _votes, _winner = neighbor_vote(self.dists[i], self.y_train, k, len(self.classes))
        self.output.clear_output(wait=True)
        with self.output:
            fig = show_neighbors(
                self.X_test_images[i],
                self.X_train_images[nearest],
                self.y_train[nearest],
                self.classes,
                distances=self.dists[i, nearest],
                title=_("test: {name}").format(name=class_name(self.classes[int(self.y_test[i])])),
            )
            plt.show(fig)
            print(self.summary())

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
