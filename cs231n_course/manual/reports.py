"""What manual grading adds to a batch's outputs: the sheets, pages and ``columns.json``, and
the manual part of the gradebook, each student's feedback and the summary.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

from cs231n_course.manual.pages import index_page, question_page
from cs231n_course.manual.sheets import CHANGED_FLAG, ManualState, sheet_csv


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


# The feedback section's words for a student who answered in Korean (reports.feedback_language).
_FEEDBACK_KO = {
    "## Inline questions (graded by a TA)": "## 인라인 질문 (조교가 채점)",
    "| Question | Points | Comment |": "| 질문 | 점수 | 의견 |",
    "not graded yet / {max}": "아직 채점 전 / {max}",
    "no answer submitted": "제출한 답이 없습니다",
    "Automatic (checks): {auto} / {auto_max}; manual (inline questions): {manual} / "
    "{manual_max}; **total {total} / {max}**": (
        "자동 채점(확인 셀): {auto} / {auto_max}점, 수동 채점(인라인 질문): {manual} / "
        "{manual_max}점, **총점 {total} / {max}점**"
    ),
}


def feedback_section(student: str, result: dict, state: ManualState, lang: str = "en") -> str:
    """Appended to a student's feedback: automatic and manual points apart, TA comments.
    ``lang`` is the feedback page's language (``"en"`` or ``"ko"``); TA comments are shown
    as the TA wrote them."""

    def t(text: str) -> str:
        return _FEEDBACK_KO.get(text, text) if lang == "ko" else text

    manual = state.points(student)
    lines = [
        "",
        t("## Inline questions (graded by a TA)"),
        "",
        t("| Question | Points | Comment |"),
        "|---|---|---|",
    ]
    for q in state.questions:
        row = state.sheets.get(q.qid, {}).get(student)
        answered = (state.answers.get(student) or {}).get(q.qid) is not None
        if row is not None and row.points is not None:
            points = f"{row.points:g} / {q.points:g}"
        elif answered:
            points = t("not graded yet / {max}").format(max=f"{q.points:g}")
        else:
            points = f"0 / {q.points:g}"
        comment = _md(row.comment) if row is not None and row.comment else ""
        if not answered and not comment:
            comment = t("no answer submitted")
        lines.append(f"| `{q.qid}` | {points} | {comment} |")
    auto = result["total"]
    lines += [
        "",
        t(
            "Automatic (checks): {auto} / {auto_max}; manual (inline questions): {manual} / "
            "{manual_max}; **total {total} / {max}**"
        ).format(
            auto=f"{auto:g}",
            auto_max=f"{result['max_total']:g}",
            manual=f"{manual:g}",
            manual_max=f"{state.max_points:g}",
            total=f"{auto + manual:g}",
            max=f"{result['max_total'] + state.max_points:g}",
        ),
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
