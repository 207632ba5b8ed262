"""Grading on a Dask cluster: throughput with 1 and 2 workers, scheduling overhead per
submission, nbgrader and otter-grader side by side, and a projection for a 700-student deadline.

    nice .venv/bin/python benchmarks/grading_cluster.py [--copies 4] [--notebooks 01_knn]
                                                        [--no-compare]

In one run, on the same ``--copies`` distinct copies of the reference solution (as
``grading_throughput.py`` makes them), each batch with the same secret and an empty reference
cache, so every batch does the same work: per submission one reference run (each submission has
a seed of its own) and one grading run, all in the sandbox:

1. ``course grade --workers 1`` (local) and a real ``dask scheduler`` with one
   ``dask worker --nthreads 1`` on 127.0.0.1: the scheduling overhead per submission is
   (cluster wall - local wall) / submissions;
2. the same cluster with a second worker: submissions per minute with 1 and 2 workers and the
   scaling ratio; and ``course grade --workers 2`` for the same two cores without Dask;
3. nbgrader's ``autograde`` (a course folder made from our release: the check cells become
   nbgrader's autograded cells, a raised check scores 0) and otter-grader's ``otter run`` (one
   test per check cell calling the same ``check``) on the same notebooks. Both run the student's
   notebook in a plain kernel: no sandbox, no hidden seed, no reference run. They are installed
   from PyPI into ``benchmarks/.venv-compare`` (ignored by git, never a project requirement):

       python3.11 -m venv benchmarks/.venv-compare
       benchmarks/.venv-compare/bin/pip install nbgrader otter-grader numpy matplotlib Pillow tqdm

   Without that venv they are skipped with a message saying so;
4. a projection for 700 submissions of the graded notebooks on 8 and 64 workers from the
   measured wall time per submission on one cluster worker, assuming a core per worker. It is a
   projection, not a measurement.

The machine is shared: the load average before and after is printed with the numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading_throughput import perfect_copies  # noqa: E402

from cs231n_course.release import build_release  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
COMPARE = REPO / "benchmarks" / ".venv-compare" / "bin"
SECRET = "b" * 64
KERNEL_ENV = {  # what the grader's kernels get; nbgrader's and otter's get the same
    "CS231N_FAST": "1",
    "MPLBACKEND": "Agg",
    "OPENBLAS_NUM_THREADS": "1",
    "CS231N_DATA_DIR": str(REPO / "datasets"),
}
ENV = {**os.environ, **KERNEL_ENV, "PYTHONPATH": str(REPO), "DASK_LOGGING__DISTRIBUTED": "error"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _out(folder: Path) -> Path:
    (folder / ".grader").mkdir(parents=True, mode=0o700)
    (folder / ".grader" / "secret").write_text(SECRET + "\n")
    return folder


def grade_cmd(subs, out: Path, notebooks, *extra) -> list[str]:
    return [sys.executable, "-m", "cs231n_course", "grade", *map(str, subs), "--out",
            str(_out(out)), "--cache", str(out / "cache"), "--notebooks", *notebooks,
            "--uid-base", "63200", "--no-progress", *extra]  # fmt: skip


def timed(cmd, env=ENV, cwd=None) -> float:
    start = time.monotonic()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd[:6]))}... failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - start


class Cluster:
    """A `dask scheduler` and `dask worker --nthreads 1` processes on 127.0.0.1."""

    def __init__(self, folder: Path):
        self.address = f"tcp://127.0.0.1:{_port()}"
        self.folder, self.procs = folder, []
        self._start(["scheduler", "--host", "127.0.0.1", "--port", self.address.split(":")[-1],
                     "--dashboard-address", f"127.0.0.1:{_port()}"])  # fmt: skip

    def _start(self, args):
        log = open(self.folder / f"dask-{len(self.procs)}.log", "wb")  # noqa: SIM115
        self.procs.append(
            subprocess.Popen([str(DASK), *args], env=ENV, stdout=log, stderr=subprocess.STDOUT)
        )

    def add_worker(self) -> None:
        n = len(self.procs)
        self._start(["worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                     "--local-directory", str(self.folder / f"w{n}")])  # fmt: skip
        import distributed

        with distributed.Client(self.address, timeout=30) as c:
            c.wait_for_workers(n, timeout=120)

    def close(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a loaded machine: do not lose the numbers
                p.kill()
                p.wait()


# -- nbgrader and otter-grader on the same notebooks -------------------------------------------


def _graded_code_cells(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            yield cell, meta


def _as_nbgrader(src: Path, dst: Path) -> None:
    """Our notebook with nbgrader's full cell metadata on the check cells (autograded, locked);
    the inline questions (TA-graded) are left out of both sides."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.pop("nbgrader", None)
        if meta and cell.cell_type == "code" and meta.get("grade"):
            cell.metadata["nbgrader"] = {"grade": True, "grade_id": meta["grade_id"],
                "points": meta["points"], "solution": False, "locked": True,
                "schema_version": 3, "task": False}  # fmt: skip
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)


def run_nbgrader(release: Path, subs: list[Path], notebooks: list[str], root: Path):
    """(wall seconds of `nbgrader autograde`, {student: score}) for ``subs``."""
    course = root / "nbgrader"
    (course / "source" / "a").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.course_id = 'cs231n'\nc.ExecutePreprocessor.timeout = 600\n"
    )
    for name in notebooks:
        _as_nbgrader(release / "notebooks" / name, course / "source" / "a" / name)
    env = {**ENV, "PATH": f"{COMPARE}:{ENV['PATH']}"}
    env.pop("PYTHONPATH")
    nbg = str(COMPARE / "nbgrader")
    for sub in subs:
        folder = course / "submitted" / sub.name / "a"
        for name in notebooks:
            _as_nbgrader(sub / "notebooks" / name, folder / name)
        shutil.copytree(sub / "cs231n_lib", folder / "cs231n_lib")  # the student's library
        timed([nbg, "db", "student", "add", sub.name], env, course)
    timed([nbg, "db", "assignment", "add", "a"], env, course)
    timed([nbg, "generate_assignment", "a", "--force"], env, course)
    seconds = timed([nbg, "autograde", "a", "--force"], env, course)
    timed([nbg, "export", "--to", str(root / "nbgrader.csv")], env, course)
    with open(root / "nbgrader.csv") as f:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    return seconds, scores


def run_otter(release: Path, subs: list[Path], notebooks: list[str], root: Path):
    """(wall seconds of `otter run` over ``subs``, one after another, {student: score})."""
    folder = root / "otter"
    (folder / "tests").mkdir(parents=True)
    for name in notebooks:
        nb = nbformat.read(release / "notebooks" / name, as_version=4)
        for cell, meta in _graded_code_cells(nb):
            call = cell.source.strip()
            names = sorted({a.split("=")[1].strip(") ") for a in call.split(",")[1:]})
            (folder / "tests" / f"{meta['grade_id']}.py").write_text(
                f"from otter.test_files import test_case\n\nOK_FORMAT = False\n"
                f"name = {meta['grade_id']!r}\npoints = {meta['points']}\n\n\n"
                f"@test_case(points={meta['points']})\n"
                f"def test_check({', '.join(['check', *names])}):\n    {call}\n"
            )
    (folder / "otter_config.json").write_text(json.dumps({"lang": "python"}))
    env = {**ENV, "PATH": f"{COMPARE}:{ENV['PATH']}"}
    otter = str(COMPARE / "otter")
    timed([otter, "generate", "-t", "tests", "--no-requirements", "--no-environment",
           "-o", "autograder.zip"], env, folder)  # fmt: skip
    seconds, scores = 0.0, {}
    for sub in subs:
        if len(notebooks) != 1:
            raise SystemExit("the otter comparison grades one notebook: pass --notebooks X")
        res = folder / "results" / sub.name
        res.mkdir(parents=True)
        shutil.copy(sub / "notebooks" / notebooks[0], res / "submission.ipynb")
        student_env = {**env, "PYTHONPATH": str(sub)}  # the student's cs231n_lib
        cmd = [otter, "run", "-a", str(folder / "autograder.zip"), "-o", str(res), "--no-logo",
               str(res / "submission.ipynb")]  # fmt: skip
        seconds += timed(cmd, student_env, folder)
        tests = json.loads((res / "results.json").read_text())["tests"]
        scores[sub.name] = sum(t.get("score") or 0 for t in tests)
    return seconds, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--notebooks", nargs="+", default=["01_knn.ipynb"])
    parser.add_argument("--no-compare", action="store_true", help="skip nbgrader and otter")
    args = parser.parse_args()
    notebooks = [n if n.endswith(".ipynb") else f"{n}.ipynb" for n in args.notebooks]
    root = Path(tempfile.mkdtemp(prefix="grading-cluster-"))
    try:
        subs = perfect_copies(root, args.copies)
        n = len(subs)
        load_before = os.getloadavg()
        compare = None
        if args.no_compare:
            compare = "skipped (--no-compare)"
        elif not (COMPARE / "nbgrader").exists() or not (COMPARE / "otter").exists():
            compare = (
                f"skipped: no {COMPARE.parent}; to enable, run `python3.11 -m venv "
                f"benchmarks/.venv-compare && benchmarks/.venv-compare/bin/pip install nbgrader "
                f"otter-grader numpy matplotlib Pillow tqdm` (the project never requires them)"
            )
        else:
            release = root / "release"
            build_release(REPO, release)
            t_nbg, nbg_scores = run_nbgrader(release, subs, notebooks, root)
            print(f"measured nbgrader: {t_nbg:.1f} s", flush=True)
            t_otter, otter_scores = run_otter(release, subs, notebooks, root)
            print(f"measured otter: {t_otter:.1f} s", flush=True)
        t_local1 = timed(grade_cmd(subs, root / "local1", notebooks, "--workers", "1"))
        print(f"measured local, 1 worker: {t_local1:.1f} s", flush=True)
        cluster = Cluster(root)
        try:
            cluster.add_worker()
            sched = ["--scheduler", cluster.address]
            t_one = timed(grade_cmd(subs, root / "c1", notebooks, *sched))
            print(f"measured cluster, 1 worker: {t_one:.1f} s", flush=True)
            cluster.add_worker()
            t_two = timed(grade_cmd(subs, root / "c2", notebooks, *sched))
            print(f"measured cluster, 2 workers: {t_two:.1f} s", flush=True)
        finally:
            cluster.close()
        t_local2 = timed(grade_cmd(subs, root / "local2", notebooks, "--workers", "2"))
        print(f"measured local, 2 workers: {t_local2:.1f} s", flush=True)
        books = {d: (root / d / "gradebook.csv").read_bytes() for d in ("c1", "c2", "local2")}
        same = all(b == (root / "local1" / "gradebook.csv").read_bytes() for b in books.values())
        ours_scores = sorted({float(row["total"]) for row in csv.DictReader(
            books["c1"].decode().splitlines())})  # fmt: skip
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    what = ", ".join(notebooks)
    per_local = t_local1 / n
    per_one = t_one / n
    overhead = (t_one - t_local1) / n
    print(
        f"{n} distinct submissions ({what}), each with its own seed (one secret); nice "
        f"{os.nice(0)}; load average before {load_before[0]:.1f}, after {load_after[0]:.1f} on "
        f"{os.cpu_count()} cores. Every batch: {n} reference runs + {n} grading runs, sandboxed."
    )
    print(f"local,   1 worker : {t_local1:6.1f} s  {60 * n / t_local1:5.2f} submissions/min")
    print(f"cluster, 1 worker : {t_one:6.1f} s  {60 * n / t_one:5.2f} submissions/min")
    print(f"cluster, 2 workers: {t_two:6.1f} s  {60 * n / t_two:5.2f} submissions/min")
    print(f"local,   2 workers: {t_local2:6.1f} s  {60 * n / t_local2:5.2f} submissions/min")
    print(f"scaling, cluster 2 workers / 1 worker: {t_one / t_two:.2f}x (local: "
          f"{t_local1 / t_local2:.2f}x)")  # fmt: skip
    print(
        f"scheduling overhead per submission (cluster 1 - local 1, per submission): "
        f"{overhead:+.2f} s ({100 * overhead / per_local:+.0f}% of {per_local:.2f} s)"
    )
    print(f"gradebooks byte-identical (local 1, cluster 1, cluster 2, local 2): {same}; "
          f"scores {ours_scores}")  # fmt: skip
    if compare is None:
        print(f"nbgrader autograde  : {t_nbg:6.1f} s  {60 * n / t_nbg:5.2f} submissions/min; "
              f"scores {sorted(set(nbg_scores.values()))}")  # fmt: skip
        print(f"otter run (one by one): {t_otter:6.1f} s  {60 * n / t_otter:5.2f} "
              f"submissions/min; scores {sorted(set(otter_scores.values()))}")  # fmt: skip
        print(
            f"ratio, ours local 1 worker / nbgrader: {t_local1 / t_nbg:.2f}x the time, / otter: "
            f"{t_local1 / t_otter:.2f}x (ours also runs one reference run per submission and "
            f"sandboxes both; they run the student's notebook once, unsandboxed, no hidden seed)"
        )
    else:
        print(f"nbgrader and otter-grader: {compare}")
    for workers in (8, 64):
        minutes = 700 * per_one / workers / 60
        print(
            f"PROJECTION, not a measurement: 700 submissions of {what} on {workers} workers, a "
            f"core each, at {per_one:.1f} s per submission per worker (measured above, 1 "
            f"cluster worker): {minutes:.1f} min"
        )


if __name__ == "__main__":
    main()
