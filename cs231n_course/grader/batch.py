"""Grade a batch of submissions with nbval, contained: ``python -m cs231n_course grade``.

Usage::

    python -m cs231n_course grade SUBMISSION... --out DIR [--workers N] [--source ROOT]
        [--seed N] [--notebooks 01_knn ...] [--cell-timeout S] [--memory MiB] [--cpu S]
        [--scheduler tcp://HOST:PORT | --cluster local]

Each SUBMISSION is a student's release folder or a .zip of it; the student id is its name
(``alice.zip`` -> ``alice``). ``DIR`` receives

- ``gradebook.csv``: student, total, points per exercise;
- ``feedback/<student>.md``: every exercise with pass/fail and the reason;
- ``summary.md``: totals, pass rates, refused submissions, what isolation this machine gave;
- ``.grader/`` (instructor-only): the grading secret, cached reference outputs, one result
  file per submission content hash, logs of grader failures.

How one submission is graded
----------------------------
1. Unpacked safely (:mod:`~cs231n_course.grader.unpack`): only ``cs231n_lib/**.py`` and
   ``notebooks/*.ipynb`` are read; zip-slip paths, symlinks, special files, zip bombs and
   folders nested beyond 64 levels refuse the submission (0 points, with the reason). Whatever
   is wrong with one submission (unreadable, two of one student, names that do not decode)
   refuses that submission alone; the rest of the batch is graded and every submission gets
   a feedback page.
2. Its named student regions are lifted and spliced into the instructor's *release* files in
   a fresh workspace (:mod:`~cs231n_course.grader.workspace`); a region must stand alone
   (no escaping its function, no swallowing the code after it), nbval markers in it are
   removed, and check cells, tags, metadata and reference outputs all come from the instructor.
3. nbval runs the notebooks there with ``CS231N_GRADING_SEED`` set, so every check draws a
   hidden case and prints fingerprints; nbval compares them, outside the kernel, with the
   outputs the instructor's solution printed for the same seed (computed once per batch the
   same way, and cached: :mod:`~cs231n_course.grader.reference`). A graded cell earns its
   points if it ran without error and its outputs match (:mod:`~cs231n_course.grader.scoring`).
   Cells that only show something (timings, pictures, widgets: ``workspace.SHOWN_ONLY``) are
   not run, and submissions alike in regions and seed share one run (``submission.run_once``).
4. A cell that hangs or kills the kernel costs what it touches: the notebook runs again with
   that cell (and the cells that declare they need its exercise) skipped, so later exercises
   are still graded.

Containment (:mod:`~cs231n_course.sandbox`)
-----------------------------------------------
Each kernel runs in new mount, PID, IPC and UTS namespaces under a root built from a whitelist
(system folders and the Python environment read-only, the spliced workspace read-only, tmpfs
HOME, working directory and /tmp): the instructor's source, the reference outputs and other
submissions do not exist inside. It runs as a uid of its own (claimed per worker, every
process of it killed after each run) with rlimits on CPU seconds, address space, processes,
file size, and no new privileges. nbval and the kernel share a fresh network namespace holding
only a loopback interface, and a cgroup bounding their memory and process count (and counting
their CPU). Cells have a timeout, notebooks a wall-clock limit; processes a cell leaves behind
are stopped.

Where the machine allows less, the summary says so: without root, a user namespace gives the
same namespaces but no uid of its own and no cgroup (limits are then per process only);
without a network namespace nbval runs with a warning; without mount and PID namespaces the
grader refuses to run, since a submission could read the solutions.

Reliability
-----------
Each submission is graded under a seed of its own, derived from a secret created once in
``DIR/.grader`` *and* the submission's content hash (``submission.submission_seed``): what
one submission could observe about its hidden cases predicts nothing about the next one's,
and the same submission always gets the same seed. The reference outputs are computed per
seed, on the worker that grades the submission, and cached. ``--seed N`` instead fixes one
seed for every submission (reproducing a grade, tests); its cases are then predictable.
Results are stored per (student, content hash): a result's text belongs to the one
submission it describes, so no state crosses between students who handed in the same bytes.
Results are stored atomically as soon as a submission is graded; a re-run skips those, so a
killed batch resumes where it stopped, and the gradebook is rebuilt from the stored results
every time. Submissions are graded in parallel on threads of the grader process, one per
core by default: a ``kill -9`` of the grader ends them, nbval (parent-death signal) and the
kernels (their launcher watches nbval) with it, and the lock dies with the process, so a
re-run takes over at once. With ``--scheduler`` or ``--cluster local`` the same batch runs one
task per submission on Dask workers instead, and this process only stores what they return
(:mod:`~cs231n_course.grader.dask_client`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import shutil
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from cs231n_course import sandbox
from cs231n_course.grader import lock
from cs231n_course.grader.course import context_key, load_course
from cs231n_course.grader.environment import (
    data_dir,
    grading_seed,
    home_template,
    require_isolation,
    sanitizer_path,
)
from cs231n_course.grader.reports import write_reports
from cs231n_course.grader.submission import grade_submission
from cs231n_course.grader.types import (
    Batch,
    BatchReport,
    GradeOptions,
    GradingError,
    Runtime,
    Submission,
    SubmissionResult,
)
from cs231n_course.grader.unpack import UnpackLimits, content_hash, shown_name, student_id
from cs231n_course.sandbox import cgroup as sandbox_cgroup
from cs231n_lib.atomic import write_atomic
from cs231n_lib.submission_rules import (
    NO_SUCH_SUBMISSION,
    SUBMISSION_UNREADABLE,
    SUBMITTED_TWICE,
    Message,
)


def grade(submissions: list[Path], options: GradeOptions, runner=None) -> BatchReport:
    """Grade ``submissions`` into ``options.out``; see the module docstring.

    ``runner(batch, todo)``, when given, grades ``todo`` instead of this machine's threads
    (a Dask cluster: :mod:`~cs231n_course.grader.dask_client`). It must store each result at
    ``batch.result_path(sub)`` (or add the submission to ``batch.failed``); everything else,
    the lock, the store, the reports, is this function's, so a batch gives the same gradebook
    wherever it was graded. This machine then runs no kernel: it needs no sandbox.
    """
    start = time.monotonic()
    out = Path(options.out).resolve()
    private = out / ".grader"
    # A path that names nothing is the instructor's typo, not a student's problem: stop before
    # OUT exists. What a submission holds is only ever that submission's problem.
    missing = [str(p) for p in submissions if not Path(p).exists() and not Path(p).is_symlink()]
    if missing:
        raise GradingError(f"no such file or folder: {', '.join(missing)}; nothing was graded")
    subs = read_submissions(submissions, options.unpack_limits)
    private.mkdir(parents=True, exist_ok=True)
    os.chmod(private, 0o700)
    with lock.exclusive(private / "lock", busy=GradingError, what=str(out)):
        if runner is not None:
            batch = prepare(options, out, private, [], sandboxed=False)
            todo = pending(batch, subs)
            runner(batch, todo)
        else:
            workers = options.workers or len(os.sched_getaffinity(0))
            with claimed_uids(options.uid_base, max(1, workers)) as uids:
                batch = prepare(options, out, private, uids)
                todo = pending(batch, subs)
                grade_all(batch, todo)
        return write_reports(
            batch,
            subs,
            new=len(todo) - len(batch.failed),
            skipped=len(subs) - len(todo),
            seconds=time.monotonic() - start,
        )


@contextlib.contextmanager
def claimed_uids(base: int, count: int):
    """Claim ``count`` sandbox uids from ``base`` up for as long as the block runs."""
    claims = sandbox.claim_uids(base, count)
    try:
        yield [uid for uid, _ in claims]
    finally:
        for _, fd in claims:
            os.close(fd)


def prepare(
    options: GradeOptions, out: Path, private: Path, uids: list[int], *, sandboxed: bool = True
) -> Batch:
    """Check isolation, build the release, the sandbox HOME and the reference outputs.

    ``sandboxed=False``: this process runs no kernel (the batch's kernels run on cluster
    workers), so this machine's isolation is neither required nor reported here.
    """
    capabilities = require_isolation(options.isolation, options.limits) if sandboxed else {}
    cache = Path(options.cache).resolve() if options.cache else private / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    work = private / "work"
    shutil.rmtree(work, ignore_errors=True)  # left over by a killed run
    work.mkdir()
    if sandboxed:
        sandbox_cgroup.remove_stale()
    seed, seed_source = grading_seed(options.seed, private)
    course = load_course(Path(options.source), cache, options.notebooks)
    rt = Runtime(
        seed=seed,
        limits=options.limits,
        cache=cache,
        home_template=home_template(cache),
        data_dir=data_dir(course.source_root),
        sanitizer=sanitizer_path(options.sanitizer, course.source_root),
        capabilities=capabilities,
        uids=uids,
        fast=options.fast,
    )
    batch = Batch(options, out, private, work, rt, course, seed_source)
    # Reference outputs are per submission now (each is graded under a seed of its own,
    # derived from the secret and its content: see submission.submission_seed), computed on
    # the worker that grades it and cached by seed.
    context = context_key(course, seed, rt.settings())
    batch.results = private / "results" / context
    batch.results.mkdir(parents=True, exist_ok=True)
    return batch


def pending(batch: Batch, subs: list[Submission]) -> list[Submission]:
    """Submissions not graded yet: a stored result for (student, content hash) means done.

    Results are per submission, never shared between students who handed in the same bytes:
    a result's text (refusal reasons, file names) belongs to the one submission it describes.
    """
    return [sub for sub in subs if not batch.result_path(sub).exists()]


def grade_all(batch: Batch, todo: list[Submission]) -> None:
    """Grade ``todo`` on one worker per claimed uid, storing each result as it comes."""
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(len(batch.rt.uids)):
        slots.put(slot)

    def task(sub: Submission):
        slot = slots.get()
        try:
            return grade_submission(batch, sub, slot)
        finally:
            slots.put(slot)

    bar = tqdm(
        total=len(todo),
        desc="grading",
        unit="submission",
        disable=not batch.options.progress,
        file=sys.stderr,
    )
    with ThreadPoolExecutor(max_workers=slots.qsize()) as pool:
        futures = {pool.submit(task, sub): sub for sub in todo}
        for future in as_completed(futures):
            sub = futures[future]
            try:
                result = future.result()
                store_result(batch.result_path(sub), result)
                bar.set_postfix_str(f"{sub.student}: {result.total:g}/{result.max_total:g}")
            except Exception as err:  # never lose the batch to one submission
                batch.failed.append((sub.student, f"{type(err).__name__}: {err}"[:2000]))
                with open(batch.private / "errors.log", "a") as log:
                    log.write(f"--- {sub.student} ({sub.path})\n{traceback.format_exc()}\n")
            bar.update(1)
    bar.close()


def read_submissions(paths: list[Path], limits: UnpackLimits) -> list[Submission]:
    """One :class:`Submission` per path, with its student id and content hash.

    Nothing here stops the batch: a path that cannot be read, two paths of one student
    (``alice.zip`` and ``alice/``) or anything else wrong with one submission becomes that
    submission's ``problem``, which refuses it alone (with the reason in its feedback).
    Distinct names that sanitise to one id (``Zoë``, ``Zoé``) are never merged: each gets a
    suffix from its own raw name.
    """
    subs = []
    for path in paths:
        path = Path(path)
        sub = Submission(path, student_id(path))
        try:
            if not path.exists() and not path.is_symlink():
                sub.problem = Message(NO_SUCH_SUBMISSION, name=shown_name(path))
            sub.content_hash = content_hash(path, limits)
        except Exception as err:  # one submission's problem, never the batch's
            sub.problem = Message(
                SUBMISSION_UNREADABLE,
                max_chars=500,
                name=shown_name(path),
                kind=type(err).__name__,
                error=str(err),
            )
            sub.content_hash = "unreadable-" + hashlib.sha256(os.fsencode(path)).hexdigest()
        subs.append(sub)
    by_id: dict[str, list[Submission]] = {}
    for sub in subs:
        by_id.setdefault(sub.student, []).append(sub)
    for student, same in by_id.items():
        stems = {raw_stem(s.path) for s in same}
        if len(same) > 1 and len(stems) == len(same):  # distinct students: keep them apart
            for s in same:
                s.student = f"{student}-{hashlib.sha256(raw_stem(s.path)).hexdigest()[:8]}"
        elif len(same) > 1:  # one student handed in more than once: refuse each, apart
            names = ", ".join(sorted(shown_name(s.path) for s in same))
            for s in same:
                whole = os.fsencode(Path(s.path).name)
                s.student = f"{student}-{hashlib.sha256(whole).hexdigest()[:8]}"
                s.problem = Message(
                    SUBMITTED_TWICE,
                    count=len(same),
                    student=student,
                    names=names,
                )
    return subs


def raw_stem(path: Path) -> bytes:
    """The submission's own name as bytes, without ``.zip``: what tells two students apart."""
    raw = os.fsencode(Path(path).name)
    return raw[:-4] if raw.lower().endswith(b".zip") else raw


def store_result(path: Path, result: SubmissionResult) -> None:
    write_atomic(path, json.dumps(result.to_json(), indent=1, sort_keys=True))
