"""Manual grading: answers collected per question, sheets merged across runs, bad points named,
student text escaped on the pages."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from cs231n_course import manual as mg
from cs231n_course.manual.render import render
from cs231n_lib.atomic import write_atomic

REPO = Path(__file__).resolve().parents[1]
HOSTILE = (
    "ok <script>alert(1)</script> <img src=x onerror=alert(1)> $\\text{<img/src=x/onerror=1>}$"
)


@pytest.fixture
def course(release):
    return SimpleNamespace(source_root=REPO, release_root=release, notebooks=["01_knn.ipynb"])


def _submission(release: Path, root: Path, answers: dict[str, str]) -> tuple[Path, list[str]]:
    """A staged submission of notebook 01 with ``answers`` by cell id written in."""
    (root / "notebooks").mkdir(parents=True)
    nb = json.loads((release / "notebooks" / "01_knn.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["id"] in answers:
            source = "".join(cell["source"])
            cell["source"] = source.replace("*(write your answer here)*", answers[cell["id"]])
    (root / "notebooks" / "01_knn.ipynb").write_text(json.dumps(nb))
    return root, ["notebooks/01_knn.ipynb"]


def _results(course, release, tmp_path, per_student: dict[str, dict[str, str]]):
    rows = []
    for student, answers in per_student.items():
        root, files = _submission(release, tmp_path / f"staged-{student}", answers)
        found = mg.collect_answers(root, files, course)
        shutil.rmtree(root)
        rows.append((student, {"answers": found, "total": 4.0, "max_total": 12.0}))
    return rows


def _sheet(out: Path, qid: str) -> list[dict]:
    with open(out / "manual" / f"{qid}.csv") as f:
        return list(csv.DictReader(f))


def _write_sheet(out: Path, qid: str, rows: list[dict]) -> None:
    with open(out / "manual" / f"{qid}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=mg.SHEET_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def test_questions_declared_once_with_model_answers(course):
    questions = mg.load_questions(course)
    assert [q.qid for q in questions] == [
        "01_knn-inline-question-1",
        "01_knn-inline-question-2",
        "01_knn-inline-question-3",
    ]
    assert all(q.points == 2 for q in questions)
    assert all(q.model and "BEGIN SOLUTION" not in q.model for q in questions)
    assert all("STUDENT REGION" not in q.prompt for q in questions)


def test_sheets_merge_keep_points_and_flag_changes(course, release, tmp_path):
    out = tmp_path / "out"
    q2 = "01_knn-inline-question-2"
    rows = _results(course, release, tmp_path, {"alice": {"inline-question-2": "first"}, "bob": {}})
    state = mg.merge(out, course, rows)
    mg.write_all(out, state, write_atomic)
    sheet = _sheet(out, q2)
    assert [r["student"] for r in sheet] == ["alice", "bob"] and not sheet[0]["points"]
    assert state.missing  # nothing graded yet: every answered question is listed
    sheet[0].update(points="1.5", comment="good; see <b>")
    _write_sheet(out, q2, sheet)
    # Re-run: points kept and counted, feedback shows them apart with the comment, escaped.
    state = mg.merge(out, course, rows)
    mg.write_all(out, state, write_atomic)
    assert state.points("alice") == 1.5 and _sheet(out, q2)[0]["points"] == "1.5"
    feedback = mg.feedback_section("alice", rows[0][1], state)
    assert "| `01_knn-inline-question-2` | 1.5 / 2 | good; see &lt;b&gt; |" in feedback
    assert "Automatic (checks): 4 / 12; manual (inline questions): 1.5 / 6" in feedback
    auto = "student,total,a\nalice,4,4\nbob,0,0\n"
    book = list(csv.DictReader(mg.gradebook_csv(auto, state).splitlines()))
    assert book[0]["total"] == "5.5" and book[0]["manual_total"] == "1.5"
    assert book[0][q2] == "1.5" and book[1][q2] == "0"  # bob wrote no answer
    assert book[0]["01_knn-inline-question-1"] == "0"
    # alice changes her answer after grading: flagged, points kept; bob's row stays when he
    # is missing from a later run.
    changed = _results(course, release, tmp_path, {"alice": {"inline-question-2": "second"}})
    state = mg.merge(out, course, changed)
    mg.write_all(out, state, write_atomic)
    sheet = _sheet(out, q2)
    assert sheet[0]["flag"] == mg.CHANGED_FLAG and sheet[0]["points"] == "1.5"
    assert sheet[1]["student"] == "bob" and sheet[1]["flag"] == mg.GONE_FLAG
    assert "changed after grading" in (out / "manual" / "index.html").read_text()
    # A TA re-reads it and clears graded_sha: the flag goes.
    sheet[0]["graded_sha"] = ""
    _write_sheet(out, q2, sheet)
    state = mg.merge(out, course, changed)
    assert state.sheets[q2]["alice"].flag == ""


def test_bad_points_named_and_nothing_written(course, release, tmp_path):
    out = tmp_path / "out"
    rows = _results(course, release, tmp_path, {"alice": {}, "bob": {}})
    mg.write_all(out, mg.merge(out, course, rows), write_atomic)
    q1 = "01_knn-inline-question-1"
    sheet = _sheet(out, q1)
    sheet[0]["points"], sheet[1]["points"] = "3", "lots"
    _write_sheet(out, q1, sheet)
    before = (out / "manual" / f"{q1}.csv").read_text()
    with pytest.raises(mg.ManualGradingError) as err:
        mg.merge(out, course, rows)
    message = str(err.value)
    assert f"{q1}.csv row 2 (student alice): points '3' is outside 0 to 2" in message
    assert f"{q1}.csv row 3 (student bob): points 'lots' is not a number" in message
    assert (out / "manual" / f"{q1}.csv").read_text() == before


def test_pages_escape_student_text_and_need_no_network(course, release, tmp_path):
    out = tmp_path / "out"
    answers = {"inline-question-1": HOSTILE, "inline-question-2": "$\\sum_p |a_p|$"}
    rows = _results(course, release, tmp_path, {"mallory": answers})
    state = mg.merge(out, course, rows)
    mg.write_all(out, state, write_atomic)
    page = (out / "manual" / "01_knn-inline-question-1.html").read_text()
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page.replace("http://www.w3.org/1998/Math/MathML", "")
    assert "Model answer" in page
    math_page = (out / "manual" / "01_knn-inline-question-2.html").read_text()
    assert "<msub><mo>∑</mo><mi>p</mi></msub>" in render("$\\sum_p x$")
    assert "<math" in math_page


@pytest.mark.parametrize(
    "markdown",
    ["$\\href{javascript:alert(1)}{x}$", "[x](javascript:alert(1))", "<iframe src=//e>"],
)
def test_render_refuses_active_content(markdown):
    out = render(markdown)
    assert 'href="javascript' not in out and "<iframe" not in out and "<math" not in out


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_inline_question_declares_its_points(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] != "markdown" or "### BEGIN SOLUTION" not in text:
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        expected = f"{path.stem}-{cell['id']}"
        assert meta.get("grade") is True and meta.get("solution") is True, (
            f"{path.name} ({cell['id']}): an inline question needs metadata "
            f'{{"nbgrader": {{"grade": true, "solution": true, "grade_id": "{expected}", '
            f'"points": n}}}}'
        )
        assert meta.get("grade_id") == expected and meta.get("points", 0) > 0, cell["id"]
