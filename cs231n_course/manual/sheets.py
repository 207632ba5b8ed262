"""The TAs' point sheets: one CSV per question, read, checked and merged with a run's answers.

Every entered point and comment is kept across runs; an answer that changed after it was graded
is flagged; points that are not numbers or are out of range stop the run with every problem
named by sheet, row and student (:class:`ManualGradingError`), before anything is written.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from cs231n_course.manual.questions import Question, answer_sha, load_questions

SHEET_COLUMNS = ["student", "points", "comment", "max_points", "answer_sha", "graded_sha", "flag"]
CHANGED_FLAG = "answer changed after grading: re-read it, then clear graded_sha"
GONE_FLAG = "no submission from this student in this run"


class ManualGradingError(ValueError):
    """Entered points cannot be used; the message names every sheet, row and student."""


@dataclass
class SheetRow:
    student: str
    points: float | None
    comment: str
    answer_sha: str
    graded_sha: str
    flag: str


@dataclass
class ManualState:
    """Everything manual for one batch: questions, answers, entered points."""

    questions: list[Question]
    answers: dict[str, dict[str, str | None]]  # student -> qid -> answer (None: not written)
    sheets: dict[str, dict[str, SheetRow]] = field(default_factory=dict)  # qid -> student -> row
    missing: list[str] = field(default_factory=list)  # "sheet row N (student): no points yet"

    @property
    def max_points(self) -> float:
        return sum(q.points for q in self.questions)

    def points(self, student: str) -> float:
        return sum(
            row.points
            for q in self.questions
            if (row := self.sheets.get(q.qid, {}).get(student)) and row.points is not None
        )


def _parse_points(raw: str, q: Question, where: str, errors: list[str]) -> float | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        errors.append(f"{where}: points {raw!r} is not a number; enter 0 to {q.points:g}")
        return None
    if not math.isfinite(value) or value < 0 or value > q.points:
        errors.append(f"{where}: points {raw!r} is outside 0 to {q.points:g} for {q.qid}")
        return None
    return value


def read_sheet(path: Path, q: Question, errors: list[str]) -> dict[str, SheetRow]:
    """Rows of one sheet by student; problems are appended to ``errors``."""
    if not path.exists():
        return {}
    rows: dict[str, SheetRow] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        lacking = {"student", "points", "comment"} - set(reader.fieldnames or [])
        if lacking:
            errors.append(f"{path}: columns {sorted(lacking)} are missing; restore the header row")
            return {}
        for number, record in enumerate(reader, start=2):
            student = (record.get("student") or "").strip()
            where = f"{path} row {number} (student {student or '?'})"
            if not student:
                if any((v or "").strip() for v in record.values()):
                    errors.append(f"{where}: the student column is empty")
                continue
            if student in rows:
                errors.append(f"{where}: student {student} appears twice in this sheet")
                continue
            rows[student] = SheetRow(
                student,
                _parse_points(record.get("points", ""), q, where, errors),
                (record.get("comment") or "").strip(),
                (record.get("answer_sha") or "").strip(),
                (record.get("graded_sha") or "").strip(),
                "",
            )
    return rows


def merge(out: Path, course, results: list[tuple[str, dict]]) -> ManualState:
    """Read every sheet in ``OUT/manual``, merge them with this run's answers, and return the
    state; raises ManualGradingError (before writing anything) if entered points are bad."""
    questions = load_questions(course)
    answers = {student: result.get("answers") or {} for student, result in results}
    state = ManualState(questions, answers)
    errors: list[str] = []
    folder = out / "manual"
    for q in questions:
        old = read_sheet(folder / f"{q.qid}.csv", q, errors)
        merged: dict[str, SheetRow] = {}
        for student in sorted(set(answers) | set(old)):
            row = old.get(student) or SheetRow(student, None, "", "", "", "")
            if student not in answers:
                row.flag = GONE_FLAG
                merged[student] = row
                continue
            current = answer_sha(answers[student].get(q.qid))
            if row.points is not None and not row.graded_sha:
                row.graded_sha = row.answer_sha or current  # what the TA saw when grading
            row.answer_sha = current
            if row.points is not None and row.graded_sha != current:
                row.flag = CHANGED_FLAG
            merged[student] = row
        state.sheets[q.qid] = merged
    if errors:
        raise ManualGradingError(
            "manual grading sheets have problems (nothing was written; fix them and run "
            "`course grade` again):\n  " + "\n  ".join(errors)
        )
    for q in questions:
        for number, student in enumerate(sorted(state.sheets[q.qid]), start=2):
            row = state.sheets[q.qid][student]
            if row.points is None and student in answers:
                state.missing.append(f"{folder / q.qid}.csv row {number} (student {student})")
    return state


def sheet_csv(q: Question, rows: dict[str, SheetRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SHEET_COLUMNS)
    for student in sorted(rows):
        r = rows[student]
        points = "" if r.points is None else f"{r.points:g}"
        writer.writerow(
            [student, points, r.comment, f"{q.points:g}", r.answer_sha, r.graded_sha, r.flag]
        )
    return buf.getvalue()
