"""The reference outputs submissions are compared with: the solution run like a submission.

:func:`reference_templates` runs the instructor's solution through exactly the pipeline a
submission goes through (solution regions spliced into the release, the same sandbox, nbval
with the same grading seed) and stores each cell's outputs into a copy of the release notebook:
the *template* every submission's notebook is built from. Templates are cached by the batch's
context key (release content, seed, settings), so one batch (or a resumed one) computes them
once. They live in the grader's private folder, never inside a sandbox.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import nbformat

from cs231n_course.grader.course import solution_region_set
from cs231n_course.grader.nbval_pass import prepare_workspace, run_pass
from cs231n_course.grader.types import Course, GradingError, Runtime
from cs231n_course.grader.workspace import assemble_notebook, code_cells
from cs231n_course.release import read_notebook
from cs231n_lib.atomic import atomic_directory


def reference_templates(
    rt: Runtime, course: Course, folder: Path, work: Path, *, slot: int = 0
) -> dict[str, nbformat.NotebookNode]:
    """Reference templates for this seed and settings: cached, or computed now on worker
    ``slot`` (its sandbox uid and a workspace of its own)."""
    if folder.exists():
        return load_templates(folder, course)
    ws = work / f"reference-slot{slot}"
    regions = solution_region_set(course)
    prepare_workspace(ws, course, regions)
    for name in course.notebooks:
        template = bare_template(course, name)
        nb, _, notes = assemble_notebook(template, name, regions.nb.get(name, {}))
        if notes:
            raise GradingError(f"the solution's own regions are refused: {notes}")
        (ws / "grading" / "notebooks" / name).write_text(nbformat.writes(nb), encoding="utf-8")
    events, _ = run_pass(rt, ws, slot, course.notebooks, "reference", record=True)
    outputs: dict[str, dict[int, list]] = {}
    ends = [e for e in events if e.get("event") == "end"]
    for event in ends:
        if event["outcome"] == "failed":
            raise GradingError(
                f"the reference solution fails in {event['nb']} cell {event['cell_num']} "
                f"({event.get('cell_id')}): {event.get('message', '')[:1500]}\n(logs in "
                f"{ws / 'grading'}); fix the solution or the notebook before grading"
            )
        outputs.setdefault(event["nb"], {})[event["cell_num"]] = event.get("outputs", [])
    ran = {e["nb"] for e in ends}
    if not any(e.get("event") == "finished" for e in events) or ran != set(course.notebooks):
        raise GradingError(
            f"the reference run did not complete (logs in {ws / 'grading'}); notebooks run: "
            f"{sorted(ran)} of {course.notebooks}"
        )
    store_templates(course, outputs, folder, exports=ws / "grading" / "export")
    shutil.rmtree(ws, ignore_errors=True)
    return load_templates(folder, course)


def bare_template(course: Course, name: str) -> nbformat.NotebookNode:
    """The release notebook as the reference run executes it (no outputs: nothing compared)."""
    return read_notebook(course.release_root / "notebooks" / name)


def store_templates(
    course: Course,
    outputs: dict[str, dict[int, list[dict]]],
    dest: Path,
    exports: Path | None = None,
) -> None:
    """Write each release notebook with the reference run's outputs, atomically as a folder.

    Every code cell gets an execution count, so nbval compares every cell (a cell without one
    counts as "not run" and would be compared with nothing).
    """
    with atomic_directory(dest) as tmp:
        for name in course.notebooks:
            nb = bare_template(course, name)
            recorded = outputs.get(name, {})
            for num, cell in enumerate(code_cells(nb)):
                cell.execution_count = num + 1
                cell.outputs = [_as_output(o) for o in recorded.get(num, [])]
            nbformat.validate(nb)
            (tmp / name).write_text(nbformat.writes(nb), encoding="utf-8")
        if exports is not None and exports.is_dir():  # tuning checks' validation splits
            shutil.copytree(exports, tmp / "exports")
        (tmp / "course.json").write_text(
            json.dumps([asdict(g) for g in course.graded], indent=1), encoding="utf-8"
        )


def _as_output(out: dict) -> nbformat.NotebookNode:
    kind = out.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=out["name"], text=out["text"])
    if kind == "execute_result":
        return nbformat.v4.new_output(
            "execute_result",
            data=out.get("data", {}),
            metadata=out.get("metadata", {}),
            execution_count=out.get("execution_count") or 1,
        )
    if kind == "display_data":
        return nbformat.v4.new_output(
            "display_data", data=out.get("data", {}), metadata=out.get("metadata", {})
        )
    return nbformat.v4.new_output(
        "error",
        ename=out.get("ename", ""),
        evalue=out.get("evalue", ""),
        traceback=out.get("traceback", []),
    )


def load_templates(folder: Path, course: Course) -> dict[str, nbformat.NotebookNode]:
    return {name: read_notebook(folder / name) for name in course.notebooks}
