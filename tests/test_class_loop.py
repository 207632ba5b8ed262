"""A 5-student class from release to LMS, by the READMEs' commands: students fill in some
exercises and answers and run the submit command, the instructor grades, a TA fills the sheets,
the instructor grades again and exports for Canvas, and runs the similarity report."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostile.edit import KNN, set_region

from cs231n_course import sandbox
from cs231n_course.solutions import fill_regions, solution_regions

REPO = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.notebook,
    pytest.mark.slow,
    pytest.mark.skipif(
        sandbox.probe().get("mount+pid namespaces") != "ok",
        reason="grading needs mount and PID namespaces",
    ),
]
TWO, PRED = "KNearestNeighbor.compute_distances_two_loops", "KNearestNeighbor.predict_labels"
Q2 = "01_knn-inline-question-2"


def _cmd(*args, cwd=None, check=True):
    done = subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=1200
    )
    if check:
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def _answer(folder: Path, cell_id: str, text: str) -> None:
    path = folder / "notebooks" / "01_knn.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["id"] == cell_id:
            cell["source"] = "".join(cell["source"]).replace("*(write your answer here)*", text)
    path.write_text(json.dumps(nb, indent=1))


def test_five_student_class(tmp_path):
    release = tmp_path / "student-release"
    _cmd("-m", "cs231n_course", "release", str(release))
    students = {}
    for name in ("ana", "ben", "cho", "dev", "eve"):
        students[name] = tmp_path / "students" / name
        shutil.copytree(release, students[name])
    solutions = solution_regions(REPO)
    fill_regions(students["ana"], solutions)  # everything
    fill_regions(students["ben"], solutions, only={TWO, PRED})  # two functions
    shutil.copy(students["ben"] / KNN, students["cho"] / KNN)  # copies ben's file
    set_region(students["dev"], KNN, TWO, "dists[i, j] = 0.0  # a wrong answer")
    _answer(students["ana"], "inline-question-2", "Subtracting $\\mu$ changes nothing: "
            "$\\sum_p |(I_1^p-\\mu)-(I_2^p-\\mu)| = d_1$.")  # fmt: skip
    _answer(students["ben"], "inline-question-2", "<script>alert('x')</script> no idea")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name, folder in students.items():
        done = _cmd("-m", "cs231n_lib.submit", "--id", name, cwd=folder)
        assert f"Submission: {folder / f'{name}.zip'}" in done.stdout
        shutil.move(folder / f"{name}.zip", submissions / f"{name}.zip")
    zips = sorted(str(p) for p in submissions.glob("*.zip"))
    out = tmp_path / "gradebook"
    grade = ["-m", "cs231n_course", "grade", *zips, "--out", str(out), "--notebooks",
             "01_knn", "--no-progress", "--seed", "7"]  # fmt: skip
    _cmd(*grade)
    book = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    assert book["ana"]["auto_total"] == "12" and book["eve"]["auto_total"] == "0"
    assert book["ben"]["auto_total"] == book["cho"]["auto_total"] == "5"
    assert book["dev"]["compute_distances_two_loops"] == "0"
    page = (out / "manual" / f"{Q2}.html").read_text()
    assert "<math" in page and "&lt;script&gt;" in page and "<script>" not in page
    # TAs fill every sheet (ana's solution-filled tree answered all three questions); the
    # instructor grades again and exports.
    for path in sorted((out / "manual").glob("*.csv")):
        sheet = list(csv.DictReader(open(path)))
        for row in sheet:
            if path.stem == Q2:
                row["points"] = {"ana": "2", "ben": "0.5"}.get(row["student"], "0")
                row["comment"] = "see the model answer" if row["student"] == "ben" else ""
            else:
                row["points"] = "0"
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(sheet[0]))
            writer.writeheader()
            writer.writerows(sheet)
    again = _cmd(*grade)
    assert "5 already graded and skipped" in again.stdout
    book = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    assert book["ana"]["total"] == "14" and book["ben"]["total"] == "5.5"
    feedback = (out / "feedback" / "ben.md").read_text()
    assert "| `01_knn-inline-question-2` | 0.5 / 2 | see the model answer |" in feedback
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        + "".join(f"{n.title()},{i},S{i},{n},A\n" for i, n in enumerate(students, 100))
        + "Zoe,200,S200,zoe,A\n"
    )
    done = _cmd("-m", "cs231n_course", "export", "canvas", str(out), "--roster", str(roster))
    assert "in the roster with no submission (cells left empty): zoe" in done.stdout
    rows = list(csv.reader(open(out / "canvas.csv")))
    assert rows[1][:6] == ["Points Possible", "", "", "", "", "18"]
    assert rows[2][:6] == ["Ana", "100", "S100", "ana", "A", "14"]
    done = _cmd("-m", "cs231n_course", "similarity", *zips, "--out", str(out))
    assert "100%  (solution) / ana" in done.stdout.splitlines()[1], done.stdout
    table = (out / "similarity.html").read_text()
    assert "ben / cho</a></td><td>100%</td>" in table  # cho copied ben's file
    assert "dev / eve</a></td><td>" not in table  # eve wrote nothing: no pair to compare
