"""The grader's feedback for a student who answered in Korean: the reasons, the notes, the
manual-grading section and the "not graded yet" page in Korean, while everything the grader
stores or compares (results, gradebook, summary, English pages) stays byte for byte English.

The end-to-end run (the real grader on the same work in both languages) is
``tests/test_translations.py::test_a_korean_submission_grades_exactly_as_the_english_one``.
"""

from __future__ import annotations

import re
import signal

import nbformat
import pytest

from cs231n_course.grader import reasons_ko, reports, scoring
from cs231n_course.grader.types import ExerciseResult, GradedCell, Limits, SubmissionResult
from cs231n_course.manual.reports import feedback_section
from cs231n_course.manual.sheets import ManualState, SheetRow

HANGUL = re.compile("[\uac00-\ud7a3]")
LIMITS = Limits(cell_timeout=30, notebook_timeout=300, cpu_seconds=120)
CELL = GradedCell("04_two_layer_net.ipynb", 1, "relu_forward-check", "relu_forward", 2.0)


def _stdout(text):
    return [{"output_type": "stream", "name": "stdout", "text": text}]


def _error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def every_reason() -> list[str]:
    """A reason of every kind the grader writes, produced by the grader's own functions (so a
    reason reworded in scoring.py without its translation fails here)."""
    template = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("x", id="relu_forward"),
            nbformat.v4.new_code_cell("check('relu_forward')"),
        ]
    )
    template.cells[1].outputs = _stdout("relu_forward: results\n  out: f[2] abc\n  ok: holds\n")

    def verdict(event, refused=None):
        return scoring._verdict(CELL, event, template, refused or {}).reason

    failed = {"outcome": "failed", "message": "outputs differ", "kernel_alive": True}
    reasons = [
        verdict({"outcome": "passed"}),
        verdict({"outcome": "skipped"}),
        verdict({"outcome": "failed", "output_limit": 2_000_000, "output_chars": 9_000_000}),
        verdict({**failed, "outputs": [_error("ValueError", "shapes (2,3) and (4,5)")]}),
        verdict({**failed, "outputs": [_error("RuntimeError", "the instructor must run")]}),
        verdict(
            {**failed, "outputs": []},
            {
                "relu_forward": "relu_forward (x.py): line 3 is indented less than the region; "
                "graded as not written"
            },
        ),
        verdict({**failed, "outputs": _stdout("hello\n")}),
        verdict(
            {**failed, "outputs": _stdout("relu_forward: results\n  out: f[2] xyz\n  ok: fails\n")}
        ),
        verdict(
            {
                **failed,
                "outputs": _stdout("relu_forward: results\n  out: f[2] abc\n  ok: holds\nhi\n"),
            }
        ),
        verdict(
            {
                **failed,
                "outputs": _stdout("relu_forward: results\n  out: f[2] xyz\n  ok: holds\n")
                + [{"output_type": "stream", "name": "stderr", "text": "OSError: no pty\n"}],
            }
        ),
        verdict({"outcome": "failed", "message": "something else", "kernel_alive": True}),
        scoring.protocol_reason("KeyError: 'header'"),
        scoring.fatal_reason({"timed_out": True, "kernel_alive": True}, LIMITS),
        scoring.kernel_death_reason({"oom_kills": 1}, LIMITS),
        scoring.kernel_death_reason({"signal": signal.SIGKILL, "cpu_seconds": 200}, LIMITS),
        scoring.kernel_death_reason({"signal": signal.SIGSEGV}, LIMITS),
        scoring.kernel_death_reason({"exit_code": 3}, LIMITS),
        scoring.kernel_death_reason({}, LIMITS),
        scoring.output_too_large(5_000_000, 1_000_000),
    ]
    # A cause after the reason: the region's own cell raised, or wrote an error to stderr.
    ends = {0: {"outputs": [_error("OSError", "out of pty devices")]}}
    cause = scoring._region_cell_error(template, ends, "relu_forward")
    reasons.append(reasons[3] + f"; the cell holding your region relu_forward {cause}")
    ends = {0: {"outputs": [{"output_type": "stream", "name": "stderr", "text": "MyError: x\n"}]}}
    cause = scoring._region_cell_error(template, ends, "relu_forward")
    reasons.append(reasons[6] + f"; the cell holding your region relu_forward {cause}")
    # Written by other grader modules (the same texts; see each module).
    reasons += [
        "submission refused",
        "not graded: the kernel crashed or hung before this check in each of 3 runs",
        "the check cell was running when the notebook's time limit or a resource limit "
        "stopped the run (the kernel or nbval was killed)",
        "your model's weights, evaluated by the grader on the validation split, reach 0.212; "
        "the goal is 0.25 (tune further)",
        "the grader could not evaluate your model: the exported model has no W1, b1",
        "01_knn.ipynb cell 7: your code left 2 processes running (a fork?); they were stopped "
        "when the cell ended",
        "cs231n_lib/layers.py is missing from the submission: its functions keep the stubs",
        "no region affine_forward in cs231n_lib/layers.py: its begin/end lines were not found "
        "(edited, removed, or typed with look-alike characters); restore them from the release",
        "your code was not used: affine_forward (cs231n_lib/layers.py): the region's code does "
        "not stay inside its function (a line is indented less than the region, or a block is "
        "left open at its end); graded as not written",
    ]
    return reasons


@pytest.mark.parametrize("reason", every_reason())
def test_every_grader_reason_has_a_korean_translation(reason):
    korean = reasons_ko.translate_reason(reason)
    assert korean != reason and HANGUL.search(korean), reason
    # ...all of it: no part of it (a nested reason) was left English.
    assert reasons_ko.untranslated(reason) == [], (reason, korean)


def test_the_shell_command_hint_is_translated_not_swallowed_as_quoted_text():
    """The !cmd hint follows the quoted error text; the generic "raised {ename}: {evalue}"
    template would take it as part of the quote and leave it English. The grader's own wording
    must meet its own template (a reworded hint fails here)."""
    template = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", id="relu_forward")])
    ends = {0: {"outputs": [_error("OSError", "out of pty devices")]}}
    reason = scoring._region_cell_error(template, ends, "relu_forward")
    korean = reasons_ko.translate_reason(reason)
    assert "!cmd" in reason and "out of pty devices" in korean, korean
    assert "shell commands" not in korean and "Python" in korean, korean


def test_quoted_student_text_is_kept_exactly():
    reason = "raised ValueError: shapes (2,3) and (4,5); the cell holding your region f raised"
    assert reasons_ko.translate_reason("raised ValueError: a: b; c") == (
        "ValueError을(를) 일으켰습니다: a: b; c"
    )
    assert "shapes (2,3) and (4,5)" in reasons_ko.translate_reason(reason)
    assert reasons_ko.translate_reason("something no template knows") == (
        "something no template knows"
    )


def _result(answer):
    return SubmissionResult(
        "0" * 64,
        10,
        [
            ExerciseResult(
                "relu_forward", "04.ipynb", 2, 2, True, "passed on the hidden grading inputs"
            ),
            ExerciseResult(
                "affine_forward", "04.ipynb", 0, 3, False,
                "raised NotImplementedError: affine_forward: implement this in "
                "cs231n_lib/layers.py (see the TODO above)",
            ),
            ExerciseResult(
                "svm_tuning", "02.ipynb", 0, 5, False,
                "wrong results on the hidden grading inputs: loss, dW | <b>",
            ),
        ],
        notes=["01_knn.ipynb cell 7: your code left 2 processes running (a fork?); they were "
               "stopped when the cell ended"],
        answers={"01_knn-inline-question-1": answer, "01_knn-inline-question-2": None},
    )  # fmt: skip


def test_korean_feedback_page_shows_korean_reasons_and_notes():
    korean = reports.feedback_markdown("kim", "kim.zip", _result("픽셀 밝기 차이 때문입니다."))
    english = reports.feedback_markdown("kim", "kim.zip", _result("Brightness dominates L2."))
    assert "**통과**: 채점용 숨겨진 입력에서 통과했습니다" in korean
    # A stub's English message, quoted in a reason, is shown in the library's Korean.
    assert (
        "**실패**: NotImplementedError을(를) 일으켰습니다: affine\\_forward: 아직 구현되지 "
        "않았습니다. cs231n\\_lib/layers.py에 구현하세요" in korean
    )
    # Quoted student-facing text stays escaped (markdown and HTML).
    assert "결과가 틀렸습니다: loss, dW \\| &lt;b&gt;" in korean
    assert "- 01\\_knn.ipynb 셀 7: 여러분의 코드가 프로세스 2개를" in korean
    assert "**pass**: passed on the hidden grading inputs" in english
    assert "wrong results on the hidden grading inputs: loss, dW \\| &lt;b&gt;" in english
    assert not HANGUL.search(english)
    rows = [line for line in korean.splitlines() if line.startswith("| `")]
    assert len(rows) == 3 and all(HANGUL.search(r.split("**: ", 1)[1]) for r in rows)


def _state(points=None, comment=""):
    from cs231n_course.manual.questions import Question

    questions = [
        Question("01_knn-inline-question-1", "01_knn.ipynb", "inline-question-1", 2.0, "p", "m"),
        Question("01_knn-inline-question-2", "01_knn.ipynb", "inline-question-2", 2.0, "p", "m"),
    ]
    answers = {"kim": {"01_knn-inline-question-1": "답", "01_knn-inline-question-2": None}}
    state = ManualState(questions, answers, {q.qid: {} for q in questions})
    if points is not None:
        state.sheets["01_knn-inline-question-1"]["kim"] = SheetRow(
            "kim", points, comment, "", "", ""
        )
    return state


@pytest.mark.parametrize("points", [None, 1.5])
def test_manual_section_in_korean_and_english(points):
    state = _state(points, comment="좋아요 | <i>")
    data = {"total": 2.0, "max_total": 10.0}
    korean = feedback_section("kim", data, state, "ko")
    english = feedback_section("kim", data, state)
    assert "## 인라인 질문 (조교가 채점)" in korean and "| 질문 | 점수 | 의견 |" in korean
    assert "제출한 답이 없습니다" in korean
    assert "**총점" in korean and "자동 채점(확인 셀): 2 / 10점" in korean
    if points is None:
        assert "| 아직 채점 전 / 2 |" in korean and "| not graded yet / 2 |" in english
    else:
        assert "| 1.5 / 2 | 좋아요 \\| &lt;i&gt; |" in korean
    assert "## Inline questions (graded by a TA)" in english and "no answer submitted" in english
    total = 2.0 + (points or 0)
    assert f"**total {total:g} / 14**" in english and f"**총점 {total:g} / 14점**" in korean
    assert english == feedback_section("kim", data, state, "en")


def test_not_graded_page_in_the_language_of_the_answers(tmp_path, repo):
    from cs231n_course.grader.types import Submission

    reason = "not graded in this run (it was interrupted?)"
    english = reports.not_graded_markdown("kim", "kim.zip", reason)
    korean = reports.not_graded_markdown("kim", "kim.zip", reason, "ko")
    assert english.startswith(
        "# Grading feedback: kim\n\nSubmission: kim.zip\n\n**Not graded yet**"
    )
    assert "> not graded in this run (it was interrupted?)" in english
    assert korean.startswith("# 채점 결과: kim\n\n제출물: kim.zip\n\n**아직 채점되지 않음**")
    assert "> 이번 실행에서 채점되지 않았습니다(실행이 중단되었나요?)" in korean
    assert reports.not_graded_markdown(
        "kim", "kim.zip", "a grader crash: OSError"
    ) == english.replace(reason, "a grader crash: OSError")

    # A submission folder whose answer is Korean: its page is Korean, without a result.
    from cs231n_course.grader.course import load_course
    from cs231n_course.release import build_release

    course = load_course(repo, tmp_path / "cache", ["01_knn"])
    folder = tmp_path / "kim"
    build_release(repo, folder)
    assert reports.submission_language(Submission(folder, "kim"), course) == "en"
    path = folder / "notebooks/01_knn.ipynb"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("*(write your answer here)*", "밝기가 거리를 좌우합니다", 1))
    assert reports.submission_language(Submission(folder, "kim"), course) == "ko"
    assert reports.submission_language(Submission(tmp_path / "nothing.zip", "x"), course) == "en"


# --- the submit command, for a student working in Korean ----------------------------------


def test_submit_summary_in_korean_counts_korean_check_results(release, tmp_path):
    """A Korean notebook's passed check prints "name: 통과 (...)": submit counts it as OK (in
    either language), and under CS231N_LANG=ko its summary and warnings are Korean."""
    import json
    import shutil
    import subprocess
    import sys

    root = shutil.copytree(release, tmp_path / "course")
    path = root / "notebooks/01_knn.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    check_cells = [
        c for c in nb["cells"] if c["cell_type"] == "code" and c["metadata"].get("nbgrader")
    ]
    grade_id = check_cells[0]["metadata"]["nbgrader"]["grade_id"]
    check_cells[0]["execution_count"] = 1
    check_cells[0]["outputs"] = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": f"{grade_id}: 통과 (dists: 상대 오차)\n",
        }
    ]
    path.write_text(json.dumps(nb), encoding="utf-8")
    runs = {}
    for lang in ("ko", "en"):
        done = subprocess.run(
            [sys.executable, "-m", "cs231n_lib.submit", "--out", str(tmp_path / f"{lang}.zip")],
            cwd=root, capture_output=True, text=True, timeout=120,
            env={**__import__("os").environ, "CS231N_LANG": lang},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs[lang] = done.stdout
    total = len(check_cells)
    assert f"checks OK  1/{total}" in runs["en"] and "Warnings (" in runs["en"]
    assert not HANGUL.search(runs["en"])
    ko = runs["ko"]
    assert ko.startswith("제출물: ") and f"확인 통과  1/{total}" in ko
    assert "노트북 (마지막 저장 기준" in ko and "경고 (" in ko
    assert "한 번도 실행하지 않았습니다" in ko and "Gradescope에 올리기" in ko
