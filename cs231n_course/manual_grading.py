"""Manual grading of inline questions: answer pages and point sheets for TAs.

Each inline-question answer cell declares its points once, in nbgrader metadata, like the
check cells do::

    {"nbgrader": {"grade": true, "solution": true, "grade_id": "01_knn-inline-question-1",
                  "points": 2}}

``course grade`` then writes, in ``OUT/manual/``,

- ``index.html`` and ``<question>.html``: every student's answer to one question side by side,
  Markdown and LaTeX rendered (:mod:`manual_render`: offline, student text escaped), the model
  answer beside them, and the points and comments entered so far;
- ``<question>.csv``: the sheet a TA fills in, one row per student: ``points`` and ``comment``
  (the other columns are the grader's).

Re-running ``course grade`` reads the sheets first: the points go into the gradebook and each
student's feedback (automatic and manual points shown apart, with the comment). A sheet is
rewritten with every entered point and comment kept; rows of students no longer submitted are
kept too. An answer that changed after it was graded is flagged (``flag`` column, the page and
the summary) until a TA re-reads it and clears ``graded_sha``. Points that are not numbers or are
out of range stop the run with every problem named by sheet, row and student; nothing is written
then, so nothing entered is lost.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import html
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from cs231n_course import markers
from cs231n_course.manual_render import render
from cs231n_lib.submission_rules import MARKDOWN_ANSWER_STUBS

SHEET_COLUMNS = ["student", "points", "comment", "max_points", "answer_sha", "graded_sha", "flag"]
CHANGED_FLAG = "answer changed after grading: re-read it, then clear graded_sha"
GONE_FLAG = "no submission from this student in this run"
_QID = re.compile(r"^[A-Za-z0-9._-]+$")


class ManualGradingError(ValueError):
    """Entered points cannot be used; the message names every sheet, row and student."""


@dataclass(frozen=True)
class Question:
    qid: str  # the nbgrader grade_id
    notebook: str  # "01_knn.ipynb"
    cell_id: str  # also the student region's name
    points: float
    prompt: str  # the cell's text without the answer region (Markdown)
    model: str  # the solution's answer (Markdown)


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


# -- questions ----------------------------------------------------------------------------------
def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


@functools.cache
def _questions_cached(source_root: str, release_root: str, notebooks: tuple[str, ...]):
    questions, seen = [], {}
    for name in notebooks:
        released = json.loads(Path(release_root, "notebooks", name).read_text(encoding="utf-8"))
        source = json.loads(Path(source_root, "notebooks", name).read_text(encoding="utf-8"))
        source_cells = {c.get("id"): c for c in source["cells"]}
        for cell in released["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") != "markdown" or not meta.get("grade"):
                continue
            qid, points = meta.get("grade_id"), meta.get("points")
            where = f"{name} cell {cell.get('id')}"
            if not isinstance(qid, str) or not _QID.match(qid):
                raise ValueError(f"{where}: grade_id {qid!r} must be letters, digits, . _ -")
            if not isinstance(points, int | float) or points <= 0:
                raise ValueError(f"{where}: nbgrader points must be a positive number")
            if qid in seen:
                raise ValueError(f"grade_id {qid!r} is declared twice ({seen[qid]} and {where})")
            seen[qid] = where
            lines = _cell_text(cell).splitlines()
            regions = markers.read_student_regions(lines, where)
            if cell.get("id") not in regions:
                raise ValueError(f"{where}: a manually graded cell needs an answer region")
            prompt = "\n".join(
                line
                for line in lines
                if not _region_line(line) and line not in MARKDOWN_ANSWER_STUBS
            )
            model_lines = _cell_text(source_cells.get(cell.get("id"), {})).splitlines()
            model = [
                line for r in markers.find_solution_regions(
                    model_lines, where, python_functions=False
                ) for line in model_lines[r.begin + 1 : r.end]
            ]  # fmt: skip
            questions.append(
                Question(qid, name, cell["id"], float(points), prompt.strip(), "\n".join(model))
            )
    return tuple(questions)


def _region_line(line: str) -> bool:
    return bool(markers._STUDENT_BEGIN_RE.match(line) or markers._STUDENT_END_RE.match(line))


def load_questions(course) -> list[Question]:
    """The manually graded questions of ``course`` (a ``grade_reference.Course``)."""
    return list(
        _questions_cached(
            str(course.source_root), str(course.release_root), tuple(course.notebooks)
        )
    )


# -- answers (called for each submission while it is unpacked) ---------------------------------
def collect_answers(staging: Path, files: list[str], course) -> dict[str, str | None]:
    """``{qid: answer}`` of one unpacked submission; None where it wrote no answer.

    Only the student region of each answer cell is read; a damaged or missing notebook gives
    None for its questions (its notes come from the automatic grading).
    """
    answers: dict[str, str | None] = {}
    present = set(files)
    for q in load_questions(course):
        answers[q.qid] = None
        rel = f"notebooks/{q.notebook}"
        if rel not in present:
            continue
        for cell in _notebook_cells(staging / rel):
            if cell.get("cell_type") != "markdown":
                continue
            try:
                regions = markers.read_student_regions(_cell_text(cell).splitlines(), rel)
            except markers.MarkerError:
                continue
            region = regions.get(q.cell_id)
            if region is not None:
                text = "\n".join(region.body).strip()
                answers[q.qid] = text if text and text not in MARKDOWN_ANSWER_STUBS else None
                break
    return answers


def _notebook_cells(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        cells = data.get("cells") if isinstance(data, dict) else None
    except (UnicodeDecodeError, ValueError, RecursionError):  # the grader's verdict names why
        return []
    return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []


def answer_sha(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()[:12]


# -- sheets ---------------------------------------------------------------------------------------
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


# -- pages ----------------------------------------------------------------------------------------
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.2em; color: #222; }
header { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.prompt, .model { border: 1px solid #ccc; border-radius: 6px; padding: 0.2em 1em; }
.model { background: #f3f8f0; }
.answers { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
           gap: 0.8em; margin-top: 1em; }
.answer { border: 1px solid #bbb; border-radius: 6px; padding: 0.3em 0.9em; }
.answer h3 { font-size: 1em; margin: 0.4em 0; display: flex; justify-content: space-between; }
.none { color: #888; font-style: italic; }
.flag { background: #fff1c2; border-left: 4px solid #e0a800; padding: 0.2em 0.5em; }
.grade { color: #333; font-size: 0.9em; border-top: 1px dashed #ccc; margin-top: 0.5em; }
code.latex { background: #f4f4f4; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"style-src 'unsafe-inline'\"><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def question_page(q: Question, state: ManualState) -> str:
    rows = state.sheets.get(q.qid, {})
    cards = []
    for student in sorted(state.answers):
        answer = state.answers[student].get(q.qid)
        row = rows.get(student)
        shown = render(answer) if answer else '<p class="none">(no answer)</p>'
        grade = ""
        if row and row.points is not None:
            grade = (
                f'<div class="grade">points {row.points:g} / {q.points:g}'
                f"{': ' + html.escape(row.comment) if row.comment else ''}</div>"
            )
        flag = f'<p class="flag">{html.escape(row.flag)}</p>' if row and row.flag else ""
        cards.append(
            f'<section class="answer" id="{html.escape(student)}"><h3>'
            f"<span>{html.escape(student)}</span><small>{answer_sha(answer)}</small></h3>"
            f"{flag}{shown}{grade}</section>"
        )
    body = (
        f"<h1>{html.escape(q.qid)} ({q.points:g} points)</h1>"
        f"<p>{len(cards)} answers. Enter points and comments in "
        f"<code>{html.escape(q.qid)}.csv</code>, then run <code>course grade</code> again.</p>"
        f'<header><div class="prompt"><h2>Question</h2>{render(q.prompt)}</div>'
        f'<div class="model"><h2>Model answer</h2>{render(q.model)}</div></header>'
        f'<div class="answers">{"".join(cards)}</div>'
    )
    return _page(f"{q.qid}: answers", body)


def index_page(state: ManualState) -> str:
    items = []
    for q in state.questions:
        rows = state.sheets.get(q.qid, {})
        graded = sum(1 for s in state.answers if (r := rows.get(s)) and r.points is not None)
        flagged = sum(1 for r in rows.values() if r.flag == CHANGED_FLAG)
        items.append(
            f'<li><a href="{html.escape(q.qid)}.html">{html.escape(q.qid)}</a> '
            f"({q.points:g} points): {graded} / {len(state.answers)} graded"
            f"{f', {flagged} changed after grading' if flagged else ''}</li>"
        )
    return _page("Manual grading", f"<h1>Manual grading</h1><ul>{''.join(items)}</ul>")


def write_all(out: Path, state: ManualState, write_atomic, course=None) -> None:
    """Write the sheets and pages (``write_atomic(path, text)`` is the grader's writer), and
    ``OUT/columns.json``: every graded item with its notebook and points, for the exports."""
    folder = out / "manual"
    if course is not None:
        columns = {
            "exercises": [
                {"name": g.exercise, "notebook": g.notebook, "points": g.points}
                for g in course.graded
            ],
            "questions": [
                {"name": q.qid, "notebook": q.notebook, "points": q.points} for q in state.questions
            ],
        }
        write_atomic(out / "columns.json", json.dumps(columns, indent=1) + "\n")
    for q in state.questions:
        write_atomic(folder / f"{q.qid}.csv", sheet_csv(q, state.sheets[q.qid]))
        write_atomic(folder / f"{q.qid}.html", question_page(q, state))
    write_atomic(folder / "index.html", index_page(state))


# -- gradebook, feedback, summary ------------------------------------------------------------------
def gradebook_csv(auto_csv: str, state: ManualState) -> str:
    """The automatic gradebook with ``total`` = automatic + manual, then ``auto_total``,
    ``manual_total`` and one column per question (empty: not graded yet)."""
    rows = list(csv.reader(io.StringIO(auto_csv)))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    qids = [q.qid for q in state.questions]
    writer.writerow([*rows[0], "auto_total", "manual_total", *qids])
    for row in rows[1:]:
        student, auto = row[0], float(row[1])
        manual = state.points(student)
        cells = []
        for qid in qids:
            entry = state.sheets.get(qid, {}).get(student)
            if entry is not None and entry.points is not None:
                cells.append(f"{entry.points:g}")
            else:  # no answer scores 0; an answer without points yet stays empty
                answered = (state.answers.get(student) or {}).get(qid) is not None
                cells.append("" if answered else "0")
        writer.writerow(
            [student, f"{auto + manual:g}", *row[2:], f"{auto:g}", f"{manual:g}", *cells]
        )
    return buf.getvalue()


def _md(text: str) -> str:
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def feedback_section(student: str, result: dict, state: ManualState) -> str:
    """Appended to a student's feedback: automatic and manual points apart, TA comments."""
    manual = state.points(student)
    lines = [
        "",
        "## Inline questions (graded by a TA)",
        "",
        "| Question | Points | Comment |",
        "|---|---|---|",
    ]
    for q in state.questions:
        row = state.sheets.get(q.qid, {}).get(student)
        answered = (state.answers.get(student) or {}).get(q.qid) is not None
        if row is not None and row.points is not None:
            points = f"{row.points:g} / {q.points:g}"
        else:
            points = f"not graded yet / {q.points:g}" if answered else f"0 / {q.points:g}"
        comment = _md(row.comment) if row is not None and row.comment else ""
        if not answered and not comment:
            comment = "no answer submitted"
        lines.append(f"| `{q.qid}` | {points} | {comment} |")
    auto = result["total"]
    lines += [
        "",
        f"Automatic (checks): {auto:g} / {result['max_total']:g}; manual (inline questions): "
        f"{manual:g} / {state.max_points:g}; **total {auto + manual:g} / "
        f"{result['max_total'] + state.max_points:g}**",
        "",
    ]
    return "\n".join(lines)


def summary_section(out: Path, state: ManualState) -> str:
    flagged = [
        f"{q.qid}: {s}"
        for q in state.questions
        for s, r in state.sheets.get(q.qid, {}).items()
        if r.flag == CHANGED_FLAG
    ]
    total = len(state.questions) * len(state.answers)
    lines = [
        "",
        "## Manual grading",
        "",
        f"- {len(state.missing)} answers still need points ({total} question x student "
        f"pairs; a question left unanswered scores 0); pages and sheets in {out / 'manual'} "
        f"(open index.html)",
    ]
    if flagged:
        lines.append(f"- answers changed after grading ({len(flagged)}): {', '.join(flagged)}")
    return "\n".join(lines) + "\n"
