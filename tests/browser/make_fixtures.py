"""Write the browser tests' own fixture notebooks (run by hand after changing them).

    .venv/bin/python tests/browser/make_fixtures.py

``fixture_widgets.ipynb`` holds one of everything the course notebooks show (text, a warning,
a figure, an ``interact`` with a slider and a dropdown, an explorer built from observed
widgets) and is executed here, so it carries stored outputs and widget state like a course
notebook. ``fixture_broken.ipynb`` holds what the browser test must catch (a figure shown as
text only, a widget callback that raises, an error) and has no stored outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

SETUP = """\
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

%matplotlib inline
plt.rcParams["figure.figsize"] = (5.0, 3.0)
print("fixture ready")"""

WARNING = """\
import warnings

warnings.warn("a warning is not an error", stacklevel=1)"""

FIGURE = """\
x = np.linspace(0, 2 * np.pi, 50)
plt.plot(x, np.sin(x))
plt.title("a figure")
plt.show()"""

INTERACT = """\
def draw(frequency=1, kind="sin"):
    f = np.sin if kind == "sin" else np.cos
    plt.plot(x, f(frequency * x))
    plt.title(f"{kind}({frequency} x)")
    plt.show()


widgets.interact(
    draw,
    frequency=widgets.IntSlider(value=1, min=1, max=5, continuous_update=False),
    kind=["sin", "cos"],
);"""

EXPLORER = """\
class Explorer:
    \"\"\"Like the course's explorers: observed controls redraw an Output widget.\"\"\"

    def __init__(self):
        self.step = widgets.IntSlider(value=2, min=1, max=8, description="step")
        self.cmap = widgets.ToggleButtons(options=["viridis", "gray"], description="colours")
        self.more = widgets.Button(description="step + 1")
        self.output = widgets.Output()
        self.step.observe(lambda change: self.render(), names="value")
        self.cmap.observe(lambda change: self.render(), names="value")
        self.more.on_click(lambda button: setattr(self.step, "value", self.step.value + 1))
        self.widget = widgets.VBox([self.step, self.cmap, self.more, self.output])
        self.render()

    def render(self):
        with self.output:
            self.output.clear_output(wait=True)
            plt.imshow(np.arange(64).reshape(8, 8) % self.step.value, cmap=self.cmap.value)
            plt.title(f"step {self.step.value}")
            plt.show()

    def _ipython_display_(self):
        display(self.widget)


Explorer()"""

BROKEN_SETUP = """\
import ipywidgets as widgets
import matplotlib.pyplot as plt

print("broken fixture")"""

# A plotting helper that draws nowhere: the figure shows as "<Figure size ... with 0 Axes>".
BROKEN_FIGURE = """\
%matplotlib inline
fig = plt.figure(figsize=(4, 3))
fig"""

BROKEN_WIDGET = """\
slider = widgets.IntSlider(value=1, min=1, max=5, description="raises")
output = widgets.Output()


def on_change(change):
    with output:
        output.clear_output(wait=True)
        print("value", change["new"])
    raise KeyError("deliberate error in a widget callback")


slider.observe(on_change, names="value")
widgets.VBox([slider, output])"""

BROKEN_ERROR = 'raise ValueError("deliberate error in a cell")'


def notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Browser test fixture", id="title")]
    nb.cells += [nbformat.v4.new_code_cell(src, id=cell_id) for cell_id, src in cells]
    return nb


def main() -> None:
    good = notebook(
        [
            ("setup", SETUP),
            ("warning", WARNING),
            ("figure", FIGURE),
            ("interact", INTERACT),
            ("explorer", EXPLORER),
        ]
    )
    NotebookClient(good, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    nbformat.write(good, HERE / "fixture_widgets.ipynb")

    broken = notebook(
        [
            ("setup", BROKEN_SETUP),
            ("figure-as-text", BROKEN_FIGURE),
            ("widget-callback-raises", BROKEN_WIDGET),
            ("error", BROKEN_ERROR),
            ("never-runs", 'print("not reached")'),
        ]
    )
    nbformat.write(broken, HERE / "fixture_broken.ipynb")


if __name__ == "__main__":
    main()
