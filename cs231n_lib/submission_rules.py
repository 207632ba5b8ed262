"""What a submission may hold: the one definition the student's submit command and the
instructor's grader both use.

``python -m cs231n_lib.submit`` packs exactly the files :data:`WANTED` matches and checks the
zip against :class:`UnpackLimits` and :func:`check_entry_name`; the grader's unpacker
(``cs231n_lib/course/submission.py``, not released) imports the same names, so a zip the submit
command accepts is a zip the grader reads, file for file. The student-region marker lines are
defined here too, so the submit command can tell a damaged marker line from a good one with the
grader's own patterns.

This module is a leaf: it imports nothing from the course.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# The files the grader reads from a submission, relative to the release folder.
WANTED = re.compile(r"^(cs231n_lib/.*\.py|notebooks/[^/]+\.ipynb)$")
LAYOUT_DIRS = ("cs231n_lib", "notebooks")

SUBMIT_COMMAND = ".venv/bin/python -m cs231n_lib.submit"
"""What a student runs in the release folder to make a valid ``submission.zip``."""

# Student region lines: comments in code (``# >>> ...``), HTML comments in markdown.
STUDENT_BEGIN_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?:# |<!-- )>>> BEGIN STUDENT REGION (?P<name>\S+) "
    r"\(do not edit this line\)(?: -->)?[ \t]*$"
)
STUDENT_END_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?:# |<!-- )<<< END STUDENT REGION (?P<name>\S+) "
    r"\(do not edit this line\)(?: -->)?[ \t]*$"
)
# A comment line that names a student region: one matching this but neither pattern above
# is a damaged marker line.
ANY_REGION_LINE_RE = re.compile(r"^\s*(#|<!--).*\b(BEGIN|END)\s+STUDENT\s+REGION\b", re.IGNORECASE)

MARKDOWN_ANSWER_STUB = "*(write your answer here)*"
"""The placeholder a released inline-question answer holds."""

# Folders that make a zip too large and are never graded, with what they are.
BULKY = {
    ".venv": "the Python environment (.venv) you created",
    "venv": "a Python environment (venv)",
    "datasets": "the data sets (datasets/, including the decoded cache)",
    ".ipynb_checkpoints": "JupyterLab's checkpoint copies (.ipynb_checkpoints)",
    "__pycache__": "Python byte-code caches (__pycache__)",
    ".git": "a git repository (.git)",
}


class SubmissionError(ValueError):
    """A submission cannot be graded; the message says why and what to submit instead."""


@dataclass(frozen=True)
class UnpackLimits:
    max_files: int = 5000
    max_file_bytes: int = 50 << 20
    max_total_bytes: int = 300 << 20
    max_archive_bytes: int = 200 << 20


def check_entry_name(name: str, what: str) -> str:
    """A safe relative POSIX path for an archive entry ``name``, or SubmissionError."""
    clean = name.replace("\\", "/")
    parts = PurePosixPath(clean).parts
    if (
        not clean
        or clean.startswith("/")
        or re.match(r"^[A-Za-z]:", clean)
        or ".." in parts
        or "\0" in clean
    ):
        raise SubmissionError(
            f"{what}: the entry {name!r} points outside the submission folder (absolute path or "
            f"'..'); this is refused to protect the grader. Make the zip with `{SUBMIT_COMMAND}` "
            f"in your course folder"
        )
    return "/".join(p for p in parts if p not in ("", "."))


def file_size_error(name: str, size: int, limits: UnpackLimits) -> str | None:
    """The refusal for one file of ``size`` bytes, or None if it is within the limit."""
    if size <= limits.max_file_bytes:
        return None
    return (
        f"{name}: {size} bytes, more than the {limits.max_file_bytes} bytes allowed per "
        f"file; clear notebook outputs (Kernel > Restart & Clear Output) and submit again"
    )


def bulky_causes(sizes: dict[str, int]) -> list[str]:
    """What makes an archive large, from ``{entry name: size}``: the known bulky folders
    (``.venv``, data, caches), largest first, as ``"<what> (<MB>)"``."""
    totals: dict[str, int] = {}
    for name, size in sizes.items():
        for part in PurePosixPath(name.replace("\\", "/")).parts[:-1]:
            if part in BULKY:
                totals[part] = totals.get(part, 0) + size
                break
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    return [f"{BULKY[k]} ({v / 1e6:.0f} MB)" for k, v in ranked]


def oversize_message(what: str, size: int, limit: int, causes: list[str]) -> str:
    """The refusal for an archive (or a set of files) larger than ``limit``."""
    because = f"; it holds {', '.join(causes)}, which the grader never reads" if causes else ""
    return (
        f"{what}: {size} bytes, more than the {limit} allowed{because}. Make the zip with "
        f"`{SUBMIT_COMMAND}` in your course folder: it packs only cs231n_lib/ and notebooks/"
    )
