"""Grade one submission: unpack it, lift its regions, run nbval until every exercise has a
verdict, and return a typed :class:`~cs231n_course.grader.types.SubmissionResult`.

A cell that hangs or kills the kernel costs what it touches: the notebook runs again (a new
pass) with that cell, and the cells that declare they need its exercise, skipped, until every
graded cell has a verdict or ``Limits.max_passes`` is reached.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from cs231n_course import manual_grading
from cs231n_course.grader.nbval_pass import prepare_workspace, run_pass
from cs231n_course.grader.scoring import fail, score_pass
from cs231n_course.grader.types import (
    Batch,
    Course,
    ExerciseResult,
    RunStats,
    Runtime,
    Submission,
    SubmissionResult,
)
from cs231n_course.grader.unpack import SubmissionError, unpack
from cs231n_course.grader.workspace import RegionSet, assemble_notebook, lift_regions


def grade_submission(batch: Batch, sub: Submission, slot: int) -> SubmissionResult:
    """Grade one submission on worker ``slot`` of a prepared batch (see ``batch.prepare``).

    ``slot`` picks the sandbox uid (``batch.rt.uids[slot]``) and the workspace folder; two
    submissions graded at once need two slots. Raises when grading itself failed (a kernel
    that would not start): the result must then not be stored, so a re-run tries again.
    """
    course, options = batch.course, batch.options
    staging = batch.work / f"slot{slot}-submitted"
    ws = batch.work / f"slot{slot}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        try:
            unpacked = unpack(sub, staging, options.unpack_limits)
        except SubmissionError as err:
            exercises = [
                ExerciseResult(g.exercise, g.notebook, 0, g.points, False, "submission refused")
                for g in course.graded
            ]
            return SubmissionResult(sub.content_hash, course.max_points, exercises, str(err))
        regions = lift_regions(staging, unpacked.files, course.py_regions, course.notebooks)
        verdicts, stats, notes = run_submission(
            batch.rt, course, batch.templates, regions, ws, slot
        )
        if stats.network:
            batch.network = stats.network
        return SubmissionResult(
            sub.content_hash,
            course.max_points,
            list(verdicts.values()),
            notes=unpacked.notes + regions.notes + notes,
            answers=manual_grading.collect_answers(staging, unpacked.files, course),
            stats={
                "passes": stats.passes,
                "seconds": round(stats.seconds, 2),
                "cpu_seconds": round(stats.cpu_seconds, 2),
                "peak_memory": stats.peak_memory,
            },
        )
    except Exception:
        kept = batch.private / "errors" / f"{sub.student}-{sub.content_hash[:8]}"
        _keep_logs(ws / "grading", kept)
        raise
    finally:
        if options.keep_work and ws.exists():
            kept = batch.private / "kept" / f"{sub.student}-{sub.content_hash[:8]}"
            shutil.rmtree(kept, ignore_errors=True)
            kept.parent.mkdir(exist_ok=True)
            shutil.move(ws, kept)
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(ws, ignore_errors=True)


def _keep_logs(grading: Path, dest: Path) -> None:
    """Copy a failed run's logs where the instructor can read them after the batch."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for pattern in ("*.log", "events-*.jsonl", "policy.json", "kernel-status.json"):
        for path in grading.glob(pattern):
            shutil.copy(path, dest / path.name)


def run_submission(
    rt: Runtime, course: Course, templates: dict, regions: RegionSet, ws: Path, slot: int
) -> tuple[dict[str, ExerciseResult], RunStats, list[str]]:
    """Grade one submission's regions in workspace ``ws``.

    Returns verdicts per exercise, run statistics and notes for the student; raises
    RuntimeError when grading itself failed (a kernel that would not start), so the result is
    not stored and a re-run tries again.
    """
    used, refused = prepare_workspace(ws, course, regions)
    total = RunStats()
    pending = {g.exercise: g for g in course.graded}
    verdicts: dict[str, ExerciseResult] = {}
    skip: dict[str, set[int]] = {}
    strays: set[tuple] = set()
    for number in range(1, rt.limits.max_passes + 1):
        notebooks = sorted({g.notebook for g in pending.values()})
        if not notebooks:
            break
        for name in notebooks:
            nb, nb_used, nb_notes = assemble_notebook(
                templates[name], name, regions.nb.get(name, {}), skip.get(name, set())
            )
            refused.update(nb_notes)
            nbformat.write(nb, ws / "grading" / "notebooks" / name)
        events, stats = run_pass(rt, ws, slot, notebooks, f"pass{number}")
        total.passes += 1
        total.seconds += stats.seconds
        total.peak_memory = max(total.peak_memory, stats.peak_memory)
        total.cpu_seconds += stats.cpu_seconds
        total.network = stats.network
        found, problems = score_pass(events, course, templates, pending, rt, skip, refused)
        strays.update((e["nb"], e.get("cell_id"), e["strays"]) for e in events if e.get("strays"))
        if problems:
            raise RuntimeError("; ".join(problems) + " (logs kept in OUT/.grader/errors/)")
        verdicts.update(found)
        for name in found:
            pending.pop(name, None)
    for name, cell in pending.items():
        verdicts[name] = fail(
            cell,
            f"not graded: the kernel crashed or hung before this check "
            f"in each of {rt.limits.max_passes} runs",
        )
    ordered = {g.exercise: verdicts[g.exercise] for g in course.graded}
    notes = list(refused.values())
    notes += [
        f"{name} cell {cell}: your code left {count} processes running (a fork?); they were "
        f"stopped when the cell ended"
        for name, cell, count in sorted(strays)
    ]
    return ordered, total, notes
