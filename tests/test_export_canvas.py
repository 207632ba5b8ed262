"""``course export canvas`` writes Canvas' gradebook import layout and reports roster gaps."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from cs231n_course.export_canvas import IDENTITY, canvas_csv

COLUMNS = {
    "exercises": [
        {"name": "svm_loss_naive", "notebook": "02_svm.ipynb", "points": 3},
        {"name": "knn_two_loops", "notebook": "01_knn.ipynb", "points": 4},
    ],
    "questions": [{"name": "01_knn-q1", "notebook": "01_knn.ipynb", "points": 2}],
}


@pytest.fixture
def grades(tmp_path):
    out = tmp_path / "gradebook"
    out.mkdir()
    (out / "columns.json").write_text(json.dumps(COLUMNS))
    (out / "gradebook.csv").write_text(
        "student,total,svm_loss_naive,knn_two_loops,auto_total,manual_total,01_knn-q1\n"
        "alice,8.5,3,4,7,1.5,1.5\n"
        "bob,3,3,0,3,0,\n"
        "zed,0,0,0,0,0,0\n"
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        "    Points Possible,,,,\n"
        '"Liddell, Alice",101,A1,alice,S1\n'
        '"Builder, Bob",102,B2,bob,S2\n'
        '"Doe, Carol",103,C3,carol,S1\n'
    )
    return out, roster


def test_layout_and_roster_report(grades):
    out, roster = grades
    with pytest.raises(ValueError, match=r"01_knn-q1.csv \(student bob\)"):
        canvas_csv(out, roster, "A1")
    result = canvas_csv(out, roster, "A1", allow_ungraded=True)
    rows = list(csv.reader(result.text.splitlines()))
    assert rows[0] == [*IDENTITY, "A1", "A1: 01_knn", "A1: 02_svm"]
    assert rows[1] == ["Points Possible", "", "", "", "", "9", "6", "3"]
    assert rows[2] == ["Liddell, Alice", "101", "A1", "alice", "S1", "8.5", "5.5", "3"]
    assert rows[3][3:] == ["bob", "S2", "3", "0", "3"]
    assert rows[4] == ["Doe, Carol", "103", "C3", "carol", "S1", "", "", ""]
    assert result.not_in_roster == ["zed"] and result.no_submission == ["carol"]


def test_roster_errors_name_the_row(grades, tmp_path):
    out, _ = grades
    bad = tmp_path / "bad.csv"
    bad.write_text("student,Student,ID,SIS User ID,SIS Login ID,Section\nalice,A,,,,\n")
    with pytest.raises(ValueError, match=r"bad.csv row 2 \(student alice\): needs a Canvas"):
        canvas_csv(out, bad, "A1", allow_ungraded=True)
    twice = tmp_path / "twice.csv"
    twice.write_text("Student,ID,SIS User ID,SIS Login ID,Section\nA,1,,alice,\nB,2,,alice,\n")
    with pytest.raises(ValueError, match=r"twice.csv row 3: student alice appears twice"):
        canvas_csv(out, twice, "A1", allow_ungraded=True)
    nokey = tmp_path / "nokey.csv"
    nokey.write_text("Name,Email\nA,a@x\n")
    with pytest.raises(ValueError, match="needs a 'student' column"):
        canvas_csv(out, nokey, "A1")


def test_command_line(grades):
    out, roster = grades
    done = subprocess.run(
        [sys.executable, "-m", "cs231n_course", "export", "canvas", str(out),
         "--roster", str(roster), "--allow-ungraded"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "graded but not in the roster (not exported): zed" in done.stdout
    assert "no submission (cells left empty): carol" in done.stdout
    assert (out / "canvas.csv").read_text().startswith("Student,ID,SIS User ID")
