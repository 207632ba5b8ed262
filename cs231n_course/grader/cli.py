"""``python -m cs231n_course grade ...`` (and ``python -m cs231n_course.grader ...``): the
grader's command line. What it does is :mod:`~cs231n_course.grader.batch`'s docstring."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cs231n_course.grader import batch
from cs231n_course.grader.batch import grade
from cs231n_course.grader.types import REPO_ROOT, GradeOptions, GradingError, Limits


def add_grade_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``grade`` to the course CLI (``cs231n_course.__main__``)."""
    p = subparsers.add_parser(
        "grade",
        help="grade submissions into a gradebook",
        description=batch.__doc__.split("\n\n")[0],
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
    p.add_argument(
        "--isolation",
        choices=["namespaces", "uid-only-fallback", "uid-only"],
        default="namespaces",
        help="kernel isolation: namespaces (default; refuse without them), uid-only where "
        "namespaces are missing (hosted autograders), or uid-only always",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--uid-base",
        type=int,
        default=GradeOptions.uid_base,
        help=f"first sandbox uid to claim (default {GradeOptions.uid_base}; on a cluster, on "
        f"every worker host)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the Dask cluster of this scheduler (tcp://HOST:PORT); README: "
        '"Grading on a cluster"',
    )
    where.add_argument(
        "--cluster",
        choices=["local"],
        help="grade on a Dask LocalCluster of --workers one-thread workers on this machine",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        help="seconds to reach the --scheduler before giving up (default 10)",
    )
    p.add_argument(
        "--worker-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for a Dask worker, at the start or when all are gone (default 300)",
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
        uid_base=args.uid_base,
    )
    try:
        if args.scheduler or args.cluster:
            from cs231n_course.grader.dask_client import ClusterSpec, grade_on_cluster

            spec = ClusterSpec(
                scheduler=args.scheduler,
                local_workers=(args.workers or len(os.sched_getaffinity(0)))
                if args.cluster == "local"
                else 0,
                connect_timeout=args.connect_timeout,
                worker_timeout=args.worker_timeout,
            )
            report = grade_on_cluster(args.submissions, options, spec)
        else:
            report = grade(args.submissions, options)
    except (GradingError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report.summary.read_text())
    print(f"gradebook: {report.gradebook}\nfeedback: {report.gradebook.parent / 'feedback'}")
    return 1 if report.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cs231n_course.grader")
    add_grade_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["grade", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)
