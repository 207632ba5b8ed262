"""What the grader writes for people: the gradebook, one feedback page per student, a summary.

:func:`write_reports` rebuilds all three from the stored per-submission results (typed
:class:`~cs231n_course.grader.types.SubmissionResult`) on every run, so a re-run never counts a
submission twice; every file is written atomically (:mod:`cs231n_lib.atomic`), so a killed run
never leaves a half-written gradebook. The text functions are pure: an export or a
manual-grading tool can call them with results of its own.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

from cs231n_course import manual
from cs231n_course.grader import reasons_ko
from cs231n_course.grader.language import feedback_language, refused_language, submission_language
from cs231n_course.grader.types import Batch, BatchReport, Course, Submission, SubmissionResult
from cs231n_course.grader.unpack import shown_name
from cs231n_lib.atomic import write_atomic


def _fmt(points: float) -> str:
    return f"{points:g}"


def gradebook_csv(course: Course, rows: list[tuple[str, SubmissionResult]]) -> str:
    """``student,total,<exercise>...``: one row per graded student, sorted by student."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = course.exercises()
    writer.writerow(["student", "total", *names])
    for student, result in sorted(rows, key=lambda r: r[0]):
        points = result.points()
        writer.writerow([student, _fmt(result.total), *(_fmt(points.get(n, 0)) for n in names)])
    return buf.getvalue()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~!])")


def escape(text) -> str:
    """Student text made inert for a Markdown reader *and* for a browser showing the page:
    HTML is escaped, Markdown punctuation backslash-escaped, lines joined, control
    characters and undecodable bytes made visible. Every student-controlled string in a
    report goes through this (file names, messages, notes)."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() or c == " " else " " for c in text.replace("\n", " "))
    text = html.escape(text, quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _cell(text: str) -> str:
    return escape(text)


# The feedback page's own words in Korean. The grader's reasons and notes are translated as the
# page is drawn (reasons_ko); the stored results, the gradebook and the summary stay English.
_FEEDBACK_KO = {
    "# Grading feedback: {student}": "# 채점 결과: {student}",
    "Submission: {source} (content sha256 {sha})": "제출물: {source} (내용 sha256 {sha})",
    "**Total: {total} / {max} points**": "**총점: {total} / {max}점**",
    "Your submission could not be graded, so every exercise scores 0:": (
        "제출물을 채점할 수 없어서 모든 문제가 0점입니다:"
    ),
    "| Exercise | Notebook | Points | Result |": "| 문제 | 노트북 | 점수 | 결과 |",
    "pass": "통과",
    "FAIL": "실패",
    "## Notes on your files": "## 제출한 파일에 대한 참고 사항",
    "**Not graded yet**: the grader could not grade this submission this time (a problem of "
    "the grading machine, not of your files). The instructor re-runs the grader; you need not "
    "do anything.": (
        "**아직 채점되지 않음**: 이번에는 채점기가 이 제출물을 채점하지 못했습니다(여러분의 "
        "파일이 아니라 채점하는 컴퓨터의 문제입니다). 담당자가 채점기를 다시 실행하니 여러분은 "
        "아무것도 하지 않아도 됩니다."
    ),
    "Submission: {source}": "제출물: {source}",
    "Each check ran on inputs you have not seen (a grading seed), in a fresh kernel, with "
    "your regions spliced into the course's own files; its printed results were compared "
    "with those of the reference solution on the same inputs. Code outside your student "
    "regions, and any change to check cells, tags or metadata, is not used.": (
        "각 확인은 여러분이 보지 못한 입력(채점용 시드)으로, 새 커널에서, "
        "여러분의 학생 영역을 과정의 원래 파일에 끼워 넣은 채 실행되었고, "
        "출력된 결과를 같은 입력에서 정답 코드가 낸 결과와 비교했습니다. "
        "학생 영역 밖의 코드와 확인 셀, 태그, 메타데이터에 대한 변경은 "
        "쓰이지 않습니다."
    ),
}


def feedback_markdown(student: str, source: str, result: SubmissionResult, lang: str = "") -> str:
    """The page a student reads: every exercise, its points, pass or fail and why.

    ``lang`` is ``"en"`` or ``"ko"``; by default :func:`feedback_language` of the result.
    """
    lang = lang or feedback_language(result)
    t, why = _words(lang)

    lines = [
        t("# Grading feedback: {student}").format(student=escape(student)),
        "",
        t("Submission: {source} (content sha256 {sha})").format(
            source=escape(source), sha=escape(result.content_hash[:16])
        ),
        "",
        t("**Total: {total} / {max} points**").format(
            total=_fmt(result.total), max=_fmt(result.max_total)
        ),
        "",
    ]
    if result.refused:
        refused = result.refused
        if lang == "ko":
            refused = reasons_ko.translate_refusal(refused, result.refused_message)
        lines += [
            t("Your submission could not be graded, so every exercise scores 0:"),
            "",
            f"> {escape(refused)}",
            "",
        ]
    lines += [t("| Exercise | Notebook | Points | Result |"), "|---|---|---|---|"]
    for e in result.exercises:
        verdict = t("pass") if e.passed else t("FAIL")
        lines.append(
            f"| `{e.exercise}` | {escape(e.notebook)} | {_fmt(e.points)} / "
            f"{_fmt(e.max_points)} | **{verdict}**: {_cell(why(e.reason))} |"
        )
    if result.notes:
        lines += ["", t("## Notes on your files"), ""]
        lines += [f"- {_cell(why(n))}" for n in result.notes]
    lines += [
        "",
        t(
            "Each check ran on inputs you have not seen (a grading seed), in a fresh kernel, with "
            "your regions spliced into the course's own files; its printed results were compared "
            "with those of the reference solution on the same inputs. Code outside your student "
            "regions, and any change to check cells, tags or metadata, is not used."
        ),
        "",
    ]
    return "\n".join(lines)


def summary_markdown(
    course: Course,
    rows: list[tuple[str, SubmissionResult]],
    *,
    new: int,
    skipped: int,
    failed: list[tuple[str, str]],
    seconds: float,
    capabilities: dict[str, str],
    network: str,
    seed_source: str,
) -> str:
    graded = len(rows)
    rate = new / (seconds / 60) if seconds > 0 and new else 0.0
    lines = [
        "# Grading summary",
        "",
        f"- submissions in the gradebook: {graded} ({new} graded now, {skipped} already graded "
        f"and skipped, {len(failed)} could not be graded)",
        f"- time: {seconds:.1f} s" + (f" ({rate:.2f} submissions/minute)" if rate else ""),
        f"- notebooks: {', '.join(course.notebooks)}; maximum {_fmt(course.max_points)} points",
        f"- grading seed: {seed_source}",
        "",
        "## Isolation on this machine",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in capabilities.items()]
    if network:
        lines.append(f"- nbval's network namespace: {network}")
    if graded:
        lines += ["", "## Results", "", "| Exercise | Points | Passed |", "|---|---|---|"]
        for cell in course.graded:
            passed = sum(
                1 for _, r in rows for e in r.exercises if e.exercise == cell.exercise and e.passed
            )
            lines.append(f"| `{cell.exercise}` | {_fmt(cell.points)} | {passed} / {graded} |")
        mean = sum(r.total for _, r in rows) / graded
        lines += ["", f"Mean total: {mean:.2f} / {_fmt(course.max_points)}"]
    refused = [(s, r.refused) for s, r in rows if r.refused]
    if refused:
        lines += ["", "## Refused submissions (scored 0)", ""]
        lines += [f"- {escape(s)}: {_cell(reason)}" for s, reason in refused]
    if failed:
        lines += ["", "## Not graded (grader problems; run again to retry)", ""]
        lines += [f"- {escape(s)}: {_cell(reason)}" for s, reason in failed]
    return "\n".join(lines) + "\n"


def _words(lang: str):
    """The page's fixed words and the grader's reasons in ``lang``: two functions of text."""
    if lang != "ko":
        return (lambda text: text), (lambda text: text)
    return (lambda text: _FEEDBACK_KO.get(text, text)), reasons_ko.translate_reason


def not_graded_markdown(student: str, source: str, reason: str, lang: str = "en") -> str:
    """The page of a submission the grader could not grade this time (a grader problem), in
    ``lang`` (see :func:`submission_language`)."""
    t, why = _words(lang)
    return "\n".join(
        [
            t("# Grading feedback: {student}").format(student=escape(student)),
            "",
            t("Submission: {source}").format(source=escape(source)),
            "",
            t(
                "**Not graded yet**: the grader could not grade this submission this time (a "
                "problem of the grading machine, not of your files). The instructor re-runs the "
                "grader; you need not do anything."
            ),
            "",
            f"> {escape(why(reason))}",
            "",
        ]
    )


def write_reports(batch: Batch, subs: list[Submission], **summary) -> BatchReport:
    """Gradebook, feedback pages and summary, rebuilt from the stored results, with the points
    TAs entered in the manual-grading sheets merged in (``cs231n_course.manual``).

    Every submission gets a feedback page: its result, or a "not graded yet" page when the
    grader failed on it (it is retried on the next run).
    """
    rows, sources, langs = [], {}, {}
    failed = dict(batch.failed)
    for sub in subs:
        path = batch.result_path(sub)
        page = batch.out / "feedback" / f"{sub.student}.md"
        source = shown_name(sub.path)
        if path.exists():
            result = read_result(path)
            rows.append((sub.student, result))
            sources[sub.student] = source
            if result.refused:  # no answers were read: ask the files it could not grade
                limits = batch.options.unpack_limits
                langs[sub.student] = refused_language(sub, batch.course, limits)
        else:
            reason = failed.get(sub.student, "not graded in this run (it was interrupted?)")
            lang = submission_language(sub, batch.course)
            write_atomic(page, not_graded_markdown(sub.student, source, reason, lang))
    as_json = [(student, result.to_json()) for student, result in rows]
    marks = manual.merge(batch.out, batch.course, as_json)  # TA sheets; raises if bad
    manual.write_all(batch.out, marks, write_atomic, batch.course)
    for (student, result), (_, data) in zip(rows, as_json, strict=True):
        lang = langs.get(student) or feedback_language(result)
        write_atomic(
            batch.out / "feedback" / f"{student}.md",
            feedback_markdown(student, sources[student], result, lang)
            + manual.feedback_section(student, data, marks, lang),
        )
    write_atomic(
        batch.out / "gradebook.csv",
        manual.gradebook_csv(gradebook_csv(batch.course, rows), marks),
    )
    text = summary_markdown(
        batch.course,
        rows,
        failed=batch.failed,
        capabilities=batch.rt.capabilities,
        network=batch.network,
        seed_source=batch.seed_source,
        **summary,
    )
    write_atomic(batch.out / "summary.md", text + manual.summary_section(batch.out, marks))
    return BatchReport(
        batch.out / "gradebook.csv",
        batch.out / "summary.md",
        {s: r.total for s, r in rows},
        summary["new"],
        summary["skipped"],
        batch.failed,
        summary["seconds"],
    )


def read_result(path: Path) -> SubmissionResult:
    """One stored result (``OUT/.grader/results/<context>/<content hash>.json``)."""
    return SubmissionResult.from_json(json.loads(path.read_text()))
