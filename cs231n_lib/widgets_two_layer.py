"""A computational-graph stepper for notebook 04: backpropagation one node at a time.

The graph is the lecture's 2×2 affine example, written out in scalars::

    [x1 x2] @ [[w11, w21],     = [y1 y2],   h = act(y),   L = a*h1 + b*h2
               [w12, w22]]

:class:`AffineGraph` computes the forward values node by node (inputs first) and then the
gradients dL/d(node) in reverse order, recording every step with a one-line explanation of the
local rule it used (a sum passes the gradient on; a product swaps its inputs; relu lets it
through or blocks it; sigmoid scales it by s(1-s)). :class:`GraphStepper` shows those steps
with ◀ / ▶ buttons and an activation menu. Its :meth:`~GraphStepper.summary` is the same
state as one line of text, for tests and screen readers.

At the last step the scalar gradients are the entries of dL/dW = Xᵀ·dL/dY and
dL/dX = dL/dY·Wᵀ (:meth:`AffineGraph.matrix_gradients`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from cs231n_lib.i18n import _

ACTIVATIONS = ("none", "relu", "sigmoid")


@dataclass(frozen=True)
class Node:
    """One scalar in the graph: ``op`` applied to ``parents`` (names of earlier nodes)."""

    name: str
    op: str  # "input", "mul", "add", "relu", "sigmoid", "lin"
    parents: tuple[str, ...] = ()
    coeffs: tuple[float, ...] = ()  # for "lin": value = sum(coeffs * parents)


@dataclass(frozen=True)
class Step:
    phase: str  # "forward" or "backward"
    node: str
    number: float
    text: str


def _d(name: str) -> str:
    """'dL/dy1', or 'dL/d(x1·w11)' for a compound name."""
    return f"dL/d({name})" if "·" in name else f"dL/d{name}"


class AffineGraph:
    """The lecture's 2×2 affine example as a scalar graph, with every step recorded.

    Parameters
    ----------
    x : array_like, shape (2,)
        The input row [x1, x2].
    W : array_like, shape (2, 2)
        ``[[w11, w21], [w12, w22]]`` (the lecture's layout: column j makes y_j).
    a, b : float
        The loss is L = a*h1 + b*h2, so dL/dh = [a, b].
    activation : {"none", "relu", "sigmoid"}
        The function between y and h.
    """

    def __init__(self, x=(1.0, 2.0), W=((0.5, 1.0), (-1.0, 0.25)), a=1.0, b=2.0, activation="none"):
        if activation not in ACTIVATIONS:
            raise ValueError(
                _("activation must be one of {choices}, got {activation!r}").format(
                    choices=ACTIVATIONS, activation=activation
                )
            )
        self.x = np.asarray(x, dtype=np.float64).reshape(2)  # (2,)
        self.W = np.asarray(W, dtype=np.float64).reshape(2, 2)  # (2, 2)
        self.a, self.b, self.activation = float(a), float(b), activation
        (w11, w21), (w12, w22) = self.W
        inputs = {"x1": self.x[0], "x2": self.x[1], "w11": w11, "w12": w12, "w21": w21, "w22": w22}
        nodes = [Node(name, "input") for name in inputs]
        nodes += [
            Node("x1·w11", "mul", ("x1", "w11")),
            Node("x2·w12", "mul", ("x2", "w12")),
            Node("x1·w21", "mul", ("x1", "w21")),
            Node("x2·w22", "mul", ("x2", "w22")),
            Node("y1", "add", ("x1·w11", "x2·w12")),
            Node("y2", "add", ("x1·w21", "x2·w22")),
        ]
        top = ("y1", "y2")
        if activation != "none":
            nodes += [Node("h1", activation, ("y1",)), Node("h2", activation, ("y2",))]
            top = ("h1", "h2")
        nodes.append(Node("L", "lin", top, (self.a, self.b)))
        self.nodes = nodes
        self.values: dict[str, float] = {k: float(v) for k, v in inputs.items()}
        self.grads: dict[str, float] = {}
        self.steps: list[Step] = []
        self._forward()
        self._backward()

    def _forward(self) -> None:
        v = self.values
        for node in self.nodes:
            p = [v[name] for name in node.parents]
            if node.op == "input":
                continue
            if node.op == "mul":
                v[node.name] = p[0] * p[1]
                text = f"{node.name} = {p[0]:g} × {p[1]:g} = {v[node.name]:g}"
            elif node.op == "add":
                v[node.name] = p[0] + p[1]
                text = f"{node.name} = {p[0]:g} + {p[1]:g} = {v[node.name]:g}"
            elif node.op == "relu":
                v[node.name] = max(0.0, p[0])
                text = f"{node.name} = max(0, {p[0]:g}) = {v[node.name]:g}"
            elif node.op == "sigmoid":
                v[node.name] = 1.0 / (1.0 + np.exp(-p[0]))
                text = f"{node.name} = σ({p[0]:g}) = {v[node.name]:.4g}"
            else:  # lin
                v[node.name] = float(np.dot(node.coeffs, p))
                terms = " + ".join(
                    f"{c:g}·{q}" for c, q in zip(node.coeffs, node.parents, strict=True)
                )
                text = f"L = {terms} = {v[node.name]:.4g}"
            self.steps.append(Step("forward", node.name, v[node.name], text))

    def _backward(self) -> None:
        g = self.grads
        g["L"] = 1.0
        start = _("dL/dL = 1: backprop starts at the loss")
        self.steps.append(Step("backward", "L", 1.0, start))
        # Each node's gradient is the sum over its children of child-gradient × local gradient.
        children: dict[str, list[Node]] = {n.name: [] for n in self.nodes}
        for node in self.nodes:
            for parent in node.parents:
                children[parent].append(node)
        for node in reversed(self.nodes[:-1]):
            total, terms = 0.0, []
            for child in children[node.name]:
                local, rule = self._local(child, node.name)
                total += g[child.name] * local
                terms.append((child.name, local, rule))
            g[node.name] = total
            parts = " + ".join(f"{_d(c)}·{rule}" for c, _, rule in terms)
            nums = " + ".join(f"{g[c]:.4g}·{local:.4g}" for c, local, _ in terms)
            text = f"{_d(node.name)} = {parts} = {nums} = {total:.4g}"
            self.steps.append(Step("backward", node.name, total, text))

    def _local(self, child: Node, parent: str) -> tuple[float, str]:
        """d(child)/d(parent) and how to say it."""
        v = self.values
        if child.op == "add":
            return 1.0, "1"
        if child.op == "mul":
            other = child.parents[1] if child.parents[0] == parent else child.parents[0]
            return v[other], other
        if child.op == "relu":
            return (1.0 if v[parent] > 0 else 0.0), f"[{parent} > 0]"
        if child.op == "sigmoid":
            s = v[child.name]
            return s * (1 - s), f"{child.name}(1-{child.name})"
        coeff = child.coeffs[child.parents.index(parent)]
        return coeff, f"{coeff:g}"

    def matrix_gradients(self) -> dict[str, np.ndarray]:
        """The scalar gradients arranged as matrices, with the matrix formulas beside them.

        Returns
        -------
        dict
            ``dY`` (1, 2), ``dW`` (2, 2) and ``dX`` (1, 2) from the graph, and
            ``XT_dY`` = Xᵀ·dY (2, 2) and ``dY_WT`` = dY·Wᵀ (1, 2) computed as matrices.
        """
        g = self.grads
        dY = np.array([[g["y1"], g["y2"]]])  # (1, 2)
        dW = np.array([[g["w11"], g["w21"]], [g["w12"], g["w22"]]])  # (2, 2), W's layout
        dX = np.array([[g["x1"], g["x2"]]])  # (1, 2)
        X = self.x[None, :]  # (1, 2)
        return {"dY": dY, "dW": dW, "dX": dX, "XT_dY": X.T @ dY, "dY_WT": dY @ self.W.T}


class GraphStepper:
    """ipywidgets stepper over :class:`AffineGraph`: ◀ / ▶ / reset and an activation menu.

    Parameters
    ----------
    **graph_kwargs
        Passed to :class:`AffineGraph` (``x``, ``W``, ``a``, ``b``, ``activation``).
    """

    def __init__(self, **graph_kwargs):
        import ipywidgets as w

        self._kwargs = dict(graph_kwargs)
        self.graph = AffineGraph(**self._kwargs)
        self.position = 0  # number of steps shown
        self.back_button = w.Button(description=_("◀ back"), layout=w.Layout(width="90px"))
        self.next_button = w.Button(description=_("next ▶"), layout=w.Layout(width="90px"))
        self.reset_button = w.Button(description=_("reset"), layout=w.Layout(width="70px"))
        self.activation = w.Dropdown(
            options=ACTIVATIONS, value=self.graph.activation, description=_("activation")
        )
        self.table = w.HTML()
        self.back_button.on_click(lambda _: self.back())
        self.next_button.on_click(lambda _: self.next())
        self.reset_button.on_click(lambda _: self.reset())
        self.activation.observe(self._on_activation, names="value")
        controls = w.HBox([self.back_button, self.next_button, self.reset_button, self.activation])
        self.widget = w.VBox([controls, self.table])
        self._render()

    def _on_activation(self, change) -> None:
        self._kwargs["activation"] = change["new"]
        self.graph = AffineGraph(**self._kwargs)
        self.position = 0
        self._render()

    def next(self) -> None:
        """Show one more step (no-op at the end)."""
        self.position = min(self.position + 1, len(self.graph.steps))
        self._render()

    def back(self) -> None:
        """Hide the last step shown (no-op at the start)."""
        self.position = max(self.position - 1, 0)
        self._render()

    def reset(self) -> None:
        self.position = 0
        self._render()

    def summary(self) -> str:
        """The current state in one line: step number and what it computed."""
        total = len(self.graph.steps)
        if self.position == 0:
            return _("step 0 / {total}: inputs known; press next ▶ to run the forward pass").format(
                total=total
            )
        step = self.graph.steps[self.position - 1]
        phase = _("forward") if step.phase == "forward" else _("backward")
        return _("step {n} / {total} ({phase}): {text}").format(
            n=self.position, total=total, phase=phase, text=step.text
        )

    def _render(self) -> None:
        shown = self.graph.steps[: self.position]
        values = {s.node: s.number for s in shown if s.phase == "forward"}
        values.update(
            {n.name: self.graph.values[n.name] for n in self.graph.nodes if n.op == "input"}
        )
        grads = {s.node: s.number for s in shown if s.phase == "backward"}
        current = shown[-1].node if shown else None
        rows = []
        for node in self.graph.nodes:
            style = ' style="background:#fff3b0"' if node.name == current else ""
            value = f"{values[node.name]:.4g}" if node.name in values else "?"
            grad = f"{grads[node.name]:.4g}" if node.name in grads else ""
            rows.append(
                f"<tr{style}><td>{html.escape(node.name)}</td><td>{node.op}</td>"
                f"<td style='text-align:right'>{value}</td>"
                f"<td style='text-align:right'>{grad}</td></tr>"
            )
        note = ""
        if self.position == len(self.graph.steps):
            m = self.graph.matrix_gradients()
            arranged = _("Arranged as matrices:")
            note = (
                f"<p>{arranged} dL/dW = {np.round(m['dW'], 4).tolist()} "
                f"= Xᵀ·dL/dY = {np.round(m['XT_dY'], 4).tolist()}; dL/dX = "
                f"{np.round(m['dX'], 4).tolist()} = dL/dY·Wᵀ = "
                f"{np.round(m['dY_WT'], 4).tolist()}</p>"
            )
        headers = [_("node"), _("op"), _("forward value"), "dL/d(node)"]
        self.table.value = (
            f"<p><b>{html.escape(self.summary())}</b></p><table><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            + "</tr>"
            + "".join(rows)
            + f"</table>{note}"
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
