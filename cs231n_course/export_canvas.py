"""``course export canvas``: the gradebook as a CSV that Canvas' gradebook import reads.

Canvas imports a CSV laid out like its own gradebook export: identity columns ``Student``,
``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment (a
column whose name is not an existing assignment becomes a new one), and optionally a second
row whose first cell is ``Points Possible`` giving each assignment's maximum. (Documented in
Canvas' instructor guide "How do I import grades in the Gradebook?"; no Canvas instance runs
here, so the tests check this layout, not an upload.)

The roster maps our student ids (the submission names) to Canvas identities. The easiest
roster is Canvas' own gradebook export: its ``SIS Login ID`` column is matched with our student
id (``--key`` picks another column); a roster with a ``student`` column is matched on that.
Columns written: ``<assignment>`` (the total: checks + inline questions) and one per notebook,
``<assignment>: 01_knn``. Students graded but missing from the roster, and roster entries with
no submission, are reported (the latter get empty cells, which Canvas leaves unchanged).
Inline questions not graded yet stop the export (naming sheet, row and student) unless
``--allow-ungraded`` counts them as 0.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"


@dataclass
class Export:
    text: str
    exported: list[str] = field(default_factory=list)
    not_in_roster: list[str] = field(default_factory=list)
    no_submission: list[str] = field(default_factory=list)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _roster(path: Path, key: str) -> dict[str, dict[str, str]]:
    rows = [r for r in _read_csv(path) if (r.get("Student") or "").strip() != POINTS_POSSIBLE]
    if not rows:
        raise ValueError(f"{path}: the roster has no rows")
    column = "student" if "student" in rows[0] else key
    if column not in rows[0]:
        raise ValueError(
            f"{path}: the roster needs a 'student' column (our student ids) or a {key!r} "
            f"column matching them (choose it with --key); it has {sorted(rows[0])}"
        )
    roster: dict[str, dict[str, str]] = {}
    for number, row in enumerate(rows, start=2):
        student = (row.get(column) or "").strip()
        if not student:
            raise ValueError(f"{path} row {number}: the {column!r} column is empty")
        if student in roster:
            raise ValueError(f"{path} row {number}: student {student} appears twice")
        if not (row.get("ID") or row.get("SIS User ID") or row.get("SIS Login ID")):
            raise ValueError(
                f"{path} row {number} (student {student}): needs a Canvas 'ID', 'SIS User ID' "
                f"or 'SIS Login ID' so Canvas can find the student"
            )
        roster[student] = row
    return roster


def canvas_csv(
    out: Path, roster_path: Path, assignment: str, *, key: str = "SIS Login ID",
    allow_ungraded: bool = False,
) -> Export:  # fmt: skip
    """Build the Canvas import CSV from the grade folder ``out`` (see the module docstring)."""
    book_path, columns_path = out / "gradebook.csv", out / "columns.json"
    if not book_path.exists() or not columns_path.exists():
        raise ValueError(f"{out}: no gradebook here; run `course grade ... --out {out}` first")
    book = {row["student"]: row for row in _read_csv(book_path)}
    columns = json.loads(columns_path.read_text())
    roster = _roster(roster_path, key)
    notebooks = sorted({c["notebook"] for c in columns["exercises"] + columns["questions"]})
    ungraded = []
    for q in columns["questions"]:
        for student, row in sorted(book.items()):
            if student in roster and row.get(q["name"], "") == "":
                ungraded.append(f"{out / 'manual' / q['name']}.csv (student {student})")
    if ungraded and not allow_ungraded:
        raise ValueError(
            f"{len(ungraded)} inline-question answers have no points yet; enter them in the "
            f"sheets and run `course grade` again, or pass --allow-ungraded to count them as "
            f"0:\n  " + "\n  ".join(ungraded[:50])
        )
    names = [assignment, *(f"{assignment}: {Path(nb).stem}" for nb in notebooks)]
    maxima = {nb: 0.0 for nb in notebooks}
    for item in columns["exercises"] + columns["questions"]:
        maxima[item["notebook"]] += item["points"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*IDENTITY, *names])
    writer.writerow(
        [POINTS_POSSIBLE, "", "", "", "", _fmt(sum(maxima.values())),
         *(_fmt(maxima[nb]) for nb in notebooks)]
    )  # fmt: skip
    result = Export("")
    for student in sorted(roster):
        identity = [roster[student].get(c, "") for c in IDENTITY]
        row = book.get(student)
        if row is None:
            result.no_submission.append(student)
            writer.writerow([*identity, *([""] * len(names))])
            continue
        per_nb = {nb: 0.0 for nb in notebooks}
        for item in columns["exercises"] + columns["questions"]:
            value = row.get(item["name"], "")
            per_nb[item["notebook"]] += float(value) if value else 0.0
        writer.writerow(
            [*identity, _fmt(sum(per_nb.values())), *(_fmt(per_nb[nb]) for nb in notebooks)]
        )
        result.exported.append(student)
    result.not_in_roster = sorted(set(book) - set(roster))
    result.text = buf.getvalue()
    return result


def _fmt(value: float) -> str:
    return f"{value:g}"


def add_parser(subparsers) -> None:
    """``course export canvas`` (added to the course CLI)."""
    export = subparsers.add_parser("export", help="export grades for an LMS")
    targets = export.add_subparsers(dest="target", required=True)
    p = targets.add_parser("canvas", help="a CSV for Canvas' gradebook import")
    p.add_argument("grades", type=Path, help="the folder `course grade --out` wrote")
    p.add_argument("--roster", required=True, type=Path, help="roster CSV (see --help text)")
    p.add_argument("--assignment", default="Assignment 1", help="Canvas assignment name")
    p.add_argument("--key", default="SIS Login ID", help="roster column holding our student id")
    p.add_argument("--out", type=Path, help="CSV to write (default GRADES/canvas.csv)")
    p.add_argument(
        "--allow-ungraded", action="store_true", help="count ungraded inline answers as 0"
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from cs231n_lib.atomic import write_atomic

    result = canvas_csv(
        args.grades, args.roster, args.assignment, key=args.key,
        allow_ungraded=args.allow_ungraded,
    )  # fmt: skip
    dest = args.out or args.grades / "canvas.csv"
    write_atomic(dest, result.text)
    print(f"wrote {dest}: {len(result.exported)} students for Canvas assignment "
          f"{args.assignment!r}")  # fmt: skip
    if result.not_in_roster:
        print(f"graded but not in the roster (not exported): {', '.join(result.not_in_roster)}")
    if result.no_submission:
        print(f"in the roster with no submission (cells left empty): "
              f"{', '.join(result.no_submission)}")  # fmt: skip
    return 0
