"""Full mode, as a student runs it: every notebook on the full data, in a real kernel.

Outside the default suite (it takes most of an hour on two cores): it runs only when
``CS231N_FULL_NOTEBOOKS=1`` is set, for example

    CS231N_FULL_NOTEBOOKS=1 .venv/bin/python -m pytest tests/test_notebooks_full.py -n 0 -s

Each notebook is executed in a temporary copy (the stored fast-mode outputs are left alone) and
must run without an error; the goals the notebooks state must be what their own cells print:

- 02: the search's best validation accuracy >= 0.39; 03: >= 0.40; 04: the tuned net's
  validation accuracy >= 0.52 (the course's goals; CS231n's notebooks state the same bars);
- 05: the fast layers equal the naive ones at N = 100 (no false alarm);
- the wall time is within the notebook's budget in ``RUN_TIME_BUDGET_MIN``, the figure the
  README's "Run time" table states.

Per-cell times are printed and written to ``$CS231N_FULL_REPORT`` (default:
``artifacts/full-mode-times.json``), so the README's table can be refreshed from a real run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# Upper bounds, in minutes, for a full run on two busy cores: what the README states.
RUN_TIME_BUDGET_MIN = {
    "01_knn": 15,
    "02_svm": 25,
    "03_softmax": 15,
    "04_two_layer_net": 30,
    "05_fully_connected_nets": 10,  # the budget for the new notebook
    "06_conv_net": 15,  # the goal; 3.9 min measured at load 1.9 (2026-12-01)
}
GOALS = {  # notebook -> (cell id, regular expression for the printed accuracy, goal)
    "02_svm": ("svm_tuning", r"best validation accuracy: (\d\.\d+)", 0.39),
    "03_softmax": ("softmax_tuning", r"best validation accuracy: (\d\.\d+)", 0.40),
    "04_two_layer_net": ("test-accuracy", r"validation accuracy: (\d\.\d+)", 0.52),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2 * 3600),  # the suite's 15-minute limit is for ordinary tests
    pytest.mark.skipif(
        os.environ.get("CS231N_FULL_NOTEBOOKS") != "1",
        reason="full-mode notebook runs take most of an hour; set CS231N_FULL_NOTEBOOKS=1",
    ),
]


def _outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            parts.append(output["text"])
        elif output.get("output_type") == "execute_result":
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)


def _seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def run_full(path: Path, workdir: Path) -> tuple[nbformat.NotebookNode, float]:
    """Execute a copy of ``path`` in full mode; return the executed notebook and seconds."""
    shutil.copytree(REPO / "notebooks", workdir, dirs_exist_ok=True)
    nb = nbformat.read(str(path), as_version=4)
    env = {"CS231N_FAST": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    start = time.perf_counter()
    try:
        NotebookClient(
            nb, timeout=3600, kernel_name="python3", record_timing=True,
            resources={"metadata": {"path": str(workdir)}},
        ).execute()  # fmt: skip
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return nb, time.perf_counter() - start


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_in_full_mode(path, tmp_path):
    nb, seconds = run_full(path, tmp_path / "notebooks")
    name = path.stem
    cells = [(c.get("id"), _seconds(c)) for c in nb.cells if c.cell_type == "code"]
    long_cells = sorted(((s, i) for i, s in cells if s >= 30), reverse=True)
    load = os.getloadavg()[0]
    print(f"\n{name}: {seconds / 60:.1f} min in full mode (load average {load:.1f}); long cells: "
          + ", ".join(f"{i} {s / 60:.1f} min" for s, i in long_cells))  # fmt: skip
    report = Path(os.environ.get("CS231N_FULL_REPORT", REPO / "artifacts/full-mode-times.json"))
    report.parent.mkdir(parents=True, exist_ok=True)
    table = json.loads(report.read_text()) if report.exists() else {}
    table[name] = {
        "minutes": round(seconds / 60, 1), "load_average": round(load, 1),
        "cells_min": {i: round(s / 60, 2) for i, s in cells if s >= 10},
        "outputs": {c.get("id"): _outputs_text(c)[-2000:] for c in nb.cells
                    if c.cell_type == "code" and c.get("id") in {g[0] for g in GOALS.values()}},
    }  # fmt: skip
    report.write_text(json.dumps(table, indent=1))

    for cell in nb.cells:
        text = _outputs_text(cell)
        assert "fast == naive: False" not in text, f"{name} ({cell.get('id')}): {text}"
    if name in GOALS:
        cell_id, pattern, goal = GOALS[name]
        cell = next(c for c in nb.cells if c.get("id") == cell_id)
        found = re.findall(pattern, _outputs_text(cell))
        assert found, f"{name}: {cell_id} printed no accuracy: {_outputs_text(cell)!r}"
        assert float(found[-1]) >= goal, f"{name}: {cell_id} printed {found[-1]}, goal {goal}"
    budget = RUN_TIME_BUDGET_MIN[name]
    assert seconds <= 60 * budget, (
        f"{name} took {seconds / 60:.1f} min in full mode, over the {budget} min the README states"
    )
