"""Judge what the browser showed after Run All: errors, widgets, figures.

Problems fail the test; notes (a warning, text on stderr) are reported but do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lab import iter_lab_log_tracebacks
from .notebook_page import WIDGET_MIME, StoredCell

FIGURE_REPR = re.compile(r"<Figure size [\d.]+x[\d.]+ with \d+ Axes>")
WARNING_LINE = re.compile(r"\b\w*Warning\b:")
# The value of a last line like plt.title(...) or ax.axis(...): noise a student sees.
MATPLOTLIB_REPR = re.compile(r"^\s*(\[?<matplotlib\.|Text\(-?[\d.]+, -?[\d.]+, |\(np\.float64\()")


@dataclass
class Findings:
    name: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, cell: dict | None, text: str) -> None:
        self.problems.append(f"{_where(cell)}{text}")

    def note(self, cell: dict | None, text: str) -> None:
        self.notes.append(f"{_where(cell)}{text}")

    def report(self) -> str:
        lines = [f"{self.name}: {len(self.problems)} problem(s), {len(self.notes)} note(s)"]
        lines += [f"PROBLEM {p}" for p in self.problems]
        lines += [f"NOTE {n}" for n in self.notes]
        return "\n".join(lines)


def _where(cell: dict | None) -> str:
    if cell is None:
        return ""
    return f"cell {cell['index']} (id {cell['id']!r}: {cell['first_line']!r}): "


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n    ".join(kept[-lines:])


def analyse_run(
    findings: Findings, cells: list[dict], stored: list[StoredCell] | None = None
) -> None:
    """Check every cell's outputs as the browser shows them."""
    if stored is not None and len(stored) != len(cells):
        findings.problem(None, f"the browser shows {len(cells)} cells, the file has {len(stored)}")
        stored = None
    first_error: int | None = None
    not_run = []
    for cell in cells:
        if cell["type"] != "code":
            continue
        if not re.search(r"\d", cell["prompt"]):
            if cell["first_line"].strip():
                not_run.append(cell["index"])
            continue
        if len(cell["outputs"]) != len(cell["dom"]):
            findings.problem(
                cell,
                f"the kernel sent {len(cell['outputs'])} outputs, the page shows "
                f"{len(cell['dom'])}",
            )
            continue
        for out, dom in zip(cell["outputs"], cell["dom"], strict=True):
            if out["output_type"] == "error":
                first_error = cell["index"] if first_error is None else first_error
                findings.problem(
                    cell,
                    f"{out['ename']}: {out['evalue']}\n  the page shows:\n    {_tail(dom['text'])}",
                )
            elif out["output_type"] == "stream" and out["name"] == "stderr":
                judge_stderr(findings, cell, dom["text"])
            elif out["output_type"] == "execute_result" and MATPLOTLIB_REPR.match(dom["text"]):
                findings.note(
                    cell,
                    f"shows the stray value {dom['text'].strip()[:60]!r} of a plotting call "
                    "(end the cell's last line with ';' or call plt.show())",
                )
            if WIDGET_MIME in out["mimes"]:
                _judge_widget_view(findings, cell, dom)
            if "image/png" in out["mimes"] and not any(
                i["png"] and i["decoded"] for i in dom["images"]
            ):
                findings.problem(cell, "a figure (image/png output) is not shown as an image")
            for text in dom["nested_stderr"]:
                judge_stderr(findings, cell, text, inside="a widget's output")
        shows_image = any(i["decoded"] for d in cell["dom"] for i in d["images"])
        texts = " ".join(d["text"] for d in cell["dom"])
        if FIGURE_REPR.search(texts) and not shows_image:
            findings.problem(
                cell,
                f"a figure is shown only as the text {FIGURE_REPR.search(texts).group(0)!r}"
                " (no image; matplotlib backend not inline?)",
            )
        if stored is not None:
            _compare_with_stored(findings, cell, stored[cell["index"]], shows_image)
    if not_run:
        if first_error is None:
            findings.problem(None, f"cells {not_run} did not run (no error was shown)")
        else:
            findings.note(
                None, f"cells {not_run} did not run after the error in cell {first_error}"
            )


def judge_stderr(findings: Findings, cell: dict, text: str, inside: str = "") -> None:
    where = f" in {inside}" if inside else ""
    if "Traceback (most recent call last)" in text or re.search(r"^\w+Error\b", text, re.M):
        findings.problem(cell, f"an error is shown{where}:\n    {_tail(text, 10)}")
    elif WARNING_LINE.search(text):
        findings.note(cell, f"a warning is shown{where}: {_tail(text, 3)}")
    else:
        findings.note(cell, f"text on stderr{where}: {_tail(text, 3)}")


def _judge_widget_view(findings: Findings, cell: dict, dom: dict) -> None:
    text = dom["text"]
    if "Error displaying widget" in text:
        findings.problem(cell, f"JupyterLab shows {_tail(text, 2)!r} instead of a widget")
    elif "Loading widget..." in text:
        findings.problem(cell, "a widget still shows 'Loading widget...'")
    elif not dom["widget"]:
        findings.problem(
            cell,
            f"a widget is shown as text only (widget extension not loaded?): {_tail(text, 2)!r}",
        )


def _compare_with_stored(findings: Findings, cell: dict, stored: StoredCell, shows_image: bool):
    """The fresh run in the browser must show what the stored run showed."""
    if any(o["output_type"] == "error" for o in cell["outputs"]):
        return  # already reported
    if stored.has_png and not shows_image:
        findings.problem(cell, "the stored notebook shows a figure here; the browser shows none")
    views = [d for d in cell["dom"] if d["widget"]]
    if len(views) < len(stored.widget_controls):
        findings.problem(
            cell,
            f"the stored notebook shows {len(stored.widget_controls)} widget(s) here; the "
            f"browser renders {len(views)}",
        )
        return
    for k, (expected, view) in enumerate(zip(stored.widget_controls, views, strict=False)):
        for cls, n in sorted(expected.items()):
            if view["controls"].get(cls, 0) < n:
                findings.problem(
                    cell,
                    f"widget {k}: the stored widget state has {n} .{cls}, the browser shows "
                    f"{view['controls'].get(cls, 0)}",
                )


def analyse_kernel_side(findings: Findings, kernel_errors: list[dict], log_text: str) -> None:
    """Errors no cell displays: raised in widget callbacks (comm messages) or logged by the
    kernel to the server log."""
    for err in kernel_errors:
        if err["parent"] != "execute_request":
            findings.problem(
                None,
                f"the kernel reported {err['ename']}: {err['evalue']} while handling a "
                f"{err['parent']} (a widget callback?):\n    {_tail(err['traceback'], 8)}",
            )
    for tb in iter_lab_log_tracebacks(log_text):
        findings.problem(None, f"traceback in the kernel/server log:\n    {_tail(tb, 12)}")
