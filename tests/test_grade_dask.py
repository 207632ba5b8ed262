"""Grading on a real Dask cluster on 127.0.0.1: a `dask scheduler` and two `dask worker`
processes started here, the grader's command line as the client.

A small batch (the reference solution and a byte-identical copy of it under another name, the
untouched release, a partial solution, two hostile cases) is graded with per-submission seeds
from one secret: first on the cluster with an empty reference cache (so the workers run the
reference, once per seed), then locally on that cache. The gradebooks and feedback must be
byte-identical. Then the batch is graded again while one worker is killed with SIGKILL
mid-submission (it never comes back) and the client is killed and restarted mid-batch. A
submission that keeps killing its worker is stored as 0 with a reason; an unreachable
scheduler is a one-line error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import CASES, Bases

from cs231n_course import sandbox
from cs231n_course.release import build_release
from cs231n_course.solutions import fill_regions, solution_regions

distributed = pytest.importorskip("distributed")

CAPABILITIES = sandbox.probe()
pytestmark = [
    pytest.mark.notebook,
    pytest.mark.slow,
    pytest.mark.skipif(
        CAPABILITIES.get("mount+pid namespaces") != "ok",
        reason=f"grading needs mount and PID namespaces: {CAPABILITIES}",
    ),
]

UID_BASE = 63000  # test_grade.py uses 62000 and up
SECRET = "5" * 64  # one secret for every OUT here: the same per-submission seeds everywhere
CHOSEN = ("perfect", "release", "partial", "monkeypatch_numpy", "zip_slip")
TWIN = "perfect_twin"  # the bytes of `perfect` under another name: the same seed
LIMITS = ["--cell-timeout", "60", "--notebook-timeout", "400", "--cpu", "120", "--memory", "1536"]
REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
# The scheduler and workers log at info: what a secret must not appear in.
CLUSTER_ENV = {"DASK_LOGGING__DISTRIBUTED": "info"}


@pytest.fixture(scope="module")
def subs(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("dask-subs")
    build_release(REPO, root / "release")
    build_release(REPO, root / "perfect")
    fill_regions(root / "perfect", solution_regions(REPO))
    bases = Bases(root / "release", root / "perfect", REPO)
    out = []
    for case in (c for c in CASES if c.name in CHOSEN):
        (root / "build" / case.name).mkdir(parents=True)
        built = case.build(bases, root / "build" / case.name)
        final = root / "subs" / (case.name + (".zip" if built.suffix == ".zip" else ""))
        final.parent.mkdir(exist_ok=True)
        built.rename(final)
        out.append(final)
    shutil.copytree(root / "subs" / "perfect", root / "subs" / TWIN)
    return [*out, root / "subs" / TWIN]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A real `dask scheduler` and `dask worker` processes on 127.0.0.1."""

    def __init__(self, folder: Path, env: dict | None = None):
        self.folder, self.env = folder, {**ENV, **CLUSTER_ENV, **(env or {})}
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.procs: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}
        port = self.address.rsplit(":", 1)[1]
        dashboard = f"127.0.0.1:{_free_port()}"
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port,
                                  "--dashboard-address", dashboard])  # fmt: skip

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [str(DASK), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def add_worker(self, name: str, *, nanny: bool = False) -> None:
        args = ["worker", self.address, "--nthreads", "1", "--name", name]
        args += ["--host", "127.0.0.1", "--local-directory", str(self.folder / name)]
        args += [] if nanny else ["--no-nanny"]
        self.workers[name] = self._start(name, args)

    def wait_for_workers(self, n: int) -> None:
        with distributed.Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=60)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask-cluster"))
    c.add_worker("w1")
    c.add_worker("w2")
    c.wait_for_workers(2)
    yield c
    c.close()


def _out(folder: Path) -> Path:
    """A fresh OUT holding the shared secret (as if the instructor copied it there)."""
    (folder / ".grader").mkdir(parents=True, mode=0o700)
    (folder / ".grader" / "secret").write_text(SECRET + "\n")
    return folder


def _cli(subs, out: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cs231n_course", "grade", *map(str, subs), "--out", str(out),
            "--notebooks", "01_knn", "--cache", str(cache), "--uid-base", str(UID_BASE),
            *LIMITS, *extra]  # fmt: skip


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dask-cache")


@pytest.fixture(scope="module")
def graded(subs, cache, cluster, tmp_path_factory) -> tuple[Path, Path, str]:
    """(cluster OUT, local OUT, the cluster client's stderr): the cluster first, on an empty
    cache, so the workers run every reference; the local grader then uses that cache."""
    root = tmp_path_factory.mktemp("dask-graded")
    out = _out(root / "cluster")
    done = _run(_cli(subs, out, cache, "--scheduler", cluster.address))
    assert done.returncode == 0, done.stderr[-3000:]
    local = _out(root / "local")
    done_local = _run(_cli(subs, local, cache, "--workers", "2", "--no-progress"))
    assert done_local.returncode == 0, done_local.stderr[-3000:]
    return out, local, done.stderr


def _same_reports(a: Path, b: Path) -> None:
    assert (a / "gradebook.csv").read_bytes() == (b / "gradebook.csv").read_bytes()
    names = sorted(p.name for p in (a / "feedback").iterdir())
    assert names == sorted(p.name for p in (b / "feedback").iterdir())
    for name in names:
        assert (a / "feedback" / name).read_bytes() == (b / "feedback" / name).read_bytes()


def test_cluster_gradebook_is_byte_identical_to_local(graded, cache, cluster):
    out, local, stderr = graded
    _same_reports(out, local)
    rows = dict(line.split(",", 2)[:2] for line in (out / "gradebook.csv").read_text().split())
    assert rows["perfect"] == rows[TWIN] == "12" and rows["release"] == rows["zip_slip"] == "0"
    assert 0 < float(rows["partial"]) < 12 and float(rows["monkeypatch_numpy"]) < 12
    assert "Dask dashboard: http://127.0.0.1:" in stderr
    assert "done=6 failed=0 remaining=0" in stderr  # the bar's last state
    # Once per seed: perfect and its twin share one, zip_slip was refused on the client. The
    # twin joins perfect's task when it is queued while that task runs; queued after the task
    # ended (the order is the cluster's timing), it is a task of its own that ships the cached
    # reference. Either way no reference runs twice.
    runs = re.search(r"reference runs: (\d+) on workers, (\d+) from the cache", stderr)
    assert runs and runs[1] == "4" and runs[2] in ("0", "1"), stderr
    assert len(list(cache.glob("reference-*"))) == 4  # the client cached them; local reused
    # The twin has perfect's bytes: the same grade, stored for each (one task graded both when
    # it joined perfect's; a task of its own differs only in its run's statistics).
    results = out.glob(".grader/results/*/*.json")
    stored = {p.name.split("--")[0]: json.loads(p.read_text()) for p in results}
    for result in stored.values():
        result.pop("stats", None)
    assert stored["perfect"] == stored[TWIN] and len(stored) == 6
    assert "- kernels ran on: Dask workers on " in (out / "summary.md").read_text()


def test_secret_is_in_no_task_argument_or_log(graded, cluster):
    """The batch seed (from the secret) and every per-submission seed stay out of what Dask
    shows: the scheduler's task specs for a live batch and every process's log."""
    out, _, stderr = graded
    from cs231n_course.grader.environment import grading_seed
    from cs231n_course.grader.submission import submission_seed

    seed, _ = grading_seed(None, out / ".grader")
    hashes = [p.stem.split("--")[1] for p in (out / ".grader" / "results").glob("*/*.json")]
    seeds = {str(seed), SECRET, *(str(submission_seed(seed, h)) for h in hashes)}
    for name in ("scheduler", "w1", "w2"):
        text = cluster.log(name)
        assert "cs231n-grading-" in text or name == "scheduler"  # the logs were written
        assert not [s for s in seeds if s in text], name
    assert not [s for s in seeds if s in stderr]


def test_cluster_local_starts_its_own_workers(subs, cache, graded, tmp_path):
    """``--cluster local``: a LocalCluster on this machine, no scheduler to start by hand."""
    _, local, _ = graded
    two = [s for s in subs if s.name in ("partial", "zip_slip.zip")]
    out = _out(tmp_path / "out")
    done = _run(_cli(two, out, cache, "--cluster", "local", "--workers", "1", "--no-progress"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Dask dashboard: http://127.0.0.1:" in done.stderr
    for name in ("partial.md", "zip_slip.md"):
        assert (out / "feedback" / name).read_bytes() == (local / "feedback" / name).read_bytes()


def _running_on(address: str, worker_name: str | None, timeout: float = 300) -> None:
    """Wait until ``worker_name`` (None: any worker) executes a grading task."""
    deadline = time.monotonic() + timeout
    with distributed.Client(address, timeout=30) as client:
        while time.monotonic() < deadline:
            info = client.scheduler_info(n_workers=-1)["workers"]
            busy = client.processing()
            watched = [a for a, w in info.items() if worker_name in (None, w["name"])]
            if any("cs231n-grade-" in str(k) for a in watched for k in busy.get(a, ())):
                return
            time.sleep(0.2)
    raise AssertionError(f"{worker_name or 'no worker'} never started a grading task")


def test_worker_killed_and_client_restarted_mid_batch(subs, cache, graded, cluster, tmp_path):
    _, local, _ = graded
    out = _out(tmp_path / "out")
    cmd = _cli(subs, out, cache, "--scheduler", cluster.address, "--no-progress")
    client = subprocess.Popen(
        cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    _running_on(cluster.address, "w1")
    time.sleep(1.5)  # well inside the submission: its kernel is running
    cluster.workers["w1"].kill()  # SIGKILL, no nanny: it never comes back
    results = out / ".grader" / "results"
    deadline = time.monotonic() + 300
    while len(list(results.glob("*/*.json"))) < 3 and time.monotonic() < deadline:
        assert client.poll() is None, client.stderr.read().decode()[-3000:]
        time.sleep(0.1)
    os.killpg(client.pid, signal.SIGKILL)  # the client dies mid-batch too
    client.wait()
    stored = {p.name for p in results.glob("*/*.json")}
    assert 3 <= len(stored) < len(subs)
    done = _run(cmd)  # restarted: resumes on the one worker left
    assert done.returncode == 0, done.stderr[-3000:]
    after = {p.name for p in results.glob("*/*.json")}
    assert stored <= after and len(after) == len(subs)  # none lost, none doubled
    summary = (out / "summary.md").read_text()
    assert f"{len(subs) - len(stored)} graded now, {len(stored)} already graded" in summary
    assert "reference runs: 0 on workers" in done.stderr  # every seed came from the cache
    _same_reports(out, local)


def test_no_worker_left_ends_the_batch_with_what_is_not_graded(subs, cache, graded, cluster):
    """The only worker dies and none comes back: after --worker-timeout the batch ends, the
    submission is listed as not graded (nothing stored, so the next run grades it).

    On the module's cluster, whose last worker this kills (w1 died in the test before): so it
    comes after every other test of that cluster.
    """
    partial = [s for s in subs if s.name == "partial"]
    out = _out(cluster.folder / "no-worker-out")
    cmd = _cli(partial, out, cache, "--scheduler", cluster.address, "--no-progress")
    client = subprocess.Popen(
        [*cmd, "--worker-timeout", "3"],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _running_on(cluster.address, None)
    for worker in cluster.workers.values():  # every one still alive: no nanny, none comes back
        with contextlib.suppress(ProcessLookupError):
            worker.kill()
    _, err = client.communicate(timeout=120)
    assert client.returncode == 1, err[-3000:]
    assert not list((out / ".grader" / "results").glob("*/*.json"))
    summary = (out / "summary.md").read_text()
    assert "1 could not be graded" in summary and "no Dask worker left for 3 s" in summary


def test_submission_that_keeps_killing_its_worker_scores_zero(subs, cache, graded, tmp_path):
    c = Cluster(tmp_path, env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    try:
        c.add_worker("w1", nanny=True)
        c.wait_for_workers(1)
        partial = [s for s in subs if s.name == "partial"]
        out = _out(tmp_path / "out")
        cmd = _cli(partial, out, cache, "--scheduler", c.address, "--no-progress")
        client = subprocess.Popen(
            cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        _running_on(c.address, "w1")
        with distributed.Client(c.address, timeout=30) as dc:
            (pid,) = dc.run(os.getpid).values()
        time.sleep(1.0)
        os.kill(pid, signal.SIGKILL)  # the worker process under the nanny
        _, err = client.communicate(timeout=300)
        assert client.returncode == 0, err[-3000:]
    finally:
        c.close()
    gradebook = (out / "gradebook.csv").read_text().splitlines()
    assert gradebook[1].startswith("partial,0,")
    feedback = (out / "feedback" / "partial.md").read_text()
    assert "crashed the grading worker again and again" in feedback
    assert "KilledWorker" in (out / ".grader" / "errors.log").read_text()


def test_unreachable_scheduler_is_a_quick_one_line_error(subs, tmp_path):
    port = _free_port()  # nothing listens there
    cmd = _cli(subs[:1], tmp_path / "out", tmp_path / "cache")
    done = _run([*cmd, "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2"])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Dask scheduler"), lines
    assert "within 2 s" in lines[0]  # --connect-timeout, not a wait for anything else
    assert not (tmp_path / "out").exists()  # nothing written before the cluster was reached
