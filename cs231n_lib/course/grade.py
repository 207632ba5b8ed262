"""Grade submissions with nbval, contained: ``python -m cs231n_lib.course grade``.

Usage::

    python -m cs231n_lib.course grade SUBMISSION... --out DIR [--workers N] [--source ROOT]
        [--seed N] [--notebooks 01_knn ...] [--cell-timeout S] [--memory MiB] [--cpu S]

Each SUBMISSION is a student's release folder or a .zip of it; the student id is its name
(``alice.zip`` -> ``alice``). ``DIR`` receives

- ``gradebook.csv``: student, total, points per exercise;
- ``feedback/<student>.md``: every exercise with pass/fail and the reason;
- ``summary.md``: totals, pass rates, refused submissions, what isolation this machine gave;
- ``.grader/`` (instructor-only): the grading secret, cached reference outputs, one result
  file per submission content hash, logs of grader failures.

How one submission is graded
----------------------------
1. Unpacked safely (:mod:`~cs231n_lib.course.submission`): only ``cs231n_lib/**.py`` and
   ``notebooks/*.ipynb`` are read; zip-slip paths, symlinks, special files and zip bombs refuse
   the submission (0 points, with the reason).
2. Its named student regions are lifted and spliced into the instructor's *release* files in
   a fresh workspace (:mod:`~cs231n_lib.course.grade_workspace`); a region must stand alone
   (no escaping its function, no swallowing the code after it), nbval markers in it are
   removed, and check cells, tags, metadata and reference outputs all come from the instructor.
3. nbval runs the notebooks there with ``CS231N_GRADING_SEED`` set, so every check draws a
   hidden case and prints fingerprints; nbval compares them, outside the kernel, with the
   outputs the instructor's solution printed for the same seed (computed once per batch the
   same way, and cached: :mod:`~cs231n_lib.course.grade_reference`). A graded cell earns its
   points if it ran without error and its outputs match (:mod:`~cs231n_lib.course.grade_run`).
4. A cell that hangs or kills the kernel costs what it touches: the notebook runs again with
   that cell (and the cells that declare they need its exercise) skipped, so later exercises
   are still graded.

Containment (:mod:`~cs231n_lib.course.sandbox`)
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
The grading seed comes from ``--seed`` or from a secret created once in ``DIR/.grader`` (the
same for every student and every re-run into ``DIR``). Results are stored, atomically, per
content hash as soon as a submission is graded; a re-run skips those, so a killed batch
resumes where it stopped, and the gradebook is rebuilt from the stored results every time.
Submissions are graded in parallel, one worker per core by default.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from cs231n_lib.course import grade_lock, manual_grading, sandbox, sandbox_cgroup
from cs231n_lib.course.grade_reference import (
    Course,
    bare_template,
    context_key,
    load_course,
    load_templates,
    solution_region_set,
    store_templates,
)
from cs231n_lib.course.grade_report import (
    feedback_markdown,
    gradebook_csv,
    summary_markdown,
    write_atomic,
)
from cs231n_lib.course.grade_run import Limits, Runtime, prepare_workspace, run_pass, run_submission
from cs231n_lib.course.grade_workspace import assemble_notebook, lift_regions
from cs231n_lib.course.submission import (
    Submission,
    SubmissionError,
    UnpackLimits,
    content_hash,
    student_id,
    unpack,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class GradeOptions:
    out: Path
    source: Path = REPO_ROOT
    workers: int = 0  # 0: one per core
    seed: int | None = None
    notebooks: list[str] | None = None  # names or stems; default every graded notebook
    limits: Limits = field(default_factory=Limits)
    unpack_limits: UnpackLimits = field(default_factory=UnpackLimits)
    fast: bool = True
    cache: Path | None = None  # default OUT/.grader/cache; share it to reuse reference runs
    sanitizer: Path | None = None  # default SOURCE/tests/sanitize.cfg when present
    uid_base: int = 61000
    progress: bool = True
    keep_work: bool = False  # keep each workspace in OUT/.grader/kept (debugging the grader)
    # "namespaces" (refuse without them), "uid-only-fallback" (Gradescope: a uid and rlimits
    # where namespaces are missing) or "uid-only" (force it, to test that mode here)
    isolation: str = "namespaces"


@dataclass
class BatchReport:
    gradebook: Path
    summary: Path
    totals: dict[str, float]
    new: int
    skipped: int
    failed: list[tuple[str, str]]
    seconds: float


class GradingError(RuntimeError):
    """The batch cannot run (isolation missing, reference solution failing, bad input)."""


@dataclass
class _Batch:
    """Everything one grading run shares between its submissions."""

    options: GradeOptions
    out: Path
    private: Path  # OUT/.grader: secret, cache, results, work (never inside a sandbox)
    work: Path
    rt: Runtime
    course: Course
    seed_source: str
    templates: dict = field(default_factory=dict)
    results: Path | None = None
    failed: list[tuple[str, str]] = field(default_factory=list)
    network: str = ""


def grade(submissions: list[Path], options: GradeOptions) -> BatchReport:
    """Grade ``submissions`` into ``options.out``; see the module docstring."""
    start = time.monotonic()
    out = Path(options.out).resolve()
    private = out / ".grader"
    subs = _submissions(submissions, options.unpack_limits)  # bad paths fail before OUT exists
    private.mkdir(parents=True, exist_ok=True)
    os.chmod(private, 0o700)
    with grade_lock.exclusive(private / "lock", busy=GradingError, what=str(out)):
        workers = options.workers or len(os.sched_getaffinity(0))
        with _claimed_uids(options.uid_base, max(1, workers)) as uids:
            batch = _prepare(options, out, private, uids)
            todo = _pending(batch, subs)
            _grade_all(batch, todo)
        return _write_reports(
            batch,
            subs,
            new=len(todo) - len(batch.failed),
            skipped=len(subs) - len(todo),
            seconds=time.monotonic() - start,
        )


@contextlib.contextmanager
def _claimed_uids(base: int, count: int):
    claims = sandbox.claim_uids(base, count)
    try:
        yield [uid for uid, _ in claims]
    finally:
        for _, fd in claims:
            os.close(fd)


def _prepare(options: GradeOptions, out: Path, private: Path, uids: list[int]) -> _Batch:
    """Check isolation, build the release, the sandbox HOME and the reference outputs."""
    capabilities = _require_isolation(options.isolation, options.limits)
    cache = Path(options.cache).resolve() if options.cache else private / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    work = private / "work"
    shutil.rmtree(work, ignore_errors=True)  # left over by a killed run
    work.mkdir()
    sandbox_cgroup.remove_stale()
    seed, seed_source = _seed(options.seed, private)
    course = load_course(Path(options.source), cache, options.notebooks)
    rt = Runtime(
        seed=seed,
        limits=options.limits,
        cache=cache,
        home_template=_home_template(cache),
        data_dir=_data_dir(course.source_root),
        sanitizer=_sanitizer(options.sanitizer, course.source_root),
        capabilities=capabilities,
        uids=uids,
        fast=options.fast,
    )
    batch = _Batch(options, out, private, work, rt, course, seed_source)
    context = context_key(course, seed, rt.settings())
    batch.templates = _reference(rt, course, cache / f"reference-{context}", work)
    batch.results = private / "results" / context
    batch.results.mkdir(parents=True, exist_ok=True)
    return batch


def _pending(batch: _Batch, subs: list[Submission]) -> list[Submission]:
    """Submissions not graded yet: a stored result for the content hash means done."""
    todo, seen = [], set()
    for sub in subs:
        if sub.content_hash in seen or (batch.results / f"{sub.content_hash}.json").exists():
            continue
        seen.add(sub.content_hash)
        todo.append(sub)
    return todo


def _grade_all(batch: _Batch, todo: list[Submission]) -> None:
    """Grade ``todo`` on one worker per claimed uid, storing each result as it comes."""
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(len(batch.rt.uids)):
        slots.put(slot)

    def task(sub: Submission):
        slot = slots.get()
        try:
            return _grade_one(batch, sub, slot)
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
                _store_result(batch.results, sub.content_hash, result)
                bar.set_postfix_str(f"{sub.student}: {result['total']:g}/{result['max_total']:g}")
            except Exception as err:  # never lose the batch to one submission
                batch.failed.append((sub.student, f"{type(err).__name__}: {err}"[:2000]))
                with open(batch.private / "errors.log", "a") as log:
                    log.write(f"--- {sub.student} ({sub.path})\n{traceback.format_exc()}\n")
            bar.update(1)
    bar.close()


def _submissions(paths: list[Path], limits: UnpackLimits) -> list[Submission]:
    subs, by_student = [], {}
    for path in paths:
        path = Path(path)
        if not path.exists() and not path.is_symlink():
            raise GradingError(f"{path}: no such file or folder")
        sub = Submission(path, student_id(path))
        if sub.student in by_student:
            raise GradingError(
                f"two submissions for student {sub.student!r}: {by_student[sub.student]} and "
                f"{path}; keep one of them"
            )
        by_student[sub.student] = path
        sub.content_hash = content_hash(path, limits)
        subs.append(sub)
    return subs


def _require_isolation(mode: str = "namespaces", limits: Limits | None = None) -> dict[str, str]:
    capabilities = sandbox.probe()
    mount = capabilities.get("mount+pid namespaces", "")
    if mode == "uid-only" or (mode == "uid-only-fallback" and mount != "ok"):
        if os.geteuid() != 0:
            raise GradingError("uid-only isolation needs root (to run kernels as another uid)")
        from cs231n_lib.course.sandbox_uidonly import describe

        return {**capabilities, "isolation": describe(limits or Limits())}
    if mount != "ok":
        raise GradingError(
            f"this machine gives no mount and PID namespaces ({mount}); without them a "
            f"submission could read the solutions. Run the grader as root (e.g. in a "
            f"container) or enable unprivileged user namespaces "
            f"(sysctl kernel.unprivileged_userns_clone=1)"
        )
    return capabilities


def _seed(seed: int | None, private: Path) -> tuple[int, str]:
    if seed is not None:
        return seed, "given with --seed"
    path = private / "secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    digest = hashlib.sha256(path.read_bytes().strip()).hexdigest()
    return int(digest[:8], 16) % (2**31 - 1), f"derived from the secret in {path}"


# Run at every graded kernel's start (reference and students alike). nbval never compares
# images, so rendering them is wasted CPU; figures still display as text ("<Figure ...>").
KERNEL_STARTUP = """\
def _cs231n_grading_no_images():
    from IPython import get_ipython

    formatters = get_ipython().display_formatter.formatters
    for mime in ("image/png", "image/jpeg", "image/svg+xml", "application/pdf"):
        formatters[mime].enabled = False


_cs231n_grading_no_images()
del _cs231n_grading_no_images
"""


def _home_template(cache: Path) -> Path:
    """A HOME with matplotlib's font cache built and the kernel startup file, for every
    sandbox."""
    version = hashlib.sha256(KERNEL_STARTUP.encode()).hexdigest()[:12]
    home = cache / f"home-template-{version}"
    if (home / ".ready").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    config = home / ".config" / "matplotlib"
    config.mkdir(parents=True)
    startup = home / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-cs231n-grading.py").write_text(KERNEL_STARTUP)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import matplotlib; matplotlib.use('agg'); import matplotlib.pyplot",
        ],
        env={**os.environ, "MPLCONFIGDIR": str(config), "HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    (home / ".ready").write_text("")
    return home


def _data_dir(source: Path) -> Path | None:
    """The course's data folder, with the decoded cache built so kernels only read it."""
    folder = source / "datasets"
    if not folder.is_dir():
        return None
    if list(folder.glob("cache/*/X_train.npy")) or (folder / "cifar-10-batches-py").is_dir():
        return folder  # decoded already (or the official batches, which need no decoding)
    code = "from cs231n_lib.data import load_cifar10; load_cifar10(verbose=False)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(source), "CS231N_DATA_DIR": str(folder)},
    )
    if done.returncode != 0:
        raise GradingError(f"cannot prepare the data in {folder}: {done.stderr.strip()[-800:]}")
    return folder


def _sanitizer(given: Path | None, source: Path) -> Path | None:
    if given is not None:
        return Path(given).resolve()
    default = source / "tests" / "sanitize.cfg"
    return default if default.is_file() else None


def _reference(rt: Runtime, course: Course, folder: Path, work: Path) -> dict:
    """Reference templates for this seed and settings: cached, or computed now."""
    if folder.exists():
        return load_templates(folder, course)
    ws = work / "reference"
    regions = solution_region_set(course)
    prepare_workspace(ws, course, regions)
    for name in course.notebooks:
        template = bare_template(course, name)
        nb, _, notes = assemble_notebook(template, name, regions.nb.get(name, {}))
        if notes:
            raise GradingError(f"the solution's own regions are refused: {notes}")
        (ws / "grading" / "notebooks" / name).write_text(_nb_text(nb), encoding="utf-8")
    events, _ = run_pass(rt, ws, 0, course.notebooks, "reference", record=True)
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
    store_templates(course, outputs, folder)
    shutil.rmtree(ws, ignore_errors=True)
    return load_templates(folder, course)


def _nb_text(nb) -> str:
    import nbformat

    return nbformat.writes(nb)


def _grade_one(batch: _Batch, sub: Submission, slot: int) -> dict:
    """Grade one submission on worker ``slot``; returns its result (a JSON-able dict)."""
    course, options = batch.course, batch.options
    staging = batch.work / f"slot{slot}-submitted"
    ws = batch.work / f"slot{slot}"
    shutil.rmtree(staging, ignore_errors=True)
    base = {
        "content_hash": sub.content_hash,
        "refused": None,
        "notes": [],
        "max_total": course.max_points,
    }
    try:
        try:
            unpacked = unpack(sub, staging, options.unpack_limits)
        except SubmissionError as err:
            exercises = [
                {
                    "exercise": g.exercise,
                    "notebook": g.notebook,
                    "points": 0,
                    "max_points": g.points,
                    "passed": False,
                    "reason": "submission refused",
                }
                for g in course.graded
            ]
            return {**base, "refused": str(err), "exercises": exercises, "total": 0, "stats": {}}
        regions = lift_regions(staging, unpacked.files, course.py_regions, course.notebooks)
        verdicts, stats, notes = run_submission(
            batch.rt, course, batch.templates, regions, ws, slot
        )
        if stats.network:
            batch.network = stats.network
        exercises = [asdict(v) for v in verdicts.values()]
        return {
            **base,
            "answers": manual_grading.collect_answers(staging, unpacked.files, course),
            "notes": unpacked.notes + regions.notes + notes,
            "exercises": exercises,
            "total": sum(e["points"] for e in exercises),
            "stats": {
                "passes": stats.passes,
                "seconds": round(stats.seconds, 2),
                "cpu_seconds": round(stats.cpu_seconds, 2),
                "peak_memory": stats.peak_memory,
            },
        }
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


def _store_result(folder: Path, digest: str, result: dict) -> None:
    write_atomic(folder / f"{digest}.json", json.dumps(result, indent=1, sort_keys=True))


def _write_reports(batch: _Batch, subs: list[Submission], **summary) -> BatchReport:
    """Gradebook, feedback pages and summary, rebuilt from the stored results."""
    rows, sources = [], {}
    for sub in subs:
        path = batch.results / f"{sub.content_hash}.json"
        if path.exists():
            rows.append((sub.student, json.loads(path.read_text())))
            sources[sub.student] = sub.path.name
    manual = manual_grading.merge(batch.out, batch.course, rows)  # TA sheets; raises if bad
    manual_grading.write_all(batch.out, manual, write_atomic, batch.course)
    for student, result in rows:
        write_atomic(
            batch.out / "feedback" / f"{student}.md",
            feedback_markdown(student, sources[student], result)
            + manual_grading.feedback_section(student, result, manual),
        )
    write_atomic(
        batch.out / "gradebook.csv",
        manual_grading.gradebook_csv(gradebook_csv(batch.course, rows), manual),
    )
    text = summary_markdown(
        batch.course,
        rows,
        failed=batch.failed,
        capabilities=batch.rt.capabilities,
        network=batch.network,
        seed_source=batch.seed_source,
        **summary,
    )
    write_atomic(batch.out / "summary.md", text + manual_grading.summary_section(batch.out, manual))
    return BatchReport(
        batch.out / "gradebook.csv",
        batch.out / "summary.md",
        {s: r["total"] for s, r in rows},
        summary["new"],
        summary["skipped"],
        batch.failed,
        summary["seconds"],
    )


# -- command line --------------------------------------------------------------------------------
def add_grade_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``grade`` to the course CLI (``cs231n_lib.course.__main__``)."""
    p = subparsers.add_parser(
        "grade",
        help="grade submissions into a gradebook",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("submissions", nargs="+", type=Path, help="release folders or .zip files")
    p.add_argument("--out", required=True, type=Path, help="folder for gradebook and feedback")
    p.add_argument("--workers", type=int, default=0, help="parallel submissions (default: cores)")
    p.add_argument("--source", type=Path, default=REPO_ROOT, help="instructor source tree")
    p.add_argument("--seed", type=int, help="grading seed (default: from a secret in OUT)")
    p.add_argument("--notebooks", nargs="+", help="grade only these notebooks (e.g. 01_knn)")
    p.add_argument("--cache", type=Path, help="where reference outputs are cached")
    lim = Limits()
    p.add_argument("--cell-timeout", type=int, default=lim.cell_timeout, help="seconds per cell")
    p.add_argument(
        "--notebook-timeout",
        type=int,
        default=lim.notebook_timeout,
        help="wall seconds per notebook",
    )
    p.add_argument("--cpu", type=int, default=lim.cpu_seconds, help="CPU seconds per kernel")
    p.add_argument(
        "--memory", type=int, default=lim.memory_bytes >> 20, help="memory per kernel process, MiB"
    )
    p.add_argument(
        "--max-processes",
        type=int,
        default=lim.max_processes,
        help="processes and threads per sandbox",
    )
    p.add_argument("--full-data", action="store_true", help="grade on full data, not fast mode")
    p.add_argument(
        "--sanitizer", type=Path, help="nbval sanitizer file (default: SOURCE/tests/sanitize.cfg)"
    )
    p.add_argument(
        "--keep-work", action="store_true", help="keep workspaces in OUT/.grader/kept (debugging)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--isolation",
        choices=["namespaces", "uid-only-fallback", "uid-only"],
        default="namespaces",
        help="kernel isolation: namespaces (default; refuse without them), uid-only where "
        "namespaces are missing (hosted autograders), or uid-only always",
    )
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    limits = Limits(
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.notebook_timeout,
        cpu_seconds=args.cpu,
        memory_bytes=args.memory << 20,
        max_processes=args.max_processes,
    )
    options = GradeOptions(
        out=args.out,
        source=args.source,
        workers=args.workers,
        seed=args.seed,
        notebooks=args.notebooks,
        limits=limits,
        fast=not args.full_data,
        cache=args.cache,
        progress=not args.no_progress,
        sanitizer=args.sanitizer,
        keep_work=args.keep_work,
        isolation=args.isolation,
    )
    try:
        report = grade(args.submissions, options)
    except (GradingError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report.summary.read_text())
    print(f"gradebook: {report.gradebook}\nfeedback: {report.gradebook.parent / 'feedback'}")
    return 1 if report.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cs231n_lib.course.grade")
    add_grade_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["grade", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
