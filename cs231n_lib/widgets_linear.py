"""Pictures and ipywidgets explorers of linear classifiers (notebooks 02_svm and 03_softmax).

- :func:`weights_to_templates` / :func:`plot_templates`: the columns of ``W`` as one 32×32
  colour image per class.
- :func:`plot_hyperparameter_search`: CS231n's scatter plot of a learning-rate x regularisation
  search, coloured by training and by validation accuracy.
- :class:`ScoreExplorer`: choose a test image; see its class scores as a bar chart, each class
  template, and where in the image each score comes from.
- :class:`RetrainExplorer`: retrain on the dev set with learning-rate / regularisation sliders
  and watch the loss curve and the templates change.

The explorers draw with a matplotlib ``Figure`` of their own (not pyplot, so nothing leaks into
the notebook's figures) into an ``ipywidgets.Image``, and describe the current state in one line
of text (:meth:`summary`), which tests and screen readers can use.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from cs231n_lib.i18n import _, class_name, use_hangul_font

use_hangul_font()

IMAGE_SHAPE = (32, 32, 3)
_PIXELS = 32 * 32 * 3


def weights_to_templates(W: np.ndarray) -> np.ndarray:
    """The columns of ``W`` as images, each rescaled to [0, 255] on its own (as in CS231n).

    Parameters
    ----------
    W : ndarray, shape (D, C)
        Weights with ``D = 3072`` or ``D = 3073`` (bias trick: the last row, the bias, is
        dropped).

    Returns
    -------
    templates : ndarray of float, shape (C, 32, 32, 3)
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] not in (_PIXELS, _PIXELS + 1):
        raise ValueError(
            _(
                "expected weights of shape (3072, C) or (3073, C) for 32x32x3 images, got {shape}"
            ).format(shape=W.shape)
        )
    C = W.shape[1]
    T = W[:_PIXELS].T.reshape(C, *IMAGE_SHAPE)  # (C, 32, 32, 3)
    low = T.min(axis=(1, 2, 3), keepdims=True)  # (C, 1, 1, 1)
    high = T.max(axis=(1, 2, 3), keepdims=True)
    return 255.0 * (T - low) / np.maximum(high - low, 1e-12)  # (C, 32, 32, 3)


def plot_templates(W: np.ndarray, classes: Sequence[str], fig=None, title: str | None = None):
    """Show every class's template in one row.

    Parameters
    ----------
    W : ndarray, shape (D, C)
        See :func:`weights_to_templates`.
    classes : sequence of str, length C
    fig : matplotlib Figure, optional
        Draw into this figure (default: a new pyplot figure).
    title : str, optional
        A title above the row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    templates = weights_to_templates(W)
    if len(classes) != len(templates):
        raise ValueError(
            _("{names} class names for {templates} templates").format(
                names=len(classes), templates=len(templates)
            )
        )
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(1.2 * len(classes), 1.8))
    axes = fig.subplots(1, len(classes), squeeze=False)[0]
    for ax, template, name in zip(axes, templates, classes, strict=True):
        ax.imshow(template.astype(np.uint8))
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_hyperparameter_search(results, fig=None):
    """Scatter a search: log10 learning rate vs log10 reg, coloured by accuracy.

    Parameters
    ----------
    results : dict
        ``(learning_rate, reg) -> (train_accuracy, val_accuracy)``.
    fig : matplotlib Figure, optional
        Draw into this figure (default: a new pyplot figure).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: training accuracy (left) and validation accuracy (right).
    """
    if not results:
        raise ValueError(_("results is empty: run the search first"))
    keys = sorted(results)
    log_lr = np.log10([k[0] for k in keys])  # (K,)
    log_reg = np.log10([k[1] for k in keys])  # (K,)
    accs = np.array([results[k] for k in keys], dtype=np.float64)  # (K, 2)
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    for ax, column, name in zip(axes, (0, 1), ("training", "validation"), strict=True):
        points = ax.scatter(log_lr, log_reg, c=accs[:, column], s=120, cmap="viridis",
                            edgecolors="black", linewidths=0.5)  # fmt: skip
        fig.colorbar(points, ax=ax, label=_("{name} accuracy").format(name=name))
        ax.set_xlabel(_("log10 learning rate"))
        ax.set_ylabel(_("log10 regularisation strength"))
        ax.set_title(_("CIFAR-10 {name} accuracy").format(name=name))
    fig.tight_layout()
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    return buf.getvalue()


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _draw_tiles(ax, tiles, labels, cols, pad=4, **imshow_kwargs) -> None:
    """Draw images side by side in one axes, each with a label above it.

    One ``imshow`` of a tiled array instead of one axes per image: ten times faster to draw,
    which keeps the explorers responsive.

    Parameters
    ----------
    ax : matplotlib Axes
    tiles : ndarray, shape (K, H, W) or (K, H, W, 3)
        Grey or RGB (uint8) images; gaps are white (RGB) or blank (NaN, grey).
    labels : sequence of str, length K
    cols : int
        Tiles per row.
    """
    K, H, W = tiles.shape[:3]
    rows = -(-K // cols)  # ceil
    label_h = 12  # pixels of room for each label
    shape = (rows * (H + pad + label_h), cols * (W + pad), *tiles.shape[3:])
    if tiles.ndim == 4:
        canvas = np.full(shape, 255, dtype=np.uint8)
    else:
        canvas = np.full(shape, np.nan)
    for k in range(K):
        r, c = divmod(k, cols)
        y0, x0 = r * (H + pad + label_h) + label_h, c * (W + pad)
        canvas[y0 : y0 + H, x0 : x0 + W] = tiles[k]
        ax.text(x0 + W / 2, y0 - 2, labels[k], ha="center", va="bottom", fontsize=8)
    ax.imshow(canvas, interpolation="nearest", **imshow_kwargs)
    ax.axis("off")


class ScoreExplorer:
    """Choose a test image; see its class scores, the class templates, and the contributions.

    A linear classifier's score for class c is a dot product, ``s_c = sum_p x_p W[p, c] + b_c``.
    The explorer draws, for the chosen image,

    - the scores as a bar chart (true class in green, the prediction outlined);
    - each class's template (column of ``W`` as an image);
    - each class's *contribution map* ``x_p * W[p, c]`` summed over the colour channels:
      red pixels raise the score of that class, blue pixels lower it; the map plus the bias
      adds up to the score written above it.

    Parameters
    ----------
    W : ndarray, shape (D, C)
        Trained weights; D = 3073 with the bias trick (last row = bias) or 3072.
    X_images : ndarray, shape (N, 32, 32, 3)
        The test images as pictures (uint8 or floats in [0, 255]).
    X : ndarray, shape (N, D)
        The same images preprocessed as the classifier saw them (mean subtracted, bias column).
    y : ndarray of int, shape (N,)
        True labels.
    classes : sequence of str, length C
    """

    def __init__(self, W, X_images, X, y, classes: Sequence[str]) -> None:
        import ipywidgets as widgets

        self.W = np.asarray(W, dtype=np.float64)
        self.X_images = np.asarray(X_images)
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y)
        self.classes = list(classes)
        N, D = self.X.shape
        if self.W.shape != (D, len(self.classes)):
            raise ValueError(
                _(
                    "W has shape {shape} but X has D={D} columns and there are {C} classes; "
                    "expected W of shape ({D}, {C})"
                ).format(shape=self.W.shape, D=D, C=len(self.classes))
            )
        if self.X_images.shape != (N, *IMAGE_SHAPE) or self.y.shape != (N,):
            raise ValueError(
                _(
                    "expected X_images of shape ({N}, 32, 32, 3) and y of shape ({N},), got "
                    "{images_shape} and {y_shape}"
                ).format(N=N, images_shape=self.X_images.shape, y_shape=self.y.shape)
            )
        self.templates = weights_to_templates(self.W)  # (C, 32, 32, 3)
        self.index = widgets.IntSlider(
            value=0, min=0, max=N - 1, description=_("test image"), continuous_update=False
        )
        self.image = widgets.Image(format="png")
        self.text = widgets.HTML()
        self.index.observe(lambda _change: self.render(), names="value")
        self.widget = widgets.VBox([self.index, self.text, self.image])
        self.render()

    def scores(self, i: int) -> np.ndarray:
        """Class scores of test image ``i``, shape (C,)."""
        return self.X[i] @ self.W  # (C,)

    def contributions(self, i: int) -> np.ndarray:
        """Per-pixel contributions to every class score, summed over colour channels.

        Returns
        -------
        maps : ndarray, shape (C, 32, 32)
            ``maps[c].sum()`` plus the bias ``W[-1, c]`` (bias trick) is the score of class c.
        """
        x = self.X[i, :_PIXELS]  # (3072,), the pixels without the bias column
        C = self.W.shape[1]
        per_value = x[:, None] * self.W[:_PIXELS]  # (3072, C)
        return per_value.T.reshape(C, *IMAGE_SHAPE).sum(axis=3)  # (C, 32, 32)

    def summary(self) -> str:
        """One line: which image, its true class, the prediction and its score."""
        i = self.index.value
        s = self.scores(i)
        pred, truth = int(np.argmax(s)), int(self.y[i])
        verdict = _("correct") if pred == truth else _("wrong")
        return _(
            "test image {i}: true class {truth}, predicted {pred} (score {score:.1f}, {verdict})"
        ).format(
            i=i,
            truth=class_name(self.classes[truth]),
            pred=class_name(self.classes[pred]),
            score=s[pred],
            verdict=verdict,
        )

    def draw(self, fig) -> None:
        """Draw the current state into ``fig`` (a matplotlib Figure)."""
        i = self.index.value
        C = len(self.classes)
        s = self.scores(i)  # (C,)
        maps = self.contributions(i)  # (C, 32, 32)
        pred, truth = int(np.argmax(s)), int(self.y[i])
        grid = fig.add_gridspec(
            3, 4, height_ratios=[2.2, 1.3, 1.3], left=0.02, right=0.99, top=0.95, bottom=0.01,
            hspace=0.45, wspace=0.45,
        )  # fmt: skip

        ax = fig.add_subplot(grid[0, 0])
        ax.imshow(self.X_images[i].astype(np.uint8))
        ax.set_title(
            _("test image {i}: {name}").format(i=i, name=class_name(self.classes[truth])),
            fontsize=10,
        )
        ax.axis("off")

        ax = fig.add_subplot(grid[0, 1:])
        colors = ["tab:green" if c == truth else "tab:gray" for c in range(C)]
        bars = ax.bar(range(C), s, color=colors)
        bars[pred].set_edgecolor("black")
        bars[pred].set_linewidth(2.5)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(C), [class_name(c) for c in self.classes], rotation=30, ha="right",
                      fontsize=9)  # fmt: skip
        ax.set_ylabel(_("score"))
        ax.set_title(
            _("class scores (green: true class, outlined: prediction {name})").format(
                name=class_name(self.classes[pred])
            ),
            fontsize=10,
        )

        ax = fig.add_subplot(grid[1, :])
        names = [class_name(c) for c in self.classes]
        _draw_tiles(ax, self.templates.astype(np.uint8), names, cols=C)
        ax.set_title(_("templates: the columns of W as images"), fontsize=9)
        ax = fig.add_subplot(grid[2, :])
        # A shared, robust colour range: a few extreme pixels should not wash out the rest.
        bound = float(np.percentile(np.abs(maps), 99.5)) or 1.0
        labels = [
            f"{class_name(name)} {score:+.1f}" for name, score in zip(self.classes, s, strict=True)
        ]
        _draw_tiles(ax, maps, labels, cols=C, cmap="coolwarm", vmin=-bound, vmax=bound)
        ax.set_title(
            _("x * w_c summed over colours (red raises the score of class c, blue lowers it)"),
            fontsize=9,
        )

    def render(self) -> None:
        """Redraw the picture and the summary for the current control values."""
        fig = _new_figure(12, 7.5)
        self.draw(fig)
        self.image.value = _png(fig)
        self.text.value = self.summary()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class RetrainExplorer:
    """Retrain a linear classifier on a small set with sliders; see the loss and the templates.

    Every change of a control retrains from the same starting weights and the same minibatches
    (a fixed seed), so what changes in the picture is caused by the control alone.

    Parameters
    ----------
    X_train : ndarray, shape (N, D)
        Preprocessed training rows (the dev set: a few hundred examples keeps retraining quick).
    y_train : ndarray of int, shape (N,)
    X_val : ndarray, shape (M, D)
        Preprocessed validation rows, to report validation accuracy.
    y_val : ndarray of int, shape (M,)
    classes : sequence of str, length C
    kind : {"svm", "softmax"}
        The loss to start with (a control switches it).
    learning_rate, reg : float
        Starting slider values.
    num_iters, batch_size : int
        Starting number of SGD steps, and the minibatch size.
    seed : int
        Seed of every training run.
    """

    def __init__(
        self,
        X_train,
        y_train,
        X_val,
        y_val,
        classes: Sequence[str],
        kind: str = "svm",
        learning_rate: float = 1e-7,
        reg: float = 5e4,
        num_iters: int = 300,
        batch_size: int = 200,
        seed: int = 0,
    ) -> None:
        import ipywidgets as widgets

        self.X_train, self.y_train = np.asarray(X_train), np.asarray(y_train)
        self.X_val, self.y_val = np.asarray(X_val), np.asarray(y_val)
        self.classes = list(classes)
        self.batch_size, self.seed = batch_size, seed
        if kind not in ("svm", "softmax"):
            raise ValueError(_("kind must be 'svm' or 'softmax', got {kind!r}").format(kind=kind))
        self.kind = widgets.ToggleButtons(options=["svm", "softmax"], value=kind,
                                          description=_("loss"))  # fmt: skip
        self.learning_rate = widgets.FloatLogSlider(
            value=learning_rate, base=10, min=-9, max=-4, step=0.25,
            description=_("learning rate"), readout_format=".1e", continuous_update=False,
            style={"description_width": "initial"},  # the label in full, not "learning r..."
        )  # fmt: skip
        self.reg = widgets.FloatLogSlider(
            value=reg, base=10, min=-1, max=6, step=0.25,
            description=_("reg"), readout_format=".1e", continuous_update=False,
        )  # fmt: skip
        self.num_iters = widgets.IntSlider(
            value=num_iters, min=10, max=2000, step=10, description=_("iterations"),
            continuous_update=False,
        )  # fmt: skip
        self.image = widgets.Image(format="png")
        self.text = widgets.HTML()
        for control in (self.kind, self.learning_rate, self.reg, self.num_iters):
            control.observe(lambda _change: self.render(), names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.kind, self.num_iters]),
                widgets.HBox([self.learning_rate, self.reg]),
                self.text,
                self.image,
            ]
        )
        self.render()

    def train(self):
        """Train a fresh classifier with the current control values.

        Returns
        -------
        clf : LinearSVM or Softmax
        loss_history : list of float
        """
        from cs231n_lib.classifiers.linear import LinearSVM, Softmax

        clf = LinearSVM() if self.kind.value == "svm" else Softmax()
        with np.errstate(over="ignore", invalid="ignore"):  # huge learning rates diverge
            history = clf.train(
                self.X_train, self.y_train, learning_rate=self.learning_rate.value,
                reg=self.reg.value, num_iters=self.num_iters.value,
                batch_size=self.batch_size, seed=self.seed,
            )  # fmt: skip
        return clf, history

    def render(self) -> None:
        """Retrain and redraw for the current control values."""
        clf, history = self.train()
        self.clf, self.loss_history = clf, history
        finite = bool(np.all(np.isfinite(clf.W)))
        # Diverged: the weights overflowed, or the loss grew a hundredfold instead of falling.
        diverged = not finite or not np.isfinite(history[-1]) or history[-1] > 100 * history[0]
        if not diverged:
            train_acc = float(np.mean(clf.predict(self.X_train) == self.y_train))
            val_acc = float(np.mean(clf.predict(self.X_val) == self.y_val))
            self.text.value = _(
                "{kind}, learning rate {lr:.1e}, reg {reg:.1e}, {steps} steps: final loss "
                "{loss:.3f}, train accuracy {train:.3f}, val accuracy {val:.3f}"
            ).format(
                kind=self.kind.value,
                lr=self.learning_rate.value,
                reg=self.reg.value,
                steps=self.num_iters.value,
                loss=history[-1],
                train=train_acc,
                val=val_acc,
            )
        else:
            self.text.value = _(
                "{kind}, learning rate {lr:.1e}, reg {reg:.1e}: training diverged (loss "
                "{first:.3g} at the start, {last:.3g} at the end); lower the learning rate or "
                "the regularisation"
            ).format(
                kind=self.kind.value,
                lr=self.learning_rate.value,
                reg=self.reg.value,
                first=history[0],
                last=history[-1],
            )
        fig = _new_figure(12, 3.6)
        grid = fig.add_gridspec(1, 3, left=0.07, right=0.99, top=0.9, bottom=0.14, wspace=0.15)
        ax = fig.add_subplot(grid[0, 0])
        ax.plot(history)
        if diverged:
            ax.set_yscale("symlog")
        ax.set_xlabel(_("iteration"))
        ax.set_ylabel(_("minibatch loss"))
        ax.set_title(_("loss"), fontsize=10)
        if finite and clf.W.shape[0] in (_PIXELS, _PIXELS + 1):
            ax = fig.add_subplot(grid[0, 1:])
            templates = weights_to_templates(clf.W).astype(np.uint8)  # (C, 32, 32, 3)
            names = [class_name(c) for c in self.classes]
            _draw_tiles(ax, templates, names, cols=max(1, (len(self.classes) + 1) // 2))
            ax.set_title(_("templates"), fontsize=10)
        self.image.value = _png(fig)

    def summary(self) -> str:
        """The line of text under the controls (settings, final loss, accuracies)."""
        return self.text.value

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
