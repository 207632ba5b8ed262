"""What a student does with a notebook, step by step: open it, Run All, look, use the widgets.

Leaves artifacts/browser/<name>.png (the whole notebook after Run All),
<name>-widget-cell<i>.png (each widget after it was used) and <name>.txt (what was found).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from .findings import Findings, analyse_kernel_side, analyse_run, judge_stderr
from .notebook_page import NotebookPage, StoredCell

RUN_TIMEOUT = float(os.environ.get("CS231N_BROWSER_TIMEOUT", "300"))  # seconds per Run All
MAX_BUTTONS = 4  # buttons clicked per widget view


@dataclass
class StudentRun:
    notebook: NotebookPage
    findings: Findings
    cells: list[dict]
    seconds_run_all: float
    widget_actions: list[str]


def run_like_a_student(
    session,
    path: str,
    name: str,
    artifacts: Path,
    stored: list[StoredCell] | None = None,
    use_widgets: bool = True,
) -> StudentRun:
    nb = session.window.notebook(path, name)
    session.show_trouble.append(nb.show_trouble)
    session.evidence.append(nb.error_texts)
    session.evidence.append(lambda: "--- server log since the test began ---\n" + nb.new_log())
    findings = Findings(name)

    clock = time.monotonic()
    timings = {}

    def lap(phase: str) -> None:
        nonlocal clock
        timings[phase] = time.monotonic() - clock
        clock = time.monotonic()

    nb.open()
    lap("open + kernel start")
    seconds = nb.run_all(RUN_TIMEOUT)
    lap("Run All")
    cells = nb.collect()
    nb.screenshot_notebook(artifacts / f"{name}.png")
    analyse_run(findings, cells, stored)
    lap("inspect + screenshot")

    actions = use_notebook_widgets(nb, cells, findings, artifacts) if use_widgets else []
    lap("use widgets")
    if actions:
        # An error a widget callback printed into its output widget.
        seen = {t for c in cells for d in c.get("dom", []) for t in d["nested_stderr"]}
        for cell in nb.collect():
            for dom in cell.get("dom", []):
                for text in set(dom["nested_stderr"]) - seen:
                    judge_stderr(findings, cell, text, inside="a widget's output, after use")
    analyse_kernel_side(findings, nb.kernel.errors, nb.new_log())

    console = [line for line in session.window.console if line.startswith(("error", "pageerror"))]
    if console:
        findings.note(None, "the browser console logged errors:\n    " + "\n    ".join(console))
    nb.close()
    (artifacts / f"{name}.txt").write_text(
        findings.report()
        + "\n\nseconds: "
        + ", ".join(f"{phase} {t:.1f}" for phase, t in timings.items())
        + "\nwidget actions:\n  "
        + "\n  ".join(actions or ["(none)"])
        + "\n",
        encoding="utf-8",
    )
    return StudentRun(nb, findings, cells, seconds, actions)


def use_notebook_widgets(
    nb: NotebookPage, cells: list[dict], findings: Findings, artifacts: Path
) -> list[str]:
    """Use each widget as a student would and require that it answers.

    Per widget view, the first slider (moved one step), the first dropdown (next item) and
    the first row of toggle buttons (another choice) must each change what the widget shows;
    of its buttons, clicked in order, at least one must. One control of each kind keeps the
    time down where every change retrains a model. Each used widget is screenshot."""
    actions = []
    nb.fit_viewport_to_notebook()  # every control on screen
    for cell in cells:
        if cell["type"] != "code" or not any(d["widget"] for d in cell["dom"]):
            continue
        views = nb.widget_views(cell["index"])
        for v in range(views.count()):
            view = views.nth(v)
            chosen = [
                view.locator(kind).first
                for kind in (".widget-slider", ".widget-dropdown", ".widget-toggle-buttons")
                if view.locator(kind).count()
            ]
            buttons = view.locator(".widget-button")
            chosen += [buttons.nth(b) for b in range(min(buttons.count(), MAX_BUTTONS))]
            button_changes = []
            for control in chosen:
                before = nb.widget_result(view)
                start = time.monotonic()
                action = nb.use_control(control)
                if not action:
                    continue
                changed = nb.widget_result_after_use(view, before) is not None
                took = time.monotonic() - start
                actions.append(
                    f"cell {cell['index']} widget {v}: {action}: "
                    + (f"output changed ({took:.2f} s)" if changed else "NO CHANGE")
                )
                if action.startswith("button"):
                    button_changes.append(changed)
                elif not changed:
                    findings.problem(
                        cell,
                        f"widget {v}: {action}, but what the widget shows did not change"
                        + ("" if before else " (it has no output area, image or HTML)"),
                    )
            if button_changes and not any(button_changes):
                findings.problem(cell, f"widget {v}: none of its buttons changed what it shows")
            if actions and actions[-1].startswith(f"cell {cell['index']} widget {v}:"):
                nb.cell_screenshot(
                    cell["index"], artifacts / f"{nb.name}-widget-cell{cell['index']}.png"
                )
    return actions
