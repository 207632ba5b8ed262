"""The worker side of grading on Dask: what runs inside a ``dask worker`` process.

:class:`GradingPlugin` brings one batch's settings to every worker, including workers that join
later (the scheduler hands registered plugins to each new worker). At its first task a worker
builds the course from its own checkout, checks it is the client's (same release, solutions,
seed and settings, or a clear error), claims sandbox uids on its host (one per worker thread)
and from then on runs two kinds of task:

- :func:`reference_task`: the instructor's solution under one submission's seed, through the
  very pipeline a submission goes through (:func:`submission.references_for`), returned as the
  files of the reference folder so the client can cache it and ship it to other workers;
- :func:`grade_task`: one submission's gradable files (as the client's safe unpacker took them)
  graded in the same sandbox as a local run, with that seed's reference placed in this
  worker's cache first; returns the result as JSON. Workers never write into ``OUT``.

Why the secret travels in the plugin and not in task arguments: a worker logs the repr of a
failing task (``Compute Failed ... Task: <function and arguments>``), and those logs end up in
Slurm output files and terminals; the dashboard shows task keys. A plugin is pickled once to the
scheduler and workers and is never printed. So task arguments hold only the run's random token,
student id, content hash and files, keys only the token and a content-hash prefix; the
per-submission seed is derived here, from the plugin's batch seed (itself derived from the
32-byte secret file, which never leaves the client) and the content hash, by the same function
a local run uses (:func:`submission.seed_for`). Deriving the seeds on the client instead would
have put one secret-derived number into every task's arguments.

Workers are trusted instructor machines: they hold the solutions (their checkout) and see the
seeds, exactly as the local grader process does. Between machines, use a ``tls://`` scheduler.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import queue
import shutil
import socket
import tempfile
import threading
from pathlib import Path

from cs231n_course import sandbox, solutions
from cs231n_course.grader.course import context_key, load_course
from cs231n_course.grader.environment import data_dir, home_template, require_isolation
from cs231n_course.grader.submission import grade_submission, references_for, seed_for
from cs231n_course.grader.types import (
    REPO_ROOT,
    Batch,
    GradeOptions,
    GradingError,
    Runtime,
    Submission,
)
from cs231n_course.sandbox import cgroup as sandbox_cgroup
from cs231n_lib.atomic import atomic_directory

try:  # instructor-only dependency: a plain `course grade` works without it
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover - only where distributed is missing
    WorkerPlugin = object


@dataclasses.dataclass(frozen=True)
class Payload:
    """What every worker needs once per batch; travels inside the plugin, never in tasks."""

    token: str  # random per client run: names the plugin and the tasks, reveals nothing
    context: str  # the client's context key (release, batch seed, settings): checked here
    seed: int  # the batch seed (from the secret, or --seed); per-submission seeds derive from it
    options: GradeOptions  # with the client's paths blanked
    sanitizer: str | None  # its text: the client's file may not exist on this host
    solutions: str  # digest of the solution regions: this host's checkout must have the same


def solutions_digest(source_root: Path) -> str:
    regions = solutions.solution_regions(source_root)
    text = json.dumps(regions, sort_keys=True, default=dataclasses.asdict)
    return hashlib.sha256(text.encode()).hexdigest()


def make_payload(batch: Batch, token: str) -> Payload:
    rt = batch.rt
    options = dataclasses.replace(
        batch.options, out=Path("."), source=Path("."), cache=None, sanitizer=None,
        progress=False, keep_work=False,
    )  # fmt: skip
    return Payload(
        token=token,
        context=batch.results.name,
        seed=rt.seed,
        options=options,
        sanitizer=rt.sanitizer.read_text() if rt.sanitizer else None,
        solutions=solutions_digest(batch.course.source_root),
    )


@dataclasses.dataclass(frozen=True)
class Files:
    """Files by relative path, as a task argument whose repr (what a worker logs for a failing
    task) is their count and size, not their bytes: a reference's outputs stay out of logs."""

    files: dict[str, bytes]

    def __repr__(self) -> str:
        return f"<{len(self.files)} files, {sum(map(len, self.files.values()))} bytes>"


_STATES: dict[str, _WorkerState] = {}


class GradingPlugin(WorkerPlugin):
    """Gives each worker one batch's :class:`Payload`; the worker sets up at its first task."""

    def __init__(self, payload: Payload):
        self.payload = payload
        self.name = f"cs231n-grading-{payload.token}"

    def setup(self, worker):
        # A folder per setup: a replaced plugin's task still running keeps its own.
        root = Path(tempfile.mkdtemp(prefix="cs231n-grading-", dir=worker.local_directory))
        _STATES[self.payload.token] = _WorkerState(self.payload, root, worker.state.nthreads)

    def teardown(self, worker):
        state = _STATES.pop(self.payload.token, None)
        if state is not None:
            state.close()


class _WorkerState:
    """One worker's side of a batch: course, runtime, claimed uids, a slot per thread."""

    def __init__(self, payload: Payload, root: Path, threads: int):
        self.payload, self.root, self.threads = payload, root, max(1, threads)
        self.lock = threading.Lock()
        self.batch: Batch | None = None
        self.claims: list[tuple[int, int]] = []
        self.slots: queue.Queue[int] = queue.Queue()
        self.active = 0  # tasks using a slot now
        self.closing = False

    def ready(self) -> Batch:
        with self.lock:
            if self.batch is None:
                self.batch = self._build()
            return self.batch

    @contextlib.contextmanager
    def slot(self):
        """``(batch, slot)`` for one task. A plugin replaced meanwhile (a restarted client)
        frees this state's uids and folder only when its last task ends, so the new state
        never claims a uid whose kernels an old task still runs (or would kill)."""
        batch = self.ready()
        with self.lock:
            self.active += 1
        slot = self.slots.get()
        try:
            yield batch, slot
        finally:
            self.slots.put(slot)
            with self.lock:
                self.active -= 1
                last = self.closing and not self.active
            if last:
                self._free()

    def _build(self) -> Batch:
        p = self.payload
        options = p.options
        capabilities = require_isolation(options.isolation, options.limits)
        cache = self.root / "cache"  # references of the seeds this worker saw
        course = load_course(REPO_ROOT, cache, options.notebooks)
        if solutions_digest(course.source_root) != p.solutions:
            raise GradingError(
                f"the solutions in this worker's checkout ({REPO_ROOT} on "
                f"{socket.gethostname()}) differ from the client's; install the same commit"
            )
        sanitizer = None
        if p.sanitizer is not None:
            sanitizer = self.root / "sanitize.cfg"
            sanitizer.write_text(p.sanitizer)
        self.claims = sandbox.claim_uids(options.uid_base, self.threads)
        if os.geteuid() == 0:
            sandbox_cgroup.remove_stale()  # left by a worker killed on this host
            for uid, _ in self.claims:  # a killed worker's kernels may still run as it
                sandbox.kill_uid(uid)
        for slot in range(len(self.claims)):
            self.slots.put(slot)
        rt = Runtime(
            seed=p.seed,
            limits=options.limits,
            cache=cache,
            home_template=home_template(cache),
            data_dir=data_dir(REPO_ROOT),
            sanitizer=sanitizer,
            capabilities=capabilities,
            uids=[uid for uid, _ in self.claims],
            fast=options.fast,
        )
        if context_key(course, p.seed, rt.settings()) != p.context:
            raise GradingError(
                f"this worker's course or grading settings ({REPO_ROOT} on "
                f"{socket.gethostname()}) differ from the client's: another commit or another "
                f"environment; install the same commit of the course on every worker"
            )
        work = self.root / "work"
        work.mkdir()
        options = dataclasses.replace(options, out=self.root, source=REPO_ROOT)
        return Batch(options, self.root, self.root, work, rt, course, "")

    def close(self) -> None:
        with self.lock:
            self.closing = True
            busy = self.active
        if not busy:
            self._free()

    def _free(self) -> None:
        claims, self.claims = self.claims, []
        for _, fd in claims:
            os.close(fd)
        shutil.rmtree(self.root, ignore_errors=True)


def _state(token: str) -> _WorkerState:
    state = _STATES.get(token)
    if state is None:
        raise GradingError(f"this worker has no grading plugin for run {token}")
    return state


def _reference_folder(batch: Batch, content_hash: str) -> Path:
    rt = dataclasses.replace(batch.rt, seed=seed_for(batch, content_hash))
    return rt.cache / f"reference-{context_key(batch.course, rt.seed, rt.settings())}"


def reference_task(token: str, content_hash: str) -> Files:
    """The reference run for the seed of the submission with ``content_hash``: its folder's
    files (templates, tuning exports), computed on this worker unless cached here."""
    with _state(token).slot() as (batch, slot):
        rt = dataclasses.replace(batch.rt, seed=seed_for(batch, content_hash))
        _, folder = references_for(batch, rt, slot)
        return read_reference(folder)


def write_reference(folder: Path, files: dict[str, bytes]) -> None:
    """A reference folder from :func:`reference_task`'s files, atomically."""
    with atomic_directory(folder) as tmp:
        for rel, data in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)


def read_reference(folder: Path) -> Files:
    """A reference folder's files (templates, tuning exports), for a task or the client."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    return Files({p.relative_to(folder).as_posix(): p.read_bytes() for p in paths})


def grade_task(token: str, student: str, content_hash: str, files: Files, reference: Files) -> dict:
    """Grade one submission on this worker; returns its result as JSON (never stores it)."""
    state = _state(token)
    with state.slot() as (batch, slot):
        folder = _reference_folder(batch, content_hash)
        with state.lock:  # another thread may be placing the same reference
            if not folder.exists():  # computed on another worker, or cached by the client
                write_reference(folder, reference.files)
        root = Path(tempfile.mkdtemp(prefix=f"sub{slot}-", dir=batch.work))
        tree = root / "submission"
        tree.mkdir()
        for rel, data in files.files.items():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_bytes(data)
        try:
            result = grade_submission(batch, Submission(tree, student, content_hash), slot)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "result": result.to_json(),
        "network": batch.network,
        "host": socket.gethostname(),
        "capabilities": batch.rt.capabilities,
    }
