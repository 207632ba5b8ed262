"""ipywidgets explorers for the conv-net notebook (06_conv_net).

- :class:`ConvArithmeticExplorer`: sliders for input size, depth, filter size, stride, padding
  and number of filters; shows the output size with the formula filled in, the parameter count,
  a picture of where the windows fall on the padded input, and a warning when the windows do
  not fit.
- :class:`FilterBrowser`: pick a first-layer filter of a trained conv net and see it, and its
  activation maps (conv + ReLU) on chosen images.

Like the other explorers, each draws with a matplotlib ``Figure`` of its own into an
``ipywidgets.Image`` and describes its state in one line of text (:meth:`summary`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from cs231n_lib.fast_layers import conv_forward_fast
from cs231n_lib.i18n import _, use_hangul_font
from cs231n_lib.layers import conv_output_size

use_hangul_font()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def conv_arithmetic(size, depth, filter_size, stride, pad, num_filters):
    """Output size and parameter count of a square conv layer, or why it does not fit.

    Parameters
    ----------
    size, depth : int
        Input W = H and depth C.
    filter_size, stride, pad, num_filters : int
        F, S, P and K in the lecture's notation.

    Returns
    -------
    dict
        ``out`` (int or None), ``formula`` (str with the numbers), ``error`` (str or None),
        ``params`` (int: K*(F*F*C + 1)), ``positions`` (list of int: the left edges of the
        windows along one axis in the padded input; when the size does not fit, the windows a
        framework that floors would use).
    """
    formula = f"({size} + 2*{pad} - {filter_size})/{stride} + 1"
    params = num_filters * (filter_size * filter_size * depth + 1)
    span = size + 2 * pad - filter_size
    try:
        out = conv_output_size(size, filter_size, stride, pad, what="output size")
        error = None
        formula += f" = {out}"
    except ValueError as exc:
        out, error = None, str(exc)
    positions = list(range(0, span + 1, stride)) if span >= 0 else []
    return {"out": out, "formula": formula, "error": error, "params": params,
            "positions": positions}  # fmt: skip


class ConvArithmeticExplorer:
    """Sliders for a conv layer's hyper-parameters; output size, parameters and windows.

    Parameters
    ----------
    size, depth, filter_size, stride, pad, num_filters : int
        Starting values (the lecture's 7×7 input with a 3×3 filter by default).
    """

    def __init__(self, size=7, depth=3, filter_size=3, stride=1, pad=0, num_filters=1) -> None:
        import ipywidgets as widgets

        def slider(value, low, high, name):
            return widgets.IntSlider(value=value, min=low, max=high, description=name,
                                     continuous_update=False)  # fmt: skip

        self.size = slider(size, 1, 32, "input W=H")
        self.depth = slider(depth, 1, 64, "depth C")
        self.filter_size = slider(filter_size, 1, 11, "filter F")
        self.stride = slider(stride, 1, 5, "stride S")
        self.pad = slider(pad, 0, 5, "padding P")
        self.num_filters = slider(num_filters, 1, 64, "filters K")
        self.controls = [self.size, self.depth, self.filter_size, self.stride, self.pad,
                         self.num_filters]  # fmt: skip
        self.text = widgets.HTML()
        # Shown at its own pixel size: a box would otherwise stretch it to the full width.
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="auto"))
        for control in self.controls:
            control.observe(lambda _change: self.render(), names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([widgets.VBox(self.controls[:3]), widgets.VBox(self.controls[3:])]),
             self.text, self.image],
            layout=widgets.Layout(align_items="flex-start"),
        )  # fmt: skip
        self.render()

    def state(self) -> dict:
        """The current arithmetic (see :func:`conv_arithmetic`)."""
        return conv_arithmetic(*(c.value for c in self.controls))

    def summary(self) -> str:
        """One line: the output volume with the formula, and the parameter count."""
        s = self.state()
        K, F, C = self.num_filters.value, self.filter_size.value, self.depth.value
        params = _("parameters {K} × ({F}·{F}·{C} + 1) = {count:,}").format(
            K=K, F=F, C=C, count=s["params"]
        )
        if s["error"]:
            return _("⚠ does not fit: {error}. {params}").format(error=s["error"], params=params)
        return _("output {out} × {out} × {K}: {formula}; {params}").format(
            out=s["out"], K=K, formula=s["formula"], params=params
        )

    def draw(self, fig) -> None:
        """The padded input, shaded by how many windows cover each cell; window outlines."""
        from matplotlib.patches import Rectangle

        s = self.state()
        n, F, P = self.size.value, self.filter_size.value, self.pad.value
        padded = n + 2 * P
        cover = np.zeros((padded, padded))
        for top in s["positions"]:
            for left in s["positions"]:
                cover[top : top + F, left : left + F] += 1
        ax = fig.add_subplot(1, 1, 1)
        ax.imshow(cover, cmap="Blues", vmin=0, vmax=max(cover.max(), 1), origin="upper")
        # Padding cells hatched; cells no window reaches (when the size does not fit) in red.
        for i in range(padded):
            for j in range(padded):
                is_pad = not (P <= i < P + n and P <= j < P + n)
                if is_pad:
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//",
                                           edgecolor="0.6", linewidth=0))  # fmt: skip
                elif cover[i, j] == 0:
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, color="tab:red", alpha=0.6))
        if s["positions"]:
            first = s["positions"][0]
            ax.add_patch(Rectangle((first - 0.5, first - 0.5), F, F, fill=False,
                                   edgecolor="tab:orange", linewidth=2.5))  # fmt: skip
            for top in s["positions"]:
                for left in s["positions"]:
                    ax.plot(left, top, "o", color="tab:orange", markersize=3)
        ax.set_xticks(np.arange(-0.5, padded, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, padded, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.5)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        title = _("blue: windows covering each cell; dots: window corners; hatched: padding")
        if s["error"]:
            title += "\n" + _("red: pixels no window reaches if a framework floors the size")
        ax.set_title(title, fontsize=9)

    def render(self) -> None:
        """Redraw the picture and the summary for the current control values."""
        fig = _new_figure(5, 5.3)
        self.draw(fig)
        self.image.value = _png(fig)
        self.text.value = self.summary()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class FilterBrowser:
    """Pick a first-layer filter of a conv net; see it and its activation maps on images.

    Parameters
    ----------
    W1 : ndarray, shape (F, 3, HH, WW)
        First-layer filters (``model.params["W1"]``).
    b1 : ndarray, shape (F,)
    X : ndarray, shape (N, 3, H, W)
        Images as the network sees them (preprocessed).
    X_images : ndarray, shape (N, H, W, 3)
        The same images as pictures (uint8 or floats in [0, 255]).
    labels : sequence of str, length N, optional
        A caption per image (e.g. its class).
    pad : int, optional
        The conv layer's padding (default (HH - 1)/2, which keeps the size).
    """

    def __init__(self, W1, b1, X, X_images, labels: Sequence[str] | None = None, pad=None):
        import ipywidgets as widgets

        self.W1, self.b1 = np.asarray(W1), np.asarray(b1)
        X, self.X_images = np.asarray(X), np.asarray(X_images)
        F, C, HH, WW = self.W1.shape
        N = len(X)
        if X.ndim != 4 or X.shape[1] != C or self.X_images.shape[0] != N:
            raise ValueError(
                _(
                    "X must have shape (N, {C}, H, W) and X_images (N, H, W, 3) with the same N; "
                    "got {X_shape} and {images_shape}"
                ).format(C=C, X_shape=X.shape, images_shape=self.X_images.shape)
            )
        default_labels = [_("image {i}").format(i=i) for i in range(N)]
        self.labels = list(labels) if labels is not None else default_labels
        pad = (HH - 1) // 2 if pad is None else pad
        out, _cache = conv_forward_fast(X.astype(self.W1.dtype), self.W1, self.b1,
                                   {"stride": 1, "pad": pad})  # fmt: skip
        self.activations = np.maximum(out, 0)  # (N, F, H_out, W_out), after the ReLU
        self.filter = widgets.IntSlider(value=0, min=0, max=F - 1, description=_("filter"),
                                        continuous_update=False)  # fmt: skip
        options = [(f"{i}: {name}", i) for i, name in enumerate(self.labels)]
        self.images = widgets.SelectMultiple(options=options, value=tuple(range(min(N, 4))),
                                             description=_("images"), rows=min(N, 6))  # fmt: skip
        self.text = widgets.HTML()
        # Shown at its own pixel size: a box would otherwise stretch it to the full width.
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="auto"))
        for control in (self.filter, self.images):
            control.observe(lambda _change: self.render(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.filter, self.images]), self.text,
                                    self.image],
                                   layout=widgets.Layout(align_items="flex-start"))  # fmt: skip
        self.render()

    def summary(self) -> str:
        """One line: the filter, and which chosen image excites it most."""
        f = self.filter.value
        chosen = list(self.images.value)
        if not chosen:
            return _("filter {f}: choose at least one image").format(f=f)
        means = self.activations[chosen, f].mean(axis=(1, 2))  # (len(chosen),)
        best = chosen[int(np.argmax(means))]
        return _(
            "filter {f} of {count}: strongest mean activation {mean:.3g} on {image}; "
            "{active:.0%} of positions active"
        ).format(
            f=f,
            count=len(self.W1),
            mean=float(means.max()),
            image=self.labels[best],
            active=float(np.mean(self.activations[chosen, f] > 0)),
        )

    def draw(self, fig) -> None:
        """The filter as an RGB picture, then each chosen image above its activation map."""
        f = self.filter.value
        chosen = list(self.images.value)
        cols = 1 + max(len(chosen), 1)
        w = self.W1[f].transpose(1, 2, 0).astype(np.float64)  # (HH, WW, C)
        w = (w - w.min()) / max(float(w.max() - w.min()), 1e-12)
        ax = fig.add_subplot(2, cols, 1)
        ax.imshow(w if w.shape[2] == 3 else w[:, :, 0], interpolation="nearest", cmap="gray")
        ax.set_title(_("filter {f}").format(f=f), fontsize=9)
        ax.axis("off")
        vmax = float(self.activations[chosen, f].max()) if chosen else 1.0
        for k, i in enumerate(chosen):
            ax = fig.add_subplot(2, cols, 2 + k)
            ax.imshow(self.X_images[i].astype(np.uint8))
            ax.set_title(self.labels[i], fontsize=9)
            ax.axis("off")
            ax = fig.add_subplot(2, cols, cols + 2 + k)
            ax.imshow(self.activations[i, f], cmap="gray", vmin=0, vmax=max(vmax, 1e-12))
            ax.set_title(_("activation"), fontsize=8)
            ax.axis("off")

    def render(self) -> None:
        """Redraw the picture and the summary for the current control values."""
        fig = _new_figure(2.0 * (1 + max(len(self.images.value), 1)), 4.2)
        self.draw(fig)
        self.image.value = _png(fig)
        self.text.value = self.summary()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
