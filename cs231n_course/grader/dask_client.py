"""Grade a batch on a Dask cluster: ``course grade ... --scheduler tcp://HOST:PORT`` or
``--cluster local``.

The client, the process that owns ``--out``, runs no kernel. It connects first (an unreachable
scheduler is a one-line error before anything is written), then hands
:func:`~cs231n_course.grader.batch.grade` a :class:`ClusterRunner`, so the lock, the
submissions, the seed, the result store and the reports are the local grader's own: the same
batch graded locally or on a cluster gives byte-identical gradebooks and feedback.

The runner registers a :class:`~cs231n_course.grader.dask_worker.GradingPlugin` with the
batch's settings and seed (why there and not in task arguments: that module's docstring), then
grades the pending submissions as a :class:`~cs231n_course.grader.dask_batch.ClusterBatch`
(tasks, the reference once per seed, results stored as they come back, and the faults: that
module's docstring).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from cs231n_course.grader import batch as local
from cs231n_course.grader.dask_batch import ClusterBatch, plugin_token
from cs231n_course.grader.dask_worker import GradingPlugin, make_payload
from cs231n_course.grader.types import Batch, BatchReport, GradeOptions, GradingError, Submission

try:  # instructor-only dependency: a plain `course grade` works without it
    import distributed
except ImportError:  # pragma: no cover - only where distributed is missing
    distributed = None


@dataclass(frozen=True)
class ClusterSpec:
    """Where to grade: a running scheduler's address, or a LocalCluster of ``local_workers``."""

    scheduler: str | None = None
    local_workers: int = 0  # > 0: start a LocalCluster with this many one-thread workers
    connect_timeout: float = 10.0  # seconds to reach the scheduler before giving up
    worker_timeout: float = 300.0  # seconds to wait for a worker (at the start, or all gone)


def grade_on_cluster(
    submissions: list[Path], options: GradeOptions, spec: ClusterSpec
) -> BatchReport:
    """Grade ``submissions`` into ``options.out`` on Dask; see the module docstring."""
    if distributed is None:
        raise GradingError(
            "grading on a cluster needs Dask's `distributed` package: "
            "pip install -r requirements-instructor.txt"
        )
    with connect(spec) as client:
        print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr, flush=True)
        return local.grade(submissions, options, runner=ClusterRunner(client, spec))


@contextlib.contextmanager
def connect(spec: ClusterSpec):
    """A connected Client (and the LocalCluster behind it, for ``--cluster local``)."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # our messages, not its logs
    if spec.local_workers:
        cluster = distributed.LocalCluster(
            n_workers=spec.local_workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
        )
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(spec.scheduler, timeout=spec.connect_timeout)
    except (OSError, TimeoutError, ValueError) as err:
        raise GradingError(
            f"cannot reach the Dask scheduler at {spec.scheduler} within "
            f"{spec.connect_timeout:g} s ({type(err).__name__}); start one with "
            f"`dask scheduler` or check the address"
        ) from None
    with client:
        yield client


class ClusterRunner:
    """``runner(batch, todo)`` for :func:`batch.grade`: grades ``todo`` on the cluster."""

    def __init__(self, client, spec: ClusterSpec):
        self.client, self.spec = client, spec
        self.run = secrets.token_hex(4)  # task keys of this client run
        self.references_run = 0  # reference tasks submitted to workers
        self.references_cached = 0  # references shipped from this machine's cache

    def __call__(self, batch: Batch, todo: list[Submission]) -> None:
        if not todo:
            return
        self._wait_for_workers(1)
        plugin = GradingPlugin(make_payload(batch, plugin_token(batch)))
        self.client.register_plugin(plugin, name=plugin.name)
        try:
            ClusterBatch(self, batch, todo).run()
            print(
                f"reference runs: {self.references_run} on workers, "
                f"{self.references_cached} from the cache in {batch.rt.cache}",
                file=sys.stderr,
            )
        finally:  # workers release their uids and folders
            with contextlib.suppress(Exception):
                self.client.unregister_worker_plugin(plugin.name)

    def _wait_for_workers(self, n: int) -> None:
        try:
            self.client.wait_for_workers(n, timeout=self.spec.worker_timeout)
        except (TimeoutError, OSError):
            raise GradingError(
                f"no Dask worker joined the scheduler at {self.client.scheduler.address} within "
                f"{self.spec.worker_timeout:g} s; start some with `dask worker "
                f"{self.client.scheduler.address}`"
            ) from None
