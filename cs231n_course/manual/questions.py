"""The manually graded questions of a course, and each submission's answers to them.

A question is a markdown cell of the release with nbgrader metadata (``grade``, ``grade_id``,
``points``) and a student answer region; its model answer is the solution region of the same
cell in the instructor's notebook. Only the answer region of a submission's cell is read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from cs231n_course import markers
from cs231n_lib.submission_rules import MARKDOWN_ANSWER_STUBS

_QID = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Question:
    qid: str  # the nbgrader grade_id
    notebook: str  # "01_knn.ipynb"
    cell_id: str  # also the student region's name
    points: float
    prompt: str  # the cell's text without the answer region (Markdown)
    model: str  # the solution's answer (Markdown)


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
