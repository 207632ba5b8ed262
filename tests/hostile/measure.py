"""Grade the hostile corpus as an instructor would, three times, and print expected vs got.

    nice .venv/bin/python tests/hostile/measure.py OUT [--cases perfect release ...]
        [--workers 2] [--cell-timeout 60]

Every case of ``tests/hostile`` (the reference ``perfect`` and the untouched ``release``
among them) is built once into ``OUT/subs`` and graded by the ``grade`` command, each run into
a fresh folder, so each run has a fresh secret and every submission a seed of its own:

1. ``batch``: one batch in corpus order, timed;
2. ``killed``: the same batch, the grader killed (``kill -9`` of its process alone) once half
   the results are stored, then run again at once: no process of the killed run may outlive
   it by more than 5 s, the re-run must take over (no "another grade run" refusal), skip
   exactly the stored results and grade exactly the rest;
3. ``shuffled``: the submissions in a shuffled order under another fresh secret.

Prints, per case, the expected total and the total each run gave (a case whose points per
exercise or whose feedback page differ from its expectation is marked), whether the reference
had full marks in every run, each run's wall time, and a verdict line; exits 1 unless every
check held. Slow: real kernels on 01_knn, two nbval runs per graded submission (its own and
the reference's for its seed).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from test_grade import LIMITS, POINTS, _build, _processes_mentioning, _student  # noqa: E402

from cs231n_course.release import build_release  # noqa: E402
from cs231n_course.solutions import fill_regions, solution_regions  # noqa: E402
from hostile import CASES, Bases, expected_points, feedback_problems, remove_chains  # noqa: E402


def say(text: str) -> None:
    print(text, flush=True)


def _cli(subs: list[Path], out: Path, workers: int, cell_timeout: int) -> list[str]:
    return [
        sys.executable, "-m", "cs231n_course", "grade", *map(str, subs), "--out", str(out),
        "--workers", str(workers), "--notebooks", "01_knn",
        "--cell-timeout", str(cell_timeout), "--cpu", str(LIMITS.cpu_seconds),
        "--notebook-timeout", str(LIMITS.notebook_timeout),
        "--memory", str(LIMITS.memory_bytes >> 20), "--no-progress",
    ]  # fmt: skip


def _start(cmd: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    with open(log, "ab") as f:
        return subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)


def _gradebook(out: Path) -> dict[str, dict[str, float]]:
    with open(out / "gradebook.csv") as f:
        rows = list(csv.DictReader(f))
    if len({r["student"] for r in rows}) != len(rows):
        raise AssertionError(f"{out}: a student appears twice in the gradebook")
    # manual (inline-question) columns stay empty until a TA fills them
    return {r.pop("student"): {k: float(v) for k, v in r.items() if v != ""} for r in rows}


def _stored(out: Path) -> list[Path]:
    return list((out / ".grader" / "results").glob("*/*.json"))


def _run(order, out: Path, args, *, kill_at: int | None = None) -> tuple[float, list[str]]:
    """Grade ``order`` into ``out``; returns the wall time and what went wrong (kill run)."""
    cmd = _cli(order, out, args.workers, args.cell_timeout)
    log = out.with_suffix(".log")
    wrong: list[str] = []
    start = time.monotonic()
    proc = _start(cmd, log)
    if kill_at is not None:
        while len(_stored(out)) < kill_at and proc.poll() is None:
            time.sleep(0.2)
        if proc.poll() is not None:
            wrong.append("the batch ended before the kill")
        os.kill(proc.pid, signal.SIGKILL)  # the grader alone, not its process group
        proc.wait()
        stored = len(_stored(out))
        deadline = time.monotonic() + 5
        while _processes_mentioning(out) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _processes_mentioning(out):
            wrong.append(f"processes {_processes_mentioning(out)} outlived the killed grader")
        say(f"  killed with {stored} of {len(order)} results stored; resuming at once")
        proc = _start(cmd, log)
        proc.wait()
        text = (out / "summary.md").read_text() if (out / "summary.md").exists() else ""
        counts = re.search(r"\((\d+) graded now, (\d+) already graded and skipped", text)
        if "another grade run" in log.read_text(errors="replace"):
            wrong.append("the re-run was refused while the killed run's processes lived")
        if not counts or (int(counts[1]), int(counts[2])) != (len(order) - stored, stored):
            wrong.append(f"the re-run did not resume exactly: {counts and counts[0]!r}")
        if len(_stored(out)) != len(order):
            wrong.append(f"{len(_stored(out))} results stored for {len(order)} submissions")
    proc.wait()
    if proc.returncode not in (0, 1):
        wrong.append(f"grade exited {proc.returncode} (see {log})")
    return time.monotonic() - start, wrong


def _secret(out: Path) -> str:
    return hashlib.sha256((out / ".grader" / "secret").read_bytes()).hexdigest()[:8]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cases", nargs="+", help="only these cases (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    # loose enough for the reference's timing cell on a loaded machine; the endless loop
    # case costs this much
    parser.add_argument("--cell-timeout", type=int, default=60)
    parser.add_argument(
        "--runs",
        nargs="+",
        choices=["batch", "killed", "shuffled"],
        default=["batch", "killed", "shuffled"],
        help="which runs (default: all three, one after another)",
    )
    args = parser.parse_args()
    root = args.out.resolve()
    if root.exists():
        parser.error(f"{root} exists; give a new folder")
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
    runs = [
        ("batch", subs, None),
        ("killed", subs, max(1, len(subs) // 2)),
        ("shuffled", shuffled, None),
    ]
    runs = [run for run in runs if run[0] in args.runs]
    said = f"{len(cases)} cases, {args.workers} workers, cell timeout {args.cell_timeout} s"
    say(f"grading {said}, load {os.getloadavg()[0]:.1f}")
    rows, pages, problems, secrets = {}, {}, [], []
    try:
        for label, order, kill_at in runs:
            out = root / f"out-{label}"
            seconds, wrong = _run(order, out, args, kill_at=kill_at)
            rows[label] = _gradebook(out)
            pages[label] = {c.name: _page(out, c) for c in cases}
            secrets.append(_secret(out))
            problems += [f"{label}: {w}" for w in wrong]
            say(
                f"{label}: {seconds:.0f} s wall, {len(rows[label])} students in the gradebook, "
                f"secret {secrets[-1]}, load {os.getloadavg()[0]:.1f}"
            )
    finally:
        remove_chains(root / "subs")
    if len(set(secrets)) != len(secrets):
        problems.append("two runs shared a secret")
    say("")
    say(f"| case | expected | {' | '.join(rows)} | feedback |")
    say("|---|---|" + "---|" * len(rows) + "---|")
    for case in cases:
        expected = expected_points(case, POINTS)
        got, notes = [], []
        for label in rows:
            row = rows[label].get(_student(case))
            got.append("missing" if row is None else f"{row['total']:g}")
            if row is None or {k: row.get(k) for k in POINTS} != expected:
                notes.append(f"{label}: points {row and {k: row.get(k) for k in POINTS}}")
            page = pages[label][case.name]
            wrong = ["no feedback page"] if page is None else feedback_problems(case, page)
            notes += [f"{label}: {w}" for w in wrong]
        problems += [f"{case.name}: {n}" for n in notes]
        mark = "ok" if not notes else "**differs**"
        say(f"| {case.name} | {sum(expected.values()):g} | {' | '.join(got)} | {mark} |")
    full = [rows[label].get("perfect", {}).get("total") for label in rows]
    if "perfect" in [c.name for c in cases]:
        top = sum(POINTS.values())
        say(f"\nreference: {', '.join(f'{g:g}' for g in full)} of {top} (full marks every run: "
            f"{'yes' if all(g == top for g in full) else 'NO'})")  # fmt: skip
    say("")
    for problem in problems:
        say(f"- {problem}")
    verdict = "PASS" if not problems else f"FAIL ({len(problems)} problems above)"
    say(f"verdict: {verdict}: {len(cases)} cases x {len(rows)} runs")
    return 0 if not problems else 1


def _page(out: Path, case) -> str | None:
    path = out / "feedback" / f"{_student(case)}.md"
    return path.read_text() if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
