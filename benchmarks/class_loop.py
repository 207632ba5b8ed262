"""A whole class end to end: 40 generated submissions graded and exported, and the manual
grading pages built for them.

    python benchmarks/class_loop.py [--students 40] [--workers N] [--notebooks 01_knn ...]

Generates a class from the release: a mix of complete (the reference solution), partial (a
random half of the regions), broken (one region that raises, one with a wrong answer) and
hostile (an endless loop, a memory bomb, a zip-slip zip) submissions, each with inline answers
in Markdown and LaTeX, each a zip written by the students' own submit command. Then, timing
each step in this one run:

1. ``course grade`` over the class (the reference outputs are computed first, separately):
   wall time, submissions per minute per worker, CPU seconds per submission (the runs'
   cgroups), peak memory per worker (cgroup) and of the grader process;
2. the manual-grading pages and sheets for every question (merge + write, from the stored
   results), repeated 5 times: median;
3. ``course export canvas`` for the class.

The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from cs231n_course import export_canvas, manual
from cs231n_course.grader import GradeOptions, grade
from cs231n_course.grader.course import load_course
from cs231n_course.grader.types import Limits
from cs231n_course.release import build_release
from cs231n_course.solutions import fill_regions, solution_regions
from cs231n_lib import submit
from cs231n_lib.atomic import write_atomic

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from hostile.edit import KNN, set_region  # noqa: E402

ANSWERS = [
    "Subtracting $\\mu$ changes no distance: $\\sum_p |(a_p-\\mu)-(b_p-\\mu)| = d_1(a, b)$.",
    "It depends on **the scale** of the pixels; see $$\\frac{1}{\\sigma}\\sum_p |a_p - b_p|$$",
    "1. true\n2. false, because $k=1$ overfits\n3. <b>not sure</b>",
    "",
]


def make_class(root: Path, count: int, seed: int = 0) -> list[Path]:
    rng = random.Random(seed)
    release = root / "release"
    build_release(REPO, release)
    regions = solution_regions(REPO)
    names = sorted({n for by_name in regions.values() for n in by_name})
    kinds = ["complete", "partial", "partial", "broken", "complete", "partial", "hostile"]
    zips = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        folder = root / "students" / f"s{i:02d}"
        shutil.copytree(release, folder, ignore=shutil.ignore_patterns("datasets"))
        if kind == "complete":
            fill_regions(folder, regions)
        elif kind in ("partial", "broken"):
            fill_regions(folder, regions, only=set(rng.sample(names, len(names) // 2)))
        if kind == "broken":
            set_region(folder, KNN, "KNearestNeighbor.compute_distances_two_loops",
                       "dists[i, j] = 0.0")  # fmt: skip
            set_region(folder, KNN, "KNearestNeighbor.predict_labels", "raise ValueError('x')")
        if kind == "hostile":
            fill_regions(folder, regions)
            body = ["while True:\n    pass", "blocks = []\nwhile True:\n    blocks.append("
                    "np.ones(1 << 24))"][i % 2]  # fmt: skip
            set_region(folder, KNN, "KNearestNeighbor.compute_distances_one_loop", body)
        _answers(folder, rng, i)
        dest = root / "submissions" / f"s{i:02d}.zip"
        if kind == "hostile" and i % 3 == 0:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(dest, "w") as z:  # zip-slip: refused with 0
                z.writestr("../../evil.py", "print('escaped')")
                z.writestr("notebooks/01_knn.ipynb", "{}")
        else:
            submit.make_submission(folder, dest)
        zips.append(dest)
    return zips


def _answers(folder: Path, rng: random.Random, i: int) -> None:
    for path in sorted((folder / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown" and cell.get("metadata", {}).get("nbgrader"):
                text = rng.choice(ANSWERS) + f" (student {i})"
                source = "".join(cell["source"])
                cell["source"] = source.replace("*(write your answer here)*", text)
        path.write_text(json.dumps(nb, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--notebooks", nargs="+")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cs231n-class-"))
    workers = args.workers or len(os.sched_getaffinity(0))
    limits = Limits(cell_timeout=30, cpu_seconds=300, memory_bytes=1536 << 20)
    try:
        start = time.monotonic()
        zips = make_class(root, args.students)
        print(f"generated {len(zips)} submissions in {time.monotonic() - start:.1f} s")
        out = root / "gradebook"
        options = GradeOptions(out=out, workers=workers, notebooks=args.notebooks,
                               limits=limits, progress=False, seed=1)  # fmt: skip
        start = time.monotonic()
        grade(zips[:1], options)  # the reference outputs, once per batch, and one submission
        warm = time.monotonic() - start
        start = time.monotonic()
        report = grade(zips, options)
        wall = time.monotonic() - start
        results = [json.loads(p.read_text()) for p in (out / ".grader" / "results").glob("*/*")]
        stats = [r["stats"] for r in results if r.get("stats")]
        cpu = [s["cpu_seconds"] for s in stats if s.get("cpu_seconds")]
        peak = max((s.get("peak_memory") or 0 for s in stats), default=0)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        graded = report.new
        print(f"load average before/after: {os.getloadavg()[0]:.1f}")
        print(f"reference + first submission: {warm:.1f} s")
        print(
            f"grading {graded} new submissions ({report.skipped} skipped, "
            f"{len(report.failed)} grader failures), {workers} workers: {wall:.1f} s wall, "
            f"{graded / (wall / 60):.2f} submissions/min, "
            f"{graded / (wall / 60) / workers:.2f} submissions/min/worker"
        )
        if cpu:
            print(
                f"CPU per submission (cgroup): median {statistics.median(cpu):.1f} s, max "
                f"{max(cpu):.1f} s -> {60 * workers / statistics.median(cpu):.1f}/min on "
                f"{workers} dedicated cores"
            )
        print(f"peak memory: {peak / 2**20:.0f} MiB per worker (cgroup), grader process "
              f"{own / 2**20:.0f} MiB")  # fmt: skip
        course = load_course(REPO, out / ".grader" / "cache", args.notebooks)
        rows = [(s, json.loads(p.read_text())) for s, p in _rows(out, zips)]
        times = []
        for _ in range(5):
            start = time.monotonic()
            state = manual.merge(out, course, rows)
            manual.write_all(out, state, write_atomic, course)
            times.append(time.monotonic() - start)
        pages = len(list((out / "manual").glob("*.html")))
        median_ms = statistics.median(times) * 1000
        print(f"manual grading pages + sheets for {len(rows)} students, {len(state.questions)} "
              f"questions ({pages} pages): median {median_ms:.0f} ms")  # fmt: skip
        roster = root / "roster.csv"
        roster.write_text("student,Student,ID\n" + "".join(
            f"s{i:02d},Student {i},{1000 + i}\n" for i in range(len(zips))))  # fmt: skip
        start = time.monotonic()
        result = export_canvas.canvas_csv(out, roster, "A1", allow_ungraded=True)
        print(f"canvas export of {len(result.exported)} students: "
              f"{(time.monotonic() - start) * 1000:.0f} ms")  # fmt: skip
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _rows(out: Path, zips: list[Path]):
    from cs231n_course.grader.unpack import content_hash, student_id

    folder = next((out / ".grader" / "results").iterdir())
    for path in zips:
        stored = folder / f"{student_id(path)}--{content_hash(path)}.json"
        if stored.exists():
            yield student_id(path), stored


if __name__ == "__main__":
    main()
