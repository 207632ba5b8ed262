"""Pictures of data and of what models learned: image grids, class examples, kNN plots."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cs231n_lib.i18n import _, class_name, use_hangul_font

use_hangul_font()


def visualize_grid(Xs: np.ndarray, ubound: float = 255.0, padding: int = 1) -> np.ndarray:
    """Tile a batch of images into one image, each rescaled to [0, ubound] on its own.

    Parameters
    ----------
    Xs : ndarray, shape (N, H, W, C)
        Images (or filters: first-layer weights transposed to (F, HH, WW, C)).
    ubound : float
        Upper bound of the output range; each image is scaled from its own [min, max].
    padding : int
        Pixels of background (0) between neighbouring images.

    Returns
    -------
    grid : ndarray of float, shape (G*(H+padding)-padding, G*(W+padding)-padding, C)
        with G = ceil(sqrt(N)); empty cells stay 0.
    """
    Xs = np.asarray(Xs)
    if Xs.ndim != 4:
        raise ValueError(
            _(
                "visualize_grid expects images of shape (N, H, W, C), got shape {shape}; "
                "for channels-first data pass Xs.transpose(0, 2, 3, 1)"
            ).format(shape=Xs.shape)
        )
    if padding < 0:
        raise ValueError(_("padding must be >= 0, got {padding}").format(padding=padding))
    N, H, W, C = Xs.shape
    G = int(np.ceil(np.sqrt(N)))  # images per grid side
    grid_h = G * (H + padding) - padding
    grid_w = G * (W + padding) - padding
    grid = np.zeros((grid_h, grid_w, C))
    for n in range(N):
        row, col = divmod(n, G)
        img = Xs[n].astype(np.float64)  # (H, W, C)
        low, high = img.min(), img.max()
        if high > low:
            scaled = np.clip(ubound * (img - low) / (high - low), 0.0, ubound)
        else:
            scaled = np.zeros_like(img)
        y0, x0 = row * (H + padding), col * (W + padding)
        grid[y0 : y0 + H, x0 : x0 + W] = scaled
    return grid


def class_examples(
    X: np.ndarray,
    y: np.ndarray,
    classes: Sequence[str],
    samples_per_class: int = 7,
    seed: int | None = 0,
):
    """Figure with ``samples_per_class`` random examples of every class, one column per class.

    Parameters
    ----------
    X : ndarray, shape (N, H, W, C), uint8 or float in [0, 255]
    y : ndarray of int, shape (N,)
    classes : sequence of str, length num_classes
    samples_per_class : int
    seed : int or None
        Which examples are drawn (None: a different draw each call).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    num_classes = len(classes)
    fig, axes = plt.subplots(
        samples_per_class,
        num_classes,
        figsize=(1.1 * num_classes, 1.1 * samples_per_class),
        squeeze=False,
    )
    for c, name in enumerate(classes):
        idxs = np.flatnonzero(y == c)
        if idxs.size < samples_per_class:
            raise ValueError(
                _(
                    "class {c} ({name}) has {count} examples, fewer than "
                    "samples_per_class={wanted}; pass a smaller samples_per_class"
                ).format(c=c, name=name, count=idxs.size, wanted=samples_per_class)
            )
        chosen = rng.choice(idxs, samples_per_class, replace=False)
        for row, idx in enumerate(chosen):
            ax = axes[row, c]
            ax.imshow(np.asarray(X[idx]).astype("uint8"))
            ax.axis("off")
            if row == 0:
                ax.set_title(class_name(name), fontsize=9)
    fig.tight_layout()
    return fig


def show_distances(dists: np.ndarray, ax=None):
    """The (num_test, num_train) distance matrix as an image: rows are test points."""
    import matplotlib.pyplot as plt

    dists = np.asarray(dists)
    if dists.ndim != 2:
        raise ValueError(
            _("dists must be (num_test, num_train), got shape {shape}").format(shape=dists.shape)
        )
    if ax is None:
        _fig, ax = plt.subplots(figsize=(10, 4))
    ax.imshow(dists, interpolation="none", aspect="auto", cmap="viridis")
    ax.set_xlabel(_("training example"))
    ax.set_ylabel(_("test example"))
    ax.set_title(_("L2 distances (bright = far)"))
    return ax


def cross_validation_plot(k_to_accuracies: dict[int, Sequence[float]], ax=None):
    """Accuracy of every fold as dots and the mean ± std per k as an error-bar line.

    Parameters
    ----------
    k_to_accuracies : dict int -> sequence of float
        For each k, the validation accuracy on each fold.
    """
    import matplotlib.pyplot as plt

    if not k_to_accuracies:
        raise ValueError(_("k_to_accuracies is empty; run the cross-validation cell first"))
    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 5))
    ks = sorted(k_to_accuracies)
    for k in ks:
        accs = np.asarray(k_to_accuracies[k], dtype=float)
        ax.scatter([k] * len(accs), accs, color="tab:blue", alpha=0.6, s=15)
    means = np.array([np.mean(k_to_accuracies[k]) for k in ks])
    stds = np.array([np.std(k_to_accuracies[k]) for k in ks])
    ax.errorbar(ks, means, yerr=stds, color="tab:orange", capsize=3)
    ax.set_title(_("Cross-validation on k"))
    ax.set_xlabel("k")
    ax.set_ylabel(_("cross-validation accuracy"))
    return ax


def show_neighbors(
    query: np.ndarray,
    neighbors: np.ndarray,
    neighbor_labels: Sequence[int],
    classes: Sequence[str],
    distances: Sequence[float] | None = None,
    title: str = "",
):
    """The query image followed by its nearest training images, each labelled.

    Parameters
    ----------
    query : ndarray, shape (H, W, C)
    neighbors : ndarray, shape (k, H, W, C)
    neighbor_labels : sequence of int, length k
    classes : sequence of str
    distances : sequence of float, length k, optional
    """
    import matplotlib.pyplot as plt

    k = len(neighbors)
    fig, axes = plt.subplots(1, k + 1, figsize=(1.4 * (k + 1), 1.9), squeeze=False)
    axes = axes[0]
    axes[0].imshow(np.asarray(query).astype("uint8"))
    axes[0].set_title(title or _("query"), fontsize=9)
    axes[0].axis("off")
    for i in range(k):
        ax = axes[i + 1]
        ax.imshow(np.asarray(neighbors[i]).astype("uint8"))
        label = class_name(classes[int(neighbor_labels[i])])
        ax.set_title(label if distances is None else f"{label}\n{distances[i]:.0f}", fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig
