"""The generated Gradescope autograder, run as Gradescope runs it: a folder laid out like
``/autograder`` (source, submission, results), the generated ``run_autograder`` executed as
root, our grader inside it with the uid-only isolation Gradescope's containers leave. Checked:
results.json against Gradescope's documented schema, the scores of the reference, the untouched
release and a hostile submission (one region tries to read the reference outputs, the secret and
the solutions; another allocates memory without end), and what the kernel could read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import jsonschema
import pytest
from hostile.edit import KNN, answer_in_korean, copy_tree, edit_notebook, set_region, zip_tree

from cs231n_course.gradescope import (
    RESULTS_SCHEMA,
    build_autograder,
    extract_autograder,
    results_json,
)
from cs231n_course.solutions import fill_regions, solution_regions

REPO = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.notebook,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root"),
]
KNN_POINTS = 12

STEAL = """
import glob, os
tried = []
for pattern in {patterns!r}:
    for path in glob.glob(pattern, recursive=True) or [pattern]:
        try:
            with open(path, "rb") as f:
                f.read(1)
            tried.append("READ " + path)
        except OSError as err:
            tried.append(type(err).__name__ + " " + path)
raise RuntimeError("probe: " + "; ".join(tried))
"""
BOMB = """
blocks = []
while True:
    blocks.append(np.ones(1 << 24))  # 128 MiB more each time
"""


SYSTEM_PYTHON = Path("/usr/bin/python3.11")


@pytest.fixture(scope="module")
def python(tmp_path_factory) -> str:
    """An interpreter the sandbox uid may run, as setup.sh makes one (a venv of the system's
    python3.11), with this environment's packages (same ABI) instead of a download."""
    if not SYSTEM_PYTHON.exists():
        pytest.fail(f"{SYSTEM_PYTHON} is missing (apt-get install python3.11 python3.11-venv)")
    venv = Path(tempfile.mkdtemp(prefix="cs231n-gs-venv-", dir="/tmp"))
    os.chmod(venv, 0o755)
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (venv / "lib" / "python3.11" / "site-packages" / "cs231n-host.pth").write_text(
        f"import site; site.addsitedir({site!r})\n"
    )
    yield str(venv / "bin" / "python")
    shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture(scope="module")
def autograder(tmp_path_factory, release):
    folder = tmp_path_factory.mktemp("gs")
    zip_path = folder / "autograder.zip"
    build_autograder(REPO, zip_path)
    # One /autograder for the module; every submission is run there in turn (Gradescope would
    # give each its own container; sharing keeps the reference outputs computed once).
    top = Path(tempfile.mkdtemp(prefix="cs231n-gs-", dir="/tmp"))
    os.chmod(top, 0o711)  # the kernel must be able to pass through to the data set
    root = top / "autograder"
    root.mkdir()
    extract_autograder(zip_path, root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    yield root, zip_path
    shutil.rmtree(top, ignore_errors=True)


def _run(root: Path, submission: Path, python: str) -> tuple[dict, subprocess.CompletedProcess]:
    target = root / "submission"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    if submission.is_dir():
        shutil.copytree(submission, target, dirs_exist_ok=True)
    else:
        shutil.copy(submission, target / "submission.zip")
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "results.json").unlink(missing_ok=True)
    env = {
        **os.environ,
        "CS231N_AUTOGRADER_ROOT": str(root),
        "CS231N_PYTHON": python,
        "CS231N_NOTEBOOKS": "01_knn",
        "CS231N_ISOLATION": "uid-only",  # what a container without namespaces gets
    }
    done = subprocess.run(
        [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
        timeout=1500,
    )  # fmt: skip
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, RESULTS_SCHEMA)
    return data, done


def _scores(data: dict) -> dict[str, float]:
    return {t["name"].split(": ", 1)[1]: t["score"] for t in data["tests"] if ": " in t["name"]}


def test_zip_layout(autograder):
    _, zip_path = autograder
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        mode = (z.getinfo("run_autograder").external_attr >> 16) & 0o777
    assert {"setup.sh", "run_autograder", "secret"} <= names and mode == 0o755
    assert "course/cs231n_course/grader/batch.py" in names
    assert "course/notebooks/01_knn.ipynb" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("course/tests/test_")]


def test_schema_rejects_what_gradescope_would():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tests": [{"name": "x"}]}, RESULTS_SCHEMA)  # no score anywhere
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"score": 1, "visibility": "sometimes"}, RESULTS_SCHEMA)


def test_reference_release_and_hostile(autograder, release, python, tmp_path):
    root, _ = autograder
    perfect = copy_tree(release, tmp_path / "perfect")
    fill_regions(perfect, solution_regions(REPO))
    data, done = _run(root, perfect, python)
    assert data["score"] == KNN_POINTS, (data, done.stderr[-3000:])
    isolation = next(t for t in data["tests"] if t["name"].startswith("Grader isolation"))
    assert isolation["visibility"] == "hidden" and "uid-only" in isolation["output"]

    # The release untouched but for one inline answer in Korean: no points, and what the
    # student reads is Korean (the feedback page's rule); the scores do not depend on it.
    untouched = copy_tree(release, tmp_path / "untouched")
    edit_notebook(untouched, answer_in_korean)
    zipped = tmp_path / "release.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for path in sorted(untouched.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(untouched))
    data, _ = _run(root, zipped, python)
    assert data["score"] == 0 and len(_scores(data)) == 5
    stub = next(t["output"] for t in data["tests"] if "compute_distances_two_loops" in t["name"])
    assert stub.startswith("실패: ") and "NotImplementedError" in stub, stub
    assert data["output"].startswith("확인 점수: 0 / 12점."), data["output"]
    isolation = next(t for t in data["tests"] if t["name"].startswith("Grader isolation"))
    assert "uid-only" in isolation["output"]  # instructors only: stays English

    # Refused (a zip-slip entry) from a student who answered in Korean: refused in Korean.
    slip = zip_tree(untouched, tmp_path / "slip.zip", {"../escaped.py": b"print(1)\n"})
    data, done = _run(root, slip, python)
    assert data["score"] == 0, (data, done.stderr[-2000:])
    assert "제출물을 채점할 수 없습니다: " in data["output"], data["output"]
    assert "제출물 폴더 바깥을 가리킵니다" in data["output"], data["output"]
    assert "outside the submission folder" not in data["output"], data["output"]

    # One hostile submission (each Gradescope run costs a reference run of its own seed): one
    # region tries to read what the kernel must not see, another allocates without end.
    hostile = copy_tree(perfect, tmp_path / "hostile")
    patterns = [
        str(root / "source" / "course" / KNN),
        str(root / "source" / "secret"),
        str(root / "grading" / ".grader" / "secret"),
        str(root / "grading" / ".grader" / "cache" / "**" / "*.ipynb"),
        str(root / "grading" / ".grader" / "results" / "**" / "*.json"),
    ]
    set_region(hostile, KNN, "KNearestNeighbor.compute_distances_one_loop",
               STEAL.format(patterns=patterns))  # fmt: skip
    set_region(hostile, KNN, "KNearestNeighbor.compute_distances_no_loops", BOMB)
    data, _ = _run(root, hostile, python)
    scores = _scores(data)
    probe = next(t["output"] for t in data["tests"] if "compute_distances_one_loop" in t["name"])
    assert "probe:" in probe and "READ" not in probe, probe
    assert probe.count("PermissionError") >= 3, probe
    # The probe costs its own exercise; the bomb its own and cross-validation, which uses the
    # same function; everything else is graded as the reference is.
    assert scores == {
        "compute_distances_two_loops": 3,
        "predict_labels": 2,
        "compute_distances_one_loop": 0,
        "compute_distances_no_loops": 0,
        "knn_cross_validation": 0,
    }, data
    assert data["score"] == KNN_POINTS - 7, data
    # (a process of the sandbox uid outliving a run makes the grader fail the submission)


def _stored(passed: bool, reason: str, **extra) -> dict:
    exercise = {"exercise": "compute_distances_two_loops", "notebook": "01_knn.ipynb",
                "points": 3 if passed else 0, "max_points": 3, "passed": passed,
                "reason": reason}  # fmt: skip
    return {"total": exercise["points"], "max_total": 3, "exercises": [exercise], **extra}


def test_results_json_speaks_the_students_language():
    """The same stored result in English and in Korean: the same scores, the student's words
    translated, the instructors-only test in English in both."""
    caps = {"isolation": "uid-only"}
    en = results_json(_stored(True, "passed on the hidden grading inputs"), caps, 1.0)
    ko = results_json(_stored(True, "passed on the hidden grading inputs"), caps, 1.0, "ko")
    for data in (en, ko):
        jsonschema.validate(data, RESULTS_SCHEMA)
    assert [t["score"] for t in en["tests"]] == [t["score"] for t in ko["tests"]]
    assert [t["name"] for t in en["tests"]] == [t["name"] for t in ko["tests"]]
    assert en["tests"][0]["output"] == "pass: passed on the hidden grading inputs"
    assert ko["tests"][0]["output"].startswith("통과: ")
    assert "hidden grading inputs" not in ko["tests"][0]["output"]
    assert en["output"].startswith("Checks: 3 / 3 points.")
    assert ko["output"].startswith("확인 점수: 3 / 3점.") and "Inline questions" not in ko["output"]
    assert ko["tests"][-1]["output"] == en["tests"][-1]["output"] == "isolation: uid-only"
