"""What a submission may hold: the one statement of the rules, for the grader and for students.

The grader's unpacker (``cs231n_course.grader.unpack``, not released) refuses a submission by
these rules, and the student's ``python -m cs231n_lib.submit`` checks a folder and builds a .zip
by the very same ones, so a zip the submit command accepts is a zip the grader reads, file for
file. The student-region marker lines are defined here too, so the submit command can tell a
damaged marker line from a good one with the grader's own patterns. A leaf module: plain
Python, no course imports.

- Only files that can hold student regions are gradable: ``cs231n_lib/**.py`` and
  ``notebooks/*.ipynb`` (:func:`is_gradable`), found under the shallowest folder holding
  ``cs231n_lib/`` or ``notebooks/``.
- Sizes and counts are capped (:class:`UnpackLimits`); a refusal for size names what made the
  archive large (:func:`bulky_causes`: ``.venv``, data, caches).
- A path outside the folder (absolute, ``..``), a symbolic link, a device or other special
  file refuses the whole submission (:func:`check_entry_name`, :func:`check_file_size`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

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
MARKDOWN_ANSWER_STUB_KO = "*(여기에 답을 쓰세요)*"
"""The same placeholder in the Korean edition's notebooks (notebooks/ko)."""
MARKDOWN_ANSWER_STUBS = frozenset({MARKDOWN_ANSWER_STUB, MARKDOWN_ANSWER_STUB_KO})
"""Every language's placeholder: an answer region holding one of them is unanswered."""

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


def is_gradable(rel: str) -> bool:
    """Whether a path relative to the release root is a file the grader reads."""
    return bool(WANTED.match(rel))


def student_id(path: Path) -> str:
    """``submissions/alice.zip`` -> ``alice``; characters outside ``[A-Za-z0-9._@-]`` -> ``_``."""
    name = path.name[:-4] if path.name.lower().endswith(".zip") else path.name
    return re.sub(r"[^A-Za-z0-9._@-]", "_", name).strip(".") or "submission"


def check_entry_name(name: str, what: str) -> str:
    """A safe relative POSIX path for archive entry ``name``, or SubmissionError."""
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


_CLEAR_OUTPUTS = "clear notebook outputs (Kernel > Restart & Clear Output) and submit again"


def check_file_size(name: str, size: int, limits: UnpackLimits) -> None:
    error = file_size_error(name, size, limits)
    if error:
        raise SubmissionError(error)


def check_total_size(total: int, limits: UnpackLimits) -> None:
    cap = limits.max_total_bytes
    _at_most(total, cap, f"the gradable files unpack to more than {cap} bytes; ")


def _at_most(value: int, cap: int, what: str, fix: str = _CLEAR_OUTPUTS) -> None:
    if value > cap:
        raise SubmissionError(what + fix)


def symlink_refusal(shown: str, target: str) -> SubmissionError:
    return SubmissionError(
        f"{shown} is a symbolic link (to {target!r}); symlinks are refused. Replace it with "
        f"the real file and submit again"
    )


def file_size_error(name: str, size: int, limits: UnpackLimits) -> str | None:
    """The refusal for one file of ``size`` bytes, or None if it is within the limit."""
    if size <= limits.max_file_bytes:
        return None
    return (
        f"{name}: {size} bytes, more than the {limits.max_file_bytes} bytes allowed per file; "
        + (_CLEAR_OUTPUTS)
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
