"""``course gradescope``: a Gradescope autograder that runs *our* grader on each submission.

``python -m cs231n_course gradescope --out autograder.zip`` writes the zip Gradescope's
"programming assignment" takes: ``setup.sh`` and ``run_autograder`` at its root, the
instructor's course (solutions included) under ``course/``, and a grading ``secret`` created
now, so every submission is graded with the same hidden seed. Gradescope's documented layout
(``autograder_samples/docs/specs.md``; no Gradescope runs here, so the tests lay a folder out
the same way and run the generated script in it):

- ``/autograder/source``: the zip's contents (``setup.sh`` runs there once, when the image is
  built); ``/autograder/run_autograder``: the script, run for every submission as root;
- ``/autograder/submission``: what the student uploaded (our ``submission.zip``, extracted by
  Gradescope or not: both are accepted);
- ``/autograder/results/results.json``: one test per exercise (score, max_score, name, our
  one-line reason), the total, and a hidden test saying which isolation was in force.

Inline questions are left to Gradescope's own manual grading (make them "manually graded"
questions of the assignment). Gradescope runs each submission in a container of its own, as
root, often without the namespace and cgroup privileges the sandbox uses: then the kernel runs
as an unprivileged uid with the rlimits that remain (:mod:`sandbox_uidonly`), and before grading
``run_autograder`` makes the instructor's course unreadable to that uid (only the data set stays
readable). Every path is configurable (``--root``) so the same script runs in a test folder.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import stat
import sys
import time
import zipfile
from pathlib import Path

from cs231n_course.grader.types import Limits
from cs231n_lib.atomic import atomic_file

# What the autograder carries of the instructor's tree (everything grading reads).
COURSE_FILES = (
    "README.md",
    "pyproject.toml",
    "requirements.txt",
    "requirements-instructor.txt",
    "cs231n_lib/**/*.py",
    "cs231n_lib/checks/golden/*.npz",
    "cs231n_lib/locale/*/LC_MESSAGES/*.mo",
    "cs231n_course/**/*.py",
    "notebooks/*.ipynb",
    "datasets/README.md",
    "datasets/cifar10-jpeg75.tar.gz",
    "tests/sanitize.cfg",
)
# Gradescope's default container: 768 MB of memory, half a vCPU, 10 minutes per submission.
# The kernel's limits leave room for nbval and the grader inside that.
GRADESCOPE_LIMITS = Limits(
    cell_timeout=120,
    notebook_timeout=300,
    cpu_seconds=420,
    memory_bytes=2 << 30,  # address space per process (virtual: BLAS reserves much of it)
    max_processes=64,
)
VENV = "/opt/cs231n-venv"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
SOURCE="$(cd "$(dirname "$0")" && pwd)"
if ! command -v python3.11 >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv >/dev/null
fi
python3.11 -m venv {venv}
{venv}/bin/pip install -q -r "$SOURCE/course/requirements-instructor.txt" -e "$SOURCE/course"
chmod -R go+rX {venv}
# Decode the embedded CIFAR-10 once (the kernels read the decoded cache).
{venv}/bin/python -c "from cs231n_lib.data import load_cifar10; load_cifar10(verbose=False)"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in /autograder.
# CS231N_AUTOGRADER_ROOT and CS231N_PYTHON change the paths, CS231N_NOTEBOOKS="01_knn ..."
# grades only some notebooks (the course's tests use them).
set -uo pipefail
ROOT="${{CS231N_AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{CS231N_PYTHON:-{venv}/bin/python}}"
exec "$PYTHON" -m cs231n_course.gradescope run --root "$ROOT" \\
    ${{CS231N_NOTEBOOKS:+--notebooks $CS231N_NOTEBOOKS}}
"""

RESULTS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Gradescope results.json (autograder_samples docs/specs.md)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "visibility": {"$ref": "#/$defs/visibility"},
        "stdout_visibility": {"$ref": "#/$defs/visibility"},
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {"$ref": "#/$defs/test"}},
        "leaderboard": {"type": "array"},
    },
    "anyOf": [
        {"required": ["score"]},
        {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}},
    ],
    "$defs": {
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "test": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number"},
                "name": {"type": "string"},
                "number": {"type": "string"},
                "output": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": {"$ref": "#/$defs/visibility"},
                "extra_data": {"type": "object"},
            },
        },
    },
}


# -- building the zip -----------------------------------------------------------------------------
def build_autograder(source_root: Path, dest: Path) -> list[str]:
    """Write the autograder zip for ``source_root``; returns the course files it holds."""
    files = sorted(
        {
            p.relative_to(source_root).as_posix()
            for pattern in COURSE_FILES
            for p in source_root.glob(pattern)
            if p.is_file() and "__pycache__" not in p.parts
        }
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(dest, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            archive.writestr(info, text.format(venv=VENV))
        secret = zipfile.ZipInfo("secret", date_time=(2000, 1, 1, 0, 0, 0))
        secret.external_attr = (stat.S_IFREG | 0o600) << 16
        archive.writestr(secret, secrets.token_hex(32) + "\n")
        for rel in files:
            archive.write(source_root / rel, f"course/{rel}")
    return files


def extract_autograder(archive: Path, source: Path) -> None:
    """Unpack the zip as Gradescope does (into ``source``), keeping the scripts executable."""
    with zipfile.ZipFile(archive) as z:
        z.extractall(source)
        for info in z.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(source / info.filename, mode)


# -- running one submission ------------------------------------------------------------------------
def lock_down(source: Path) -> None:
    """Make the instructor's course unreadable to anyone but root, except the data set.

    The folders on the way stay traversable (0711), so the kernels can reach the data set by
    its path without listing or reading anything else.
    """
    course = source / "course"
    for folder in (source.parent, source, course):
        os.chmod(folder, (os.stat(folder).st_mode & 0o777) | 0o711)
    os.chmod(source, 0o711)
    os.chmod(course, 0o711)
    for entry in source.iterdir():
        if entry.name != "course":
            _private(entry)
    for entry in course.iterdir():
        if entry.name == "datasets":
            os.chmod(entry, 0o755)
        else:
            _private(entry)


def _private(path: Path) -> None:
    if path.is_symlink():
        return
    if path.is_dir():
        os.chmod(path, 0o700)
    else:
        os.chmod(path, 0o600)


def _submission_path(folder: Path) -> Path:
    """The folder Gradescope filled, or the one zip in it when it was not extracted."""
    if (folder / "cs231n_lib").exists() or (folder / "notebooks").exists():
        return folder
    zips = sorted(folder.glob("*.zip"))
    if len(zips) == 1:
        return zips[0]
    return folder  # the grader explains what is missing


# What a student reads on Gradescope, in Korean for a student who answered in Korean (the
# feedback page's rule, cs231n_course.grader.language). The grader's reasons and notes are
# translated as on that page (reasons_ko); the instructors-only isolation test stays English.
_RESULTS_KO = {
    "pass: ": "통과: ",
    "FAIL: ": "실패: ",
    "Checks: {total:g} / {max:g} points.": "확인 점수: {total:g} / {max:g}점.",
    "Your submission could not be graded: {reason}": "제출물을 채점할 수 없습니다: {reason}",
    "Each check ran on inputs you have not seen, with your regions spliced into the "
    "course's own files. Inline questions are graded by a person, separately.": (
        "각 확인은 여러분이 보지 못한 입력으로, 여러분의 학생 영역을 과정의 원래 파일에 끼워 "
        "넣은 채 실행되었습니다. 인라인 질문의 답은 따로 사람이 채점합니다."
    ),
}


def results_json(
    result: dict, capabilities: dict[str, str], seconds: float, lang: str = "en"
) -> dict:
    """Gradescope's results.json from one of our stored results; what the student reads is in
    ``lang`` (``"en"`` or ``"ko"``), the scores are the same in both."""
    from cs231n_course.grader import reasons_ko

    korean = lang == "ko"
    t = (lambda text: _RESULTS_KO.get(text, text)) if korean else (lambda text: text)
    why = reasons_ko.translate_reason if korean else (lambda text: text)
    tests = []
    for e in result["exercises"]:
        tests.append(
            {
                "name": f"{e['notebook']}: {e['exercise']}",
                "score": e["points"],
                "max_score": e["max_points"],
                "output": t("pass: " if e["passed"] else "FAIL: ") + why(e["reason"]),
                "visibility": "visible",
            }
        )
    isolation = "\n".join(f"{k}: {v}" for k, v in capabilities.items())
    tests.append(
        {
            "name": "Grader isolation (instructors only)",
            "score": 0,
            "max_score": 0,
            "output": isolation,
            "visibility": "hidden",
        }
    )
    lines = [t("Checks: {total:g} / {max:g} points.").format(
        total=result["total"], max=result["max_total"]
    )]  # fmt: skip
    if result.get("refused"):
        refused = result["refused"]
        if korean:
            refused = reasons_ko.translate_refusal(refused, result.get("refused_message"))
        lines.append(t("Your submission could not be graded: {reason}").format(reason=refused))
    lines += [f"- {why(n)}" for n in result.get("notes", [])]
    lines.append(
        t(
            "Each check ran on inputs you have not seen, with your regions spliced into the "
            "course's own files. Inline questions are graded by a person, separately."
        )
    )
    return {
        "score": result["total"],
        "execution_time": round(seconds, 1),
        "output": "\n".join(lines),
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def run(root: Path, *, notebooks: list[str] | None = None, limits: Limits | None = None) -> dict:
    """Grade ``root/submission`` into ``root/results/results.json``; returns the JSON."""
    from cs231n_course.grader import GradeOptions, grade
    from cs231n_course.grader.unpack import content_hash, student_id
    from cs231n_lib.atomic import write_atomic

    start = time.monotonic()
    source, results = root / "source", root / "results"
    results.mkdir(parents=True, exist_ok=True)
    out = root / "grading"
    (out / ".grader").mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(out, 0o700)
    secret = out / ".grader" / "secret"
    if not secret.exists():
        shutil.copyfile(source / "secret", secret)
        os.chmod(secret, 0o600)
    lock_down(source)
    sub = _submission_path(root / "submission")
    options = GradeOptions(
        out=out,
        source=source / "course",
        workers=1,
        notebooks=notebooks,
        limits=limits or GRADESCOPE_LIMITS,
        progress=False,
        # "uid-only" forces the Gradescope fallback on a machine that has namespaces (tests)
        isolation=os.environ.get("CS231N_ISOLATION", "uid-only-fallback"),
    )
    try:
        report = grade([sub], options)
        digest = content_hash(sub, options.unpack_limits)
        (stored,) = (out / ".grader" / "results").glob(f"*/{student_id(sub)}--{digest}.json")
        result = json.loads(stored.read_text())
        capabilities = _capabilities(out)
        lang = _language(stored, sub, options)
        data = results_json(result, capabilities, time.monotonic() - start, lang)
        if report.failed:
            data["output"] += f"\n(grader problem: {report.failed[0][1][:500]})"
    except Exception as err:  # Gradescope needs a results.json whatever happened
        data = {
            "score": 0,
            "execution_time": round(time.monotonic() - start, 1),
            "output": f"The autograder could not grade this submission ({type(err).__name__}: "
            f"{str(err)[:1500]}). Your instructor has been told; resubmit later.",
            "stdout_visibility": "hidden",
            "tests": [],
        }
        print(f"autograder error: {err!r}", file=sys.stderr)
    write_atomic(results / "results.json", json.dumps(data, indent=1) + "\n")
    return data


def _language(stored: Path, sub: Path, options) -> str:
    """The student's language, as the feedback page chooses it: from the answers in the stored
    result, or, for a refused submission (which has none), from the notebooks it holds."""
    from cs231n_course.grader.course import load_course
    from cs231n_course.grader.language import feedback_language, refused_language
    from cs231n_course.grader.reports import read_result
    from cs231n_course.grader.types import Submission
    from cs231n_course.grader.unpack import student_id

    result = read_result(stored)
    if not result.refused:
        return feedback_language(result)
    course = load_course(options.source, options.out / ".grader" / "cache", options.notebooks)
    return refused_language(Submission(sub, student_id(sub)), course, options.unpack_limits)


def _capabilities(out: Path) -> dict[str, str]:
    """The isolation lines of the summary the grader wrote."""
    text = (out / "summary.md").read_text()
    section = text.split("## Isolation on this machine", 1)[-1].split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        if line.startswith("- ") and ": " in line:
            key, value = line[2:].split(": ", 1)
            found[key] = value
    return found


# -- command line ---------------------------------------------------------------------------------
def add_parser(subparsers, repo_root: Path) -> None:
    p = subparsers.add_parser("gradescope", help="build a Gradescope autograder zip")
    p.add_argument("--out", type=Path, default=Path("autograder.zip"), help="zip to write")
    p.add_argument("--source", type=Path, default=repo_root, help="instructor source tree")
    p.set_defaults(func=_build_cli)


def _build_cli(args: argparse.Namespace) -> int:
    files = build_autograder(Path(args.source).resolve(), Path(args.out))
    print(
        f"wrote {args.out}: setup.sh, run_autograder, a new grading secret and {len(files)} "
        f"course files. Upload it as the autograder of a Gradescope programming assignment; "
        f"students upload the submission.zip their submit command writes."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cs231n_course.gradescope")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="grade /autograder/submission (what run_autograder does)")
    p.add_argument("--root", type=Path, default=Path("/autograder"))
    p.add_argument("--notebooks", nargs="+", help="grade only these notebooks")
    args = parser.parse_args(argv)
    data = run(args.root.resolve(), notebooks=args.notebooks)
    print(f"score {data['score']:g}; results in {args.root / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
