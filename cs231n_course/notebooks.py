"""Execute notebooks in a real kernel and store their outputs (the references nbval compares).

Stored outputs are never edited by hand: ``python -m cs231n_course execute NOTEBOOK...``
runs each notebook top to bottom in fast mode (``CS231N_FAST=1``) with the working directory
set to the notebook's folder, and writes it back only if every cell ran; a failing cell leaves
the file untouched and names the cell.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cs231n_course.release import read_notebook
from cs231n_lib.atomic import write_atomic


def execute_notebook(path: Path, *, fast: bool = True, timeout: int = 600) -> float:
    """Run ``path`` in a fresh kernel, store the outputs in place, return the seconds taken."""
    path = Path(path).resolve()
    nb = read_notebook(path)
    env_before = os.environ.get("CS231N_FAST")
    os.environ["CS231N_FAST"] = "1" if fast else "0"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    start = time.perf_counter()
    try:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    except CellExecutionError as err:
        raise RuntimeError(
            f"{path.name}: a cell failed, the notebook was not saved:\n{err}"
        ) from err
    finally:
        if env_before is None:
            os.environ.pop("CS231N_FAST", None)
        else:
            os.environ["CS231N_FAST"] = env_before
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps would make every run a diff
    write_notebook_atomic(nb, path)
    return elapsed


def write_notebook_atomic(nb: nbformat.NotebookNode, path: Path) -> None:
    """Validate and write a notebook via a temporary file, so a crash never truncates it."""
    nbformat.validate(nb)
    write_atomic(path, nbformat.writes(nb) + "\n")
