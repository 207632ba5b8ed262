"""What a submission may hold: the one statement of the rules, for the grader and for students.

The grader's unpacker (``cs231n_course.grader.unpack``) refuses a submission by these rules,
and a student-side ``submit`` command can check a folder or build a .zip by the very same
ones before anything is handed in. A leaf module: plain Python, no course imports.

- Only files that can hold student regions are gradable: ``cs231n_lib/**.py`` and
  ``notebooks/*.ipynb`` (:func:`is_gradable`), found under the shallowest folder holding
  ``cs231n_lib/`` or ``notebooks/``.
- Sizes and counts are capped (:class:`UnpackLimits`).
- A path outside the folder (absolute, ``..``), a symbolic link, a device or other special
  file refuses the whole submission (:func:`check_entry_name`, :func:`check_file_size`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

WANTED = re.compile(r"^(cs231n_lib/.*\.py|notebooks/[^/]+\.ipynb)$")
LAYOUT_DIRS = ("cs231n_lib", "notebooks")


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
            f"'..'); this is refused to protect the grader. Zip your release folder as it is "
            f"(e.g. `zip -r submission.zip cs231n_lib notebooks`)"
        )
    return "/".join(p for p in parts if p not in ("", "."))


_CLEAR_OUTPUTS = "clear notebook outputs (Kernel > Restart & Clear Output) and submit again"


def check_file_size(name: str, size: int, limits: UnpackLimits) -> None:
    cap = limits.max_file_bytes
    _at_most(size, cap, f"{name}: {size} bytes, more than the {cap} bytes allowed per file; ")


def check_total_size(total: int, limits: UnpackLimits) -> None:
    cap = limits.max_total_bytes
    _at_most(total, cap, f"the gradable files unpack to more than {cap} bytes; ")


def check_archive_size(name: str, size: int, limits: UnpackLimits) -> None:
    cap = limits.max_archive_bytes
    _at_most(
        size,
        cap,
        f"{name}: {size} bytes, more than the {cap} allowed; ",
        "submit only your release folder, without data sets",
    )


def _at_most(value: int, cap: int, what: str, fix: str = _CLEAR_OUTPUTS) -> None:
    if value > cap:
        raise SubmissionError(what + fix)


def symlink_refusal(shown: str, target: str) -> SubmissionError:
    return SubmissionError(
        f"{shown} is a symbolic link (to {target!r}); symlinks are refused. Replace it with "
        f"the real file and submit again"
    )
