"""Grade one submission: unpack it, lift its regions, run nbval until every exercise has a
verdict, and return a typed :class:`~cs231n_course.grader.types.SubmissionResult`.

A cell that hangs or kills the kernel costs what it touches: the notebook runs again (a new
pass) with that cell, and the cells that declare they need its exercise, skipped, until every
graded cell has a verdict or ``Limits.max_passes`` is reached.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import re
import shutil
import stat
import threading
from pathlib import Path

import nbformat

from cs231n_course import manual, markers
from cs231n_course.grader import tuning
from cs231n_course.grader.course import context_key
from cs231n_course.grader.nbval_pass import prepare_workspace, run_pass
from cs231n_course.grader.reference import reference_templates
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
from cs231n_lib.submission_rules import Message


def submission_seed(secret_seed: int, content_hash: str) -> int:
    """The seed one submission is graded under: from the batch's secret *and* its content.

    Whatever an earlier submission observed about its own grading inputs says nothing about
    the next one's: changing a single byte of a submission changes every hidden case.
    """
    digest = hashlib.sha256(f"cs231n-grading\0{secret_seed}\0{content_hash}".encode())
    return int(digest.hexdigest()[:8], 16) % (2**31 - 1)


def seed_for(batch: Batch, content_hash: str) -> int:
    """The seed the submission with ``content_hash`` is graded under in ``batch``.

    ``--seed`` fixes one seed for every submission (reproducing a grade); the default, the
    secret, gives each submission its own.
    """
    if batch.options.seed is None:
        return submission_seed(batch.rt.seed, content_hash)
    return batch.rt.seed


_REFERENCE_LOCK = threading.Lock()


def references_for(batch: Batch, rt: Runtime, slot: int) -> tuple[dict, Path]:
    """The reference templates for ``rt.seed``: from this run, the cache, or run now on
    worker ``slot`` (the solution through the very pipeline a submission goes through)."""
    with _REFERENCE_LOCK:  # two workers needing one seed compute it once
        lock = batch.reference_locks.setdefault(rt.seed, threading.Lock())
    key = context_key(batch.course, rt.seed, rt.settings())
    folder = rt.cache / f"reference-{key}"
    with lock:
        return reference_templates(rt, batch.course, folder, batch.work, slot=slot), folder


def grade_submission(batch: Batch, sub: Submission, slot: int) -> SubmissionResult:
    """Grade one submission on worker ``slot`` of a prepared batch (see ``batch.prepare``).

    ``slot`` picks the sandbox uid (``batch.rt.uids[slot]``) and the workspace folder; two
    submissions graded at once need two slots. Raises when grading itself failed (a kernel
    that would not start): the result must then not be stored, so a re-run tries again.
    """
    course, options = batch.course, batch.options
    if sub.problem:
        return refused_result(course, sub.content_hash, sub.problem)
    seed = seed_for(batch, sub.content_hash)
    rt = dataclasses.replace(batch.rt, seed=seed)
    staging = batch.work / f"slot{slot}-submitted"
    ws = batch.work / f"slot{slot}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        try:
            unpacked = unpack(sub, staging, options.unpack_limits)
        except SubmissionError as err:
            return refused_result(course, sub.content_hash, err.message)
        regions = lift_regions(staging, unpacked.files, course.py_regions, course.notebooks)
        templates, folder = references_for(batch, rt, slot)
        (verdicts, stats, notes), reused = run_once(
            batch,
            rt,
            regions,
            lambda: run_submission(
                rt, course, templates, regions, ws, slot, reference_exports=folder / "exports"
            ),
        )
        if stats.network:
            batch.network = stats.network
        result = SubmissionResult(
            sub.content_hash,
            course.max_points,
            list(verdicts.values()),
            notes=unpacked.notes + regions.notes + notes,
            answers=manual.collect_answers(staging, unpacked.files, course),
            stats={
                "passes": stats.passes,
                "seconds": round(stats.seconds, 2),
                "cpu_seconds": round(stats.cpu_seconds, 2),
                "peak_memory": stats.peak_memory,
                **({"reused_run": True} if reused else {}),
            },
        )
        return scrubbed(result, {str(seed): "<the grading seed>"})
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


_RUNS_LOCK = threading.Lock()


def run_once(batch: Batch, rt: Runtime, regions: RegionSet, run) -> tuple[tuple, bool]:
    """``run()`` (a submission's nbval passes), once per (seed, student regions) in a batch:
    returns its (verdicts, stats, notes) and whether they were an earlier run's.

    What nbval runs is the instructor's release with these regions spliced in, under this
    seed, so two submissions alike in both (the same bytes under two names, the untouched
    release, copies that differ only in what is not graded) get one run and the same
    verdicts. A reused run costs nothing, and says so: its stats are zero, with
    ``reused_run``. Everything else in a result (refusals, unpacking notes, answers) is
    still each submission's own. A run that raised is not kept: the next one runs again.
    """
    key = json.dumps([rt.seed, dataclasses.asdict(regions)], sort_keys=True)
    key = hashlib.sha256(key.encode()).hexdigest()
    with _RUNS_LOCK:
        entry = batch.runs.setdefault(key, {"lock": threading.Lock()})
    with entry["lock"]:  # two workers on alike submissions: the second waits for the first
        if "done" in entry:
            verdicts, stats, notes = copy.deepcopy(entry["done"])
            return (verdicts, RunStats(network=stats.network), notes), True
        entry["done"] = run()
        return copy.deepcopy(entry["done"]), False


def refused_result(course: Course, content_hash: str, reason: str) -> SubmissionResult:
    """Every exercise 0, with the reason the whole submission was refused: the English, and
    when ``reason`` is a ``submission_rules.Message`` (a refusal's template and fields) that
    too, for a feedback page in the student's language."""
    exercises = [
        ExerciseResult(g.exercise, g.notebook, 0, g.points, False, "submission refused")
        for g in course.graded
    ]
    message = reason.to_json() if isinstance(reason, Message) else None
    return SubmissionResult(
        content_hash, course.max_points, exercises, str(reason), refused_message=message
    )


def scrubbed(result: SubmissionResult, secrets: dict[str, str]) -> SubmissionResult:
    """``result`` with every secret value (the grading seed a kernel could read and print)
    replaced by its name: feedback never quotes what would let a student replay a case.
    Values shorter than 6 characters are not secrets (a small ``--seed``) and stay."""
    patterns = [
        (re.compile(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])"), name)
        for value, name in secrets.items()
        if len(value) >= 6
    ]

    def clean(text):
        if not isinstance(text, str):
            return text
        for pattern, name in patterns:
            text = pattern.sub(name, text)
        return text

    for e in result.exercises:
        e.reason = clean(e.reason)
    result.notes = [clean(n) for n in result.notes]
    result.refused = clean(result.refused)
    return result


def _collect_exports(export: Path, dest: Path, exercises) -> None:
    """Keep the weights the pass's kernel exported for ``exercises`` (the verdicts this pass
    gave), read without following links: the folder is the kernel's to write."""
    dest.mkdir(exist_ok=True)
    for name in exercises:
        if name not in tuning.TUNING:
            continue
        target = dest / f"{name}.npz"
        target.unlink(missing_ok=True)
        try:
            fd = os.open(export / f"{name}.npz", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # none written (or a link): the verdict says so
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                continue
            data = f.read(tuning.MAX_EXPORT_BYTES + 1)
        if len(data) <= tuning.MAX_EXPORT_BYTES:
            target.write_bytes(data)


def _keep_logs(grading: Path, dest: Path) -> None:
    """Copy a failed run's logs where the instructor can read them after the batch."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for pattern in ("*.log", "events-*.jsonl", "policy.json", "kernel-status.json"):
        for path in grading.glob(pattern):
            shutil.copy(path, dest / path.name)


def run_submission(
    rt: Runtime,
    course: Course,
    templates: dict,
    regions: RegionSet,
    ws: Path,
    slot: int,
    *,
    reference_exports: Path | None = None,
) -> tuple[dict[str, ExerciseResult], RunStats, list[str]]:
    """Grade one submission's regions in workspace ``ws``.

    Returns verdicts per exercise, run statistics and notes for the student; raises
    RuntimeError when grading itself failed (a kernel that would not start), so the result is
    not stored and a re-run tries again.
    """
    used, refused = prepare_workspace(ws, course, regions)
    refused.update({name: f"{name}: {why}" for name, why in regions.lost.items()})
    for name, why in regions.broken_notebooks.items():
        for cell in templates[name].cells:
            if cell.cell_type == "code":
                for region in markers.student_region_spans(cell.source.splitlines()):
                    refused[region] = f"{region}: {why}"
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
        _collect_exports(ws / "grading" / "export", ws / "exports", found)
        for name in found:
            pending.pop(name, None)
    for name, cell in pending.items():
        verdicts[name] = fail(
            cell,
            f"not graded: the kernel crashed or hung before this check "
            f"in each of {rt.limits.max_passes} runs",
        )
    for cell in course.graded:
        passed = verdicts[cell.exercise].passed
        if passed and cell.exercise in tuning.TUNING and reference_exports is not None:
            problem = tuning.verify(
                cell.exercise,
                ws / "exports" / f"{cell.exercise}.npz",
                reference_exports / f"{cell.exercise}.npz",
                fast=rt.fast,
            )
            if problem:
                verdicts[cell.exercise] = fail(cell, problem)
    ordered = {g.exercise: verdicts[g.exercise] for g in course.graded}
    notes = list(refused.values())
    notes += [
        f"{name} cell {cell}: your code left {count} processes running (a fork?); they were "
        f"stopped when the cell ended"
        for name, cell, count in sorted(strays)
    ]
    return ordered, total, notes
