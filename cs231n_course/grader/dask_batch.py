"""One batch on a Dask cluster, as the client runs it (:mod:`~cs231n_course.grader.dask_client`
connects and registers the workers' plugin first).

1. Each pending submission is unpacked here, safely; a refused one is scored here and never
   leaves this machine, the others become one task per submission whose arguments are the
   gradable files, the student id and the content hash.
2. The reference runs **once per seed**: a submission's seed comes from the secret and its
   content, so submissions with the same bytes share one. The first submission of a seed gets a
   ``reference_task`` (the grading task depends on it, so Dask runs it once, usually on the
   same worker, and moves its result where it is needed); when it finishes, the client stores
   it in its own reference cache (``OUT/.grader/cache`` or ``--cache``, the one a local run
   uses), so a restarted client or a later batch ships the cached reference inside the task
   and no worker runs it again.
3. Every result is stored as it comes back, at ``batch.result_path(sub)``; workers never write
   into ``OUT``. A killed client loses nothing stored: the next run grades what is missing.
   Submissions with the same content (two students, one zip) are one task, whose result is
   stored for each of them.

Faults. A worker killed mid-submission: the scheduler reruns its task on another worker (task
arguments live on the scheduler). A submission whose task killed more workers than the
scheduler's ``distributed.scheduler.allowed-failures`` (default 3) ends as ``KilledWorker``
and is stored as 0 with that reason, so it cannot stall the batch. No worker left for
``worker_timeout`` seconds: what is not graded is reported as not graded (not stored, so the
same command grades it later) and the batch ends with the reports.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from cs231n_course.grader import batch as local
from cs231n_course.grader.course import context_key
from cs231n_course.grader.dask_worker import (
    Files,
    grade_task,
    read_reference,
    reference_task,
    write_reference,
)
from cs231n_course.grader.submission import refused_result, seed_for
from cs231n_course.grader.types import (
    Batch,
    ExerciseResult,
    GradingError,
    Submission,
    SubmissionResult,
)
from cs231n_course.grader.unpack import SubmissionError, unpack

if TYPE_CHECKING:  # the runner that hands a batch here (annotations only)
    from cs231n_course.grader.dask_client import ClusterRunner

try:  # instructor-only dependency: a plain `course grade` works without it
    import distributed
except ImportError:  # pragma: no cover - only where distributed is missing
    distributed = None

CRASHED = (
    "grading this submission crashed the grading worker again and again, so it was stopped "
    "and scores 0; tell the course staff if you think the grader is at fault"
)


def plugin_token(batch: Batch) -> str:
    """A random name for this OUT's plugin, kept in ``OUT/.grader``: a restarted client
    replaces the plugin a killed one left on the workers (freeing its uids) instead of adding
    one. Random, not derived from the seed: worker logs print it."""
    path = batch.private / "dask-plugin-token"
    if not path.exists():
        path.write_text(secrets.token_hex(6))
    return path.read_text().strip()


class ClusterBatch:
    """One cluster batch: a bounded number of tasks in flight, results stored as they come."""

    def __init__(self, runner: ClusterRunner, batch: Batch, todo: list[Submission]):
        self.runner, self.client, self.batch = runner, runner.client, batch
        self.token = plugin_token(batch)
        self.waiting = list(reversed(todo))
        self.total = len(todo)
        self.grading: dict = {}  # grade future -> (submission, seed)
        self.twins: dict = {}  # grade future -> later submissions with the same content
        self.by_hash: dict[str, object] = {}  # content hash -> its grade future in flight
        self.references: dict[int, object] = {}  # seed -> reference future
        self.users: dict[int, int] = {}  # seed -> grade futures still needing it
        self.watched: dict = {}  # reference future -> seed, until cached here
        self.done = self.failed = 0
        self.capabilities: dict[str, dict] = {}
        self.bar = tqdm(
            total=self.total,
            desc="grading",
            unit="submission",
            disable=not batch.options.progress,
            file=sys.stderr,
        )

    def run(self) -> None:
        no_worker_since = None
        self._top_up()
        while self.grading:
            try:
                finished, _ = distributed.wait(
                    [*self.grading, *self.watched], timeout=2, return_when="FIRST_COMPLETED"
                )
            except TimeoutError:
                finished = []
            for future in finished:
                if future in self.watched:
                    self._cache_reference(future)
                elif future in self.grading:
                    self._collect(future)
            if self.client.nthreads():
                no_worker_since = None
            elif no_worker_since is None:
                no_worker_since = time.monotonic()
            elif time.monotonic() - no_worker_since > self.runner.spec.worker_timeout:
                self._give_up()
            self._top_up()
        self.bar.close()
        self._report_capabilities()

    # -- submitting ----------------------------------------------------------------------

    def _top_up(self) -> None:
        limit = max(4, 2 * sum(self.client.nthreads().values()))
        while self.waiting and len(self.grading) < limit:
            sub = self.waiting.pop()
            twin_of = self.by_hash.get(sub.content_hash)
            if twin_of is not None and not sub.problem:  # the same bytes: the same grade
                self.twins[twin_of].append(sub)
                continue
            files = self._shippable(sub)
            if files is not None:
                self._submit(sub, files)

    def _shippable(self, sub: Submission) -> dict[str, bytes] | None:
        """The gradable files of ``sub`` as the safe unpacker takes them; None if refused
        (then stored here with the reason, exactly as the local grader scores it)."""
        batch = self.batch
        if sub.problem:
            self._store(sub, refused_result(batch.course, sub.content_hash, sub.problem))
            return None
        staging = batch.work / "client-staging"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            unpacked = unpack(sub, staging, batch.options.unpack_limits)
            return {rel: (staging / rel).read_bytes() for rel in unpacked.files}
        except SubmissionError as err:
            self._store(sub, refused_result(batch.course, sub.content_hash, err.message))
            return None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _submit(self, sub: Submission, files: dict[str, bytes]) -> None:
        batch, client = self.batch, self.client
        seed = seed_for(batch, sub.content_hash)
        n = self.total - len(self.waiting)
        reference = self.references.get(seed)
        if reference is None:
            cached = _client_reference(batch, seed)
            if cached.exists():  # shipped inside the task: no worker runs it again
                reference = read_reference(cached)
                self.runner.references_cached += 1
            else:
                reference = client.submit(
                    reference_task,
                    self.token,
                    sub.content_hash,
                    key=f"cs231n-reference-{self.runner.run}-{n}",
                    pure=False,
                )
                self.watched[reference] = seed
                self.runner.references_run += 1
            self.references[seed] = reference
        self.users[seed] = self.users.get(seed, 0) + 1
        future = client.submit(
            grade_task,
            self.token,
            sub.student,
            sub.content_hash,
            Files(files),
            reference,
            key=f"cs231n-grade-{self.runner.run}-{n}-{sub.content_hash[:12]}",
            pure=False,
        )
        self.grading[future] = (sub, seed)
        self.twins[future] = []
        self.by_hash[sub.content_hash] = future

    # -- collecting ----------------------------------------------------------------------

    def _cache_reference(self, future) -> None:
        """Keep a finished reference run in the client's cache (the one a local run uses)."""
        seed = self.watched.pop(future)
        if future.status != "finished":
            return  # its grading tasks report the error
        folder = _client_reference(self.batch, seed)
        if not folder.exists():
            files = future.result().files
            for rel in files:
                if rel.startswith("/") or ".." in Path(rel).parts:
                    raise GradingError(f"a worker returned a reference file named {rel!r}")
            write_reference(folder, files)

    def _collect(self, future) -> None:
        first, seed = self.grading.pop(future)
        self.by_hash.pop(first.content_hash, None)
        for sub in [first, *self.twins.pop(future, [])]:  # one content, one grade: each stored
            self._store_outcome(sub, future)
        future.release()
        self.users[seed] -= 1
        if not self.users[seed]:  # a later submission of this seed ships it from the cache
            del self.users[seed]
            reference = self.references.pop(seed)
            if hasattr(reference, "release") and reference not in self.watched:
                reference.release()

    def _store_outcome(self, sub: Submission, future) -> None:
        batch = self.batch
        try:
            payload = future.result()
        except distributed.KilledWorker as err:
            if not str(err.task).startswith("cs231n-grade-"):  # the reference run's workers
                self._fail(sub, f"the reference run for this submission's seed killed its "
                                f"workers: {err}", traceback.format_exc())  # fmt: skip
            else:
                self._log(sub, f"stored as 0: {CRASHED}\nKilledWorker: {err}")
                self._store(sub, _crashed(batch, sub), f"{sub.student}: crashed, 0", crashed=True)
        except Exception as err:  # never lose the batch to one submission
            self._fail(sub, f"{type(err).__name__}: {err}", traceback.format_exc())
        else:
            result = SubmissionResult.from_json(payload["result"])
            batch.network = payload.get("network") or batch.network
            self.capabilities[payload["host"]] = payload["capabilities"]
            self._store(sub, result, f"{sub.student}: {result.total:g}/{result.max_total:g}")

    def _store(
        self, sub: Submission, result: SubmissionResult, shown: str = "", crashed: bool = False
    ) -> None:
        """Store a result (the only writer into OUT); the bar counts a crash-to-0 as failed."""
        local.store_result(self.batch.result_path(sub), result)
        if crashed:
            self.failed += 1
        else:
            self.done += 1
        self._status(shown)

    def _fail(self, sub: Submission, reason: str, details: str) -> None:
        self.batch.failed.append((sub.student, reason[:2000]))
        self._log(sub, details)
        self.failed += 1
        self._status()

    def _status(self, shown: str = "") -> None:
        left = self.total - self.done - self.failed
        text = f"done={self.done} failed={self.failed} remaining={left}"
        self.bar.set_postfix_str(f"{text} {shown}".rstrip(), refresh=False)
        self.bar.update(1)

    def _log(self, sub: Submission, text: str) -> None:
        with open(self.batch.private / "errors.log", "a") as log:
            log.write(f"--- {sub.student} ({sub.path}) [cluster]\n{text}\n")

    def _give_up(self) -> None:
        """No worker for too long: report the rest as not graded (not stored: a re-run
        grades them) instead of waiting forever."""
        reason = (
            f"not graded: no Dask worker left for {self.runner.spec.worker_timeout:g} s; "
            f"start workers and run the same command again"
        )
        for future, (sub, _) in list(self.grading.items()):
            future.release()
            for each in [sub, *self.twins.pop(future, [])]:
                self._fail(each, reason, reason)
        self.grading.clear()
        self.by_hash.clear()
        while self.waiting:
            sub = self.waiting.pop()
            self._fail(sub, reason, reason)

    def _report_capabilities(self) -> None:
        """The summary's isolation lines: the workers' (this process ran no kernel)."""
        hosts = sorted(self.capabilities)
        where = {"kernels ran on": f"Dask workers on {', '.join(hosts) or 'no host'}"}
        kinds = {tuple(sorted(c.items())) for c in self.capabilities.values()}
        if len(kinds) == 1:
            self.batch.rt.capabilities = {**where, **dict(next(iter(kinds)))}
        else:
            self.batch.rt.capabilities = where | {
                f"{k} ({host})": v for host in hosts for k, v in self.capabilities[host].items()
            }


def _client_reference(batch: Batch, seed: int) -> Path:
    """Where this machine caches the reference run of ``seed`` (as a local run would)."""
    key = context_key(batch.course, seed, batch.rt.settings())
    return batch.rt.cache / f"reference-{key}"


def _crashed(batch: Batch, sub: Submission) -> SubmissionResult:
    exercises = [
        ExerciseResult(g.exercise, g.notebook, 0, g.points, False, "not graded: worker crashed")
        for g in batch.course.graded
    ]
    return SubmissionResult(sub.content_hash, batch.course.max_points, exercises, CRASHED)
