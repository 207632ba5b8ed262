"""Grading throughput: complete submissions per minute, CPU and memory per submission.

    python benchmarks/grading_throughput.py [--copies 4] [--workers N] [--notebooks 01_knn ...]
                                            [--hostile]

Builds the reference solution as a submission (the release with every region filled), makes
``--copies`` distinct copies of it (a different comment in one region, so their content hashes
differ and none is skipped as already graded), and grades them in one batch with the default
limits. The reference run that every batch needs once is measured separately (a warm-up batch
of one copy). Prints, side by side:

- wall-clock submissions per minute in this run, and the load average (the machine is shared:
  wall time depends on what else runs);
- CPU seconds per submission, measured by the per-run cgroup (nbval, sandbox launcher and
  kernel), and the throughput that CPU time allows on 2 dedicated cores;
- peak memory per worker (the cgroup's peak: nbval's process plus the kernel) and the
  grader process's own peak RSS.

``--hostile`` also grades the hostile corpus of ``tests/hostile`` on the kNN notebook and prints
what each case scored against what it should score.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from cs231n_course.grader import GradeOptions, grade
from cs231n_course.release import build_release
from cs231n_course.solutions import fill_regions, solution_regions

REPO = Path(__file__).resolve().parents[1]
KNN = "cs231n_lib/classifiers/knn.py"
REGION = "# >>> BEGIN STUDENT REGION KNearestNeighbor.compute_distances_two_loops"


def perfect_copies(root: Path, copies: int) -> list[Path]:
    base = root / "perfect"
    build_release(REPO, base)
    fill_regions(base, solution_regions(REPO))
    subs = []
    for i in range(copies):
        dest = root / "subs" / f"student{i:02d}"
        for part in ("cs231n_lib", "notebooks"):
            shutil.copytree(base / part, dest / part)
        path = dest / KNN
        lines = path.read_text().splitlines()
        at = next(n for n, line in enumerate(lines) if line.lstrip().startswith(REGION))
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        lines.insert(at + 1, f"{indent}# copy {i}")  # same code, different content hash
        path.write_text("\n".join(lines) + "\n")
        subs.append(dest)
    return subs


def results(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in out.glob(".grader/results/*/*.json")]


def load_hostile():
    """``tests/hostile`` as the package ``hostile`` (it is test data, not installed)."""
    spec = importlib.util.spec_from_file_location(
        "hostile",
        REPO / "tests" / "hostile" / "__init__.py",
        submodule_search_locations=[str(REPO / "tests" / "hostile")],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["hostile"] = module
    spec.loader.exec_module(module)
    return module


def run_hostile(root: Path, options: dict) -> None:
    hostile = load_hostile()
    base = root / "hostile"
    release, perfect = base / "release", base / "perfect"
    build_release(REPO, release)
    build_release(REPO, perfect)
    fill_regions(perfect, solution_regions(REPO))
    bases = hostile.Bases(release, perfect, REPO)
    subs = []
    for case in hostile.CASES:
        folder = base / "build" / case.name
        folder.mkdir(parents=True)
        built = case.build(bases, folder)
        final = base / "subs" / (case.name + (".zip" if built.suffix == ".zip" else ""))
        final.parent.mkdir(exist_ok=True)
        built.rename(final)
        subs.append(final)
    start = time.monotonic()
    report = grade(subs, GradeOptions(out=base / "out", notebooks=["01_knn"], **options))
    seconds = time.monotonic() - start
    by_hash = {r["content_hash"]: r for r in results(base / "out")}
    points = {
        "compute_distances_two_loops": 3,
        "predict_labels": 2,
        "compute_distances_one_loop": 2,
        "compute_distances_no_loops": 3,
        "knn_cross_validation": 2,
    }
    print(f"\nHostile corpus on 01_knn ({len(subs)} submissions, {seconds:.0f} s wall):")
    print(f"{'case':22s} {'expected':>8s} {'got':>5s}  passes  cpu s  what")
    from cs231n_course.grader.unpack import content_hash

    for case, sub in zip(hostile.CASES, subs, strict=True):
        result = by_hash[content_hash(sub)]
        expected = sum(hostile.expected_points(case, points).values())
        stats = result.get("stats", {})
        print(
            f"{case.name:22s} {expected:8g} {result['total']:5g}  {stats.get('passes', 0):6d} "
            f"{stats.get('cpu_seconds', 0):6.1f}  {case.what}"
        )
    if report.failed:
        print("not graded:", report.failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--notebooks", nargs="+", default=None)
    parser.add_argument("--hostile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    cache = root / "cache"
    common = {"seed": 1234, "cache": cache, "workers": args.workers, "progress": False}
    try:
        subs = perfect_copies(root, args.copies + 1)
        load_before = os.getloadavg()[0]
        start = time.monotonic()
        grade(subs[:1], GradeOptions(out=root / "warm", notebooks=args.notebooks, **common))
        warm = time.monotonic() - start
        start = time.monotonic()
        report = grade(subs[1:], GradeOptions(out=root / "out", notebooks=args.notebooks, **common))
        wall = time.monotonic() - start
        found = results(root / "out")
        cores = 2
        cpu = sum(r["stats"]["cpu_seconds"] for r in found) / len(found)
        peak = max(r["stats"]["peak_memory"] for r in found)
        per_sub = sum(r["stats"]["seconds"] for r in found) / len(found)
        workers = args.workers or len(os.sched_getaffinity(0))
        totals = sorted({r["total"] for r in found})
        print(
            f"Grading throughput ({', '.join(args.notebooks or ['all notebooks'])}; "
            f"{len(found)} complete submissions, {workers} workers, "
            f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f})"
        )
        print(f"  totals                             {totals} of {found[0]['max_total']:g}")
        print(f"  reference run + first submission   {warm:8.1f} s wall (once per batch)")
        print(f"  batch wall time                    {wall:8.1f} s")
        print(f"  wall per submission (one worker)   {per_sub:8.1f} s")
        print(f"  throughput, this run (wall)        {len(found) / wall * 60:8.2f} submissions/min")
        print(f"  CPU per submission (cgroup)        {cpu:8.1f} s")
        print(
            f"  throughput on {cores} dedicated cores    {cores * 60 / cpu:8.2f} submissions/min"
            f" (CPU-bound estimate)"
        )
        print(f"  peak memory per worker (cgroup)    {peak / 2**20:8.0f} MiB (nbval + kernel)")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  grader process peak RSS            {rss:8.0f} MiB")
        if report.failed:
            print("  not graded:", report.failed)
        if args.hostile:
            run_hostile(root, common)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
