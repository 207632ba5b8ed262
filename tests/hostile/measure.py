"""Grade the hostile corpus as an instructor would, three times, and print expected vs got.

    .venv/bin/python tests/hostile/measure.py OUT [--cases perfect release ...] [--workers 2]

1. one batch under a fresh secret (each submission its own seed), timed;
2. the same batch into another folder, the grader killed (``kill -9`` of its process alone)
   once a result is stored, then resumed at once: nothing lost or doubled;
3. the submissions in a shuffled order under another fresh secret.

Prints, per case and run, the expected and the measured points, whether the reference had full
marks, and each run's wall time. Runs in real kernels on 01_knn; slow (two nbval runs per
submission: its own and the reference's for its seed).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from test_grade import LIMITS, POINTS, _build, _student  # noqa: E402

from cs231n_course.release import build_release  # noqa: E402
from cs231n_course.solutions import fill_regions, solution_regions  # noqa: E402
from hostile import CASES, Bases, expected_points, remove_chains  # noqa: E402


def _cli(subs: list[Path], out: Path, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "cs231n_course", "grade", *map(str, subs), "--out", str(out),
        "--workers", str(workers), "--notebooks", "01_knn",
        # the default cell timeout: on a loaded machine the reference's timing cell needs it
        "--cpu", str(LIMITS.cpu_seconds),
        "--notebook-timeout", str(LIMITS.notebook_timeout),
        "--memory", str(LIMITS.memory_bytes >> 20), "--no-progress",
    ]  # fmt: skip


def _rows(out: Path) -> dict[str, dict[str, float]]:
    with open(out / "gradebook.csv") as f:
        return {r.pop("student"): {k: float(v) for k, v in r.items()} for r in csv.DictReader(f)}


def _run(subs, out, workers, *, kill_after_first=False) -> float:
    start = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    proc = subprocess.Popen(_cli(subs, out, workers), env=env, stdout=subprocess.DEVNULL)
    if kill_after_first:
        while not list((out / ".grader" / "results").glob("*/*.json")) and proc.poll() is None:
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        print(f"  killed after {len(list((out / '.grader/results').glob('*/*.json')))} result(s)")
        proc = subprocess.Popen(_cli(subs, out, workers), env=env, stdout=subprocess.DEVNULL)
    proc.wait()
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--cases", nargs="+")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    root = args.out.resolve()
    repo = TESTS.parent
    build_release(repo, root / "release")
    build_release(repo, root / "perfect")
    fill_regions(root / "perfect", solution_regions(repo))
    bases = Bases(root / "release", root / "perfect", repo)
    cases = [c for c in CASES if not args.cases or c.name in args.cases]
    for case in cases:
        (root / "build" / case.name).mkdir(parents=True)
    subs = [_build(case, bases, root) for case in cases]
    shuffled = subs[:]
    random.Random(17).shuffle(shuffled)
    runs = [("batch", subs, {}), ("killed+resumed", subs, {"kill_after_first": True})]
    runs.append(("shuffled, new secret", shuffled, {}))
    table, ok = {}, True
    try:
        for label, order, kw in runs:
            out = root / f"out-{len(table)}"
            seconds = _run(order, out, args.workers, **kw)
            rows = _rows(out)
            table[label] = rows
            print(f"{label}: {seconds:.0f} s wall, {len(rows)} students in the gradebook")
    finally:
        remove_chains(root / "subs")
    print(f"{'case':28s} {'expected':>8s} " + " ".join(f"{k[:14]:>14s}" for k in table))
    for case in cases:
        expected = sum(expected_points(case, POINTS).values())
        got = [table[k].get(_student(case), {}).get("total") for k in table]
        mark = "" if all(g == expected for g in got) else "  <-- differs"
        ok &= not mark
        print(f"{case.name:28s} {expected:8g} " + " ".join(f"{g!s:>14s}" for g in got) + mark)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
