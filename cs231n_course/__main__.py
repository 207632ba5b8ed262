"""Instructor tools: ``python -m cs231n_course <command>`` (or ``cs231n-course``).

Commands
--------
release OUT           write the student release (solutions replaced by stubs)
execute NOTEBOOK...   run notebooks in fast mode and store their outputs
goldens [NAME...]     record the self-checks' golden values from the solutions
grade SUBMISSION...   grade submissions into a gradebook (and manual-grading sheets)
export canvas GRADES  the gradebook as a Canvas import CSV
gradescope            build a Gradescope autograder zip that runs this grader
similarity SUBMISSION...  rank similar submissions for a person to review (never grades)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _release(args: argparse.Namespace) -> int:
    from cs231n_course.release import build_release

    report = build_release(Path(args.source), Path(args.out), force=args.force)
    if report.replaced is not None:
        print(f"replaced the existing {args.out} ({report.replaced} files, --force)")
    print(
        f"release written to {args.out}: {len(report.files)} files, "
        f"{report.region_count} student regions in {len(report.regions)} files"
    )
    for rel, names in sorted(report.regions.items()):
        print(f"  {rel}: {', '.join(names)}")
    return 0


def _execute(args: argparse.Namespace) -> int:
    from cs231n_course.notebooks import execute_notebook

    for nb in args.notebooks:
        seconds = execute_notebook(Path(nb), fast=not args.full, timeout=args.timeout)
        print(f"{nb}: executed and saved in {seconds:.1f} s")
    return 0


def _goldens(args: argparse.Namespace) -> int:
    from cs231n_lib.checks import record_goldens

    for path in record_goldens(args.names or None):
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cs231n-course", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="write the student release")
    p.add_argument("out", help="folder to create (must not exist unless --force)")
    p.add_argument("--source", default=str(REPO_ROOT), help="instructor source tree")
    p.add_argument(
        "--force", action="store_true", help="replace OUT (and everything in it) if it exists"
    )
    p.set_defaults(func=_release)

    p = sub.add_parser("execute", help="run notebooks and store their outputs")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--full", action="store_true", help="full data instead of fast mode")
    p.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    p.set_defaults(func=_execute)

    p = sub.add_parser("goldens", help="record self-check golden values from the solutions")
    p.add_argument("names", nargs="*", help="exercise names (default: all)")
    p.set_defaults(func=_goldens)

    from cs231n_course import export_canvas, gradescope, similarity
    from cs231n_course.grader.cli import add_grade_parser

    add_grade_parser(sub)
    __import__("cs231n_course.translate").translate.add_translate_parser(sub)
    export_canvas.add_parser(sub)
    gradescope.add_parser(sub, REPO_ROOT)
    similarity.add_parser(sub, REPO_ROOT)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileExistsError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
