"""Which language a submission's feedback page is in: the student chooses it by the language
of their inline-question answers (Hangul: Korean, else English).

A graded submission's answers are in its result; a submission with no result (not graded this
time) is unpacked with the grader's limits to read them; a refused one is read without unpacking,
from the course notebooks it holds as plain files (:func:`readable_notebooks`).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path

from cs231n_course import manual
from cs231n_course.grader.types import Course, Submission, SubmissionResult
from cs231n_course.grader.unpack import (
    DEFAULT_LIMITS,
    _reader_nofollow,
    _walk_shallow,
    _zip_reader,
    unpack,
)
from cs231n_lib.submission_rules import SubmissionError, UnpackLimits, check_entry_name

_HANGUL = re.compile("[\uac00-\ud7a3]")


def feedback_language(result: SubmissionResult) -> str:
    """``"ko"`` when the student answered an inline question in Korean (Hangul), else ``"en"``:
    the student chooses the feedback's language by the language of their answers."""
    answers = (a for a in (result.answers or {}).values() if isinstance(a, str))
    return "ko" if any(_HANGUL.search(a) for a in answers) else "en"


def submission_language(sub: Submission, course: Course) -> str:
    """The feedback language of a submission that has no result (:func:`feedback_language`
    of its answers): unpacked with the grader's own limits into a scratch folder and read;
    English when it cannot be read."""
    with tempfile.TemporaryDirectory(prefix="cs231n-lang-") as scratch:
        try:
            unpacked = unpack(sub, Path(scratch) / "staging")
            answers = manual.collect_answers(Path(scratch) / "staging", unpacked.files, course)
        except Exception:  # a submission the grader refuses: its page stays English
            return "en"
    return feedback_language(SubmissionResult("", 0, [], answers=answers))


def refused_language(sub: Submission, course: Course, limits: UnpackLimits) -> str:
    """The feedback language of a refused submission (:func:`feedback_language` of its
    answers), from the course notebooks it holds as plain files within the limits
    (``unpack.readable_notebooks``: read in memory, never extracted where the submission says);
    English when there are none."""
    notebooks = readable_notebooks(sub.path, list(course.notebooks), limits)
    if not notebooks:
        return "en"
    with tempfile.TemporaryDirectory(prefix="cs231n-lang-") as scratch:
        files = []
        for name, data in notebooks.items():  # course notebook names only
            (Path(scratch) / "notebooks").mkdir(exist_ok=True)
            (Path(scratch) / "notebooks" / name).write_bytes(data)
            files.append(f"notebooks/{name}")
        answers = manual.collect_answers(Path(scratch), files, course)
    return feedback_language(SubmissionResult("", 0, [], answers=answers))


def readable_notebooks(
    path: Path, names: list[str], limits: UnpackLimits = DEFAULT_LIMITS
) -> dict[str, bytes]:
    """``{name: bytes}`` of the notebooks ``names`` (``"01_knn.ipynb"``) that a submission,
    refused or not, holds as plain files within the per-file limit: what tells the language
    its feedback page is in when it could not be graded.

    Nothing is extracted or written; a link, a special file, an entry pointing outside, an
    oversized or unreadable one is skipped, never followed. The shallowest
    ``notebooks/<name>`` wins (as the release prefix does when unpacking). Reads at most one
    entry per name, each capped at ``limits.max_file_bytes``.
    """
    wanted = set(names)
    found: dict[str, tuple[int, object]] = {}  # name -> (depth, reader)
    try:
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            for rel, full, entry in _walk_shallow(path, depth=4):
                parts = rel.split("/")
                if len(parts) < 2 or parts[-2] != "notebooks" or parts[-1] not in wanted:
                    continue
                if stat.S_ISREG(entry.st_mode) and entry.st_size <= limits.max_file_bytes:
                    if parts[-1] not in found or len(parts) < found[parts[-1]][0]:
                        found[parts[-1]] = (
                            len(parts),
                            _reader_nofollow(full, limits.max_file_bytes),
                        )
        elif stat.S_ISREG(st.st_mode) and st.st_size <= limits.max_archive_bytes:
            archive = zipfile.ZipFile(path)
            infos = archive.infolist()
            if len(infos) > limits.max_files:
                return {}
            for info in infos:
                try:
                    name = check_entry_name(info.filename, path.name)
                except SubmissionError:
                    continue
                parts = name.split("/")
                mode = info.external_attr >> 16
                if len(parts) < 2 or parts[-2] != "notebooks" or parts[-1] not in wanted:
                    continue
                if stat.S_IFMT(mode) not in (0, stat.S_IFREG) or info.is_dir():
                    continue
                if info.file_size <= limits.max_file_bytes:
                    if parts[-1] not in found or len(parts) < found[parts[-1]][0]:
                        reader = _zip_reader(archive, info, path.name, limits.max_file_bytes)
                        found[parts[-1]] = (len(parts), reader)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, RuntimeError):
        return {}
    out = {}
    for name, (_depth, read) in sorted(found.items()):
        try:
            out[name] = read()
        except (SubmissionError, OSError):
            continue
    return out
