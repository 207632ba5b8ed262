"""Read one student submission safely: a release folder or a .zip of one.

Only the files that can hold student regions are taken (``cs231n_lib/**.py`` and
``notebooks/*.ipynb``), copied into a private staging folder the grader controls. Whatever
else a submission holds is never read. A submission is refused as a whole, with a reason the
student can act on, when it

- has a path that escapes its folder (``../``, absolute paths: "zip-slip"), or a symlink,
  device or other special file;
- exceeds the limits on file count, on the size of one file, on the total unpacked size or on
  the archive size (zip bombs);
- is not a readable zip archive.

The rules (what is gradable, the limits, what refuses a submission) are stated once in
:mod:`cs231n_lib.submission_rules`, which a student-side ``submit`` command shares; this module
applies them to a folder or a zip. The student id comes from the name: ``alice.zip`` and
``alice/`` both give ``alice``.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cs231n_course.grader.types import Submission
from cs231n_lib.submission_rules import (
    CHANGED_WHILE_READING,
    FOLDER_TOO_MANY_FILES,
    GREW_WHILE_READING,
    LAYOUT_DIRS,
    NESTED_TOO_DEEP,
    NOT_A_REGULAR_FILE,
    NOT_A_SUBMISSION,
    SUBMIT_COMMAND,
    TOO_MANY_ENTRIES,
    ZIP_CANNOT_EXTRACT,
    ZIP_ENTRY_TWICE,
    ZIP_SPECIAL_FILE,
    ZIP_SYMLINK,
    ZIP_TOO_MANY_ENTRIES,
    ZIP_UNPACKS_BEYOND,
    ZIP_UNREADABLE,
    SubmissionError,
    UnpackLimits,
    bulky_causes,
    check_entry_name,
    check_file_size,
    check_total_size,
    is_gradable,
    oversize_message,
    student_id,
    symlink_refusal,
)

DEFAULT_LIMITS = UnpackLimits()

__all__ = [
    "SubmissionError",
    "UnpackLimits",
    "Unpacked",
    "content_hash",
    "shown_name",
    "student_id",
    "unpack",
]

MAX_DEPTH = 64  # folder levels below a submission's root; deeper refuses it (no recursion)


def shown_name(path: Path | str) -> str:
    """A file name as a person can read it: bytes that are not UTF-8 (a name made on another
    system) shown as ``\\xNN`` instead of failing to print or to be written."""
    name = os.fsencode(Path(path).name)
    return name.decode("utf-8", "backslashreplace")


def _shown(rel: str) -> str:
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


@dataclass
class Unpacked:
    """The files taken from a submission, by path relative to its release root."""

    root: Path  # the staging folder holding them
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def content_hash(path: Path, limits: UnpackLimits = DEFAULT_LIMITS) -> str:
    """sha256 of what decides the grade: a .zip's bytes, or a folder's gradable files.

    For a folder only ``cs231n_lib/**.py`` and ``notebooks/*.ipynb`` (names and bytes) count,
    so a changed .venv or data cache does not make a graded submission new. A folder that is
    refused hashes to its refusal, so a re-run skips it too.
    """
    digest = hashlib.sha256()
    if not path.is_dir() or path.is_symlink():
        if not path.is_file():
            digest.update(b"missing")
        elif path.stat().st_size > limits.max_archive_bytes:
            digest.update(f"oversized archive:{path.stat().st_size}".encode())
        else:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()
    try:
        for rel, read in _folder_entries(path, limits):
            data = read()
            digest.update(os.fsencode(rel) + f"\0{len(data)}\0".encode())
            digest.update(data)
    except (SubmissionError, OSError, RecursionError, UnicodeError) as err:
        digest.update(f"refused:{err}".encode("utf-8", "backslashreplace"))
    return digest.hexdigest()


def _walk(root: Path, limits: UnpackLimits):
    """(relative POSIX path, full path, lstat) of everything under ``root``, sorted.

    Iterative (a folder chain thousands of levels deep cannot exhaust Python's stack) and
    capped: more than ``limits.max_files`` entries stop the walk, a folder deeper than
    :data:`MAX_DEPTH` levels refuses the submission.
    """
    count = 0
    stack = [(root, 0)]
    while stack:
        folder, level = stack.pop()
        with os.scandir(folder) as it:
            names = sorted(entry.name for entry in it)
        subdirs = []
        for name in names:
            full = os.path.join(folder, name)
            count += 1
            if count > limits.max_files:
                return
            st = os.lstat(full)
            yield Path(full).relative_to(root).as_posix(), full, st
            if stat.S_ISDIR(st.st_mode):
                if level + 1 >= MAX_DEPTH:
                    raise SubmissionError(
                        NESTED_TOO_DEEP,
                        path=_shown(Path(full).relative_to(root).as_posix())[:200],
                        depth=MAX_DEPTH,
                    )
                subdirs.append(full)
        stack.extend((d, level + 1) for d in reversed(subdirs))


def unpack(sub: Submission, staging: Path, limits: UnpackLimits = DEFAULT_LIMITS) -> Unpacked:
    """Copy the gradable files of ``sub`` into ``staging`` (created, must not exist).

    Raises
    ------
    SubmissionError
        The submission is unsafe or unreadable as a whole (see the module docstring).
    """
    staging.mkdir(parents=True, mode=0o700)
    if sub.path.is_dir() and not sub.path.is_symlink():
        entries = _folder_entries(sub.path, limits)
    elif sub.path.is_file() and sub.path.name.lower().endswith(".zip"):
        entries = _zip_entries(sub.path, limits)
    else:
        raise SubmissionError(
            NOT_A_SUBMISSION,
            name=sub.path.name,
        )
    out = Unpacked(staging)
    total = 0
    for rel, read in entries:
        data = read()
        total += len(data)
        check_total_size(total, limits)
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        out.files.append(rel)
    if not out.files:
        out.notes.append(
            "the submission holds no cs231n_lib/*.py file and no notebooks/*.ipynb; make it "
            f"with `{SUBMIT_COMMAND}` in the course folder you worked in"
        )
    return out


def _release_prefix(names: list[str]) -> str | None:
    """The folder inside the submission that holds ``cs231n_lib/`` or ``notebooks/``
    (the shallowest one), as ``"a/b/"`` or ``""``; None if there is none."""
    best = None
    for name in names:
        parts = PurePosixPath(name).parts
        for i, part in enumerate(parts[:-1]):
            if part in LAYOUT_DIRS:
                prefix = "".join(f"{p}/" for p in parts[:i])
                if best is None or len(prefix) < len(best):
                    best = prefix
                break
    return best


def _folder_entries(root: Path, limits: UnpackLimits):
    """(relative path, reader) of the gradable files of a folder submission.

    The release root is found without following symlinks; inside ``cs231n_lib/`` and
    ``notebooks/`` a symlink or special file refuses the submission. Anything else in the
    folder (a .venv, data caches) is never looked at.
    """
    names = []
    for rel, _, st in _walk_shallow(root, depth=4):
        if stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
            names.append(rel + "/x")
    prefix = _release_prefix(names)
    if prefix is None:
        return []
    entries, count = [], 0
    for top in LAYOUT_DIRS:
        base = root / prefix / top
        if not os.path.lexists(base):
            continue
        for rel, full, st in [(f"{top}", str(base), os.lstat(base))] + [
            (f"{top}/{r}", f, s) for r, f, s in _walk(base, limits)
        ]:
            count += 1
            shown = _shown(f"{root.name}/{prefix}{rel}")
            if stat.S_ISLNK(st.st_mode):
                raise symlink_refusal(shown, os.readlink(full))
            if count > limits.max_files:
                raise SubmissionError(
                    FOLDER_TOO_MANY_FILES,
                    name=root.name,
                    count=limits.max_files,
                    command=SUBMIT_COMMAND,
                )
            if stat.S_ISDIR(st.st_mode) or not is_gradable(rel):
                continue
            if _shown(rel) != rel:
                continue  # not UTF-8: never a name of the release, so never graded
            if not stat.S_ISREG(st.st_mode):
                raise SubmissionError(NOT_A_REGULAR_FILE, path=shown)
            check_file_size(shown, st.st_size, limits)
            entries.append((rel, _reader_nofollow(full, limits.max_file_bytes)))
    return entries


def _walk_shallow(root: Path, depth: int):
    """Like :func:`_walk` but only ``depth`` levels deep, skipping hidden folders (iterative,
    so no depth of nesting below ``depth`` is ever visited)."""
    stack = [(root, 0)]
    while stack:
        folder, level = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            full = os.path.join(folder, entry.name)
            st = os.lstat(full)
            yield Path(full).relative_to(root).as_posix(), full, st
            if stat.S_ISDIR(st.st_mode) and not entry.name.startswith(".") and level < depth:
                subdirs.append(full)
        stack.extend((d, level + 1) for d in reversed(subdirs))


def _reader_nofollow(path: str, max_bytes: int):
    def read() -> bytes:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise SubmissionError(CHANGED_WHILE_READING, path=path)
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise SubmissionError(GREW_WHILE_READING, path=path, size=max_bytes)
        return data

    return read


def _zip_entries(path: Path, limits: UnpackLimits):
    size = path.stat().st_size
    if size > limits.max_archive_bytes:
        raise SubmissionError(
            oversize_message(path.name, size, limits.max_archive_bytes, _zip_causes(path))
        )
    declared = _declared_entry_count(path)
    if declared is not None and declared > limits.max_files:
        raise SubmissionError(
            ZIP_TOO_MANY_ENTRIES,
            zip=path.name,
            count=declared,
            limit=limits.max_files,
            command=SUBMIT_COMMAND,
        )
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise SubmissionError(
            ZIP_UNREADABLE,
            zip=path.name,
            error=str(err),
            command=SUBMIT_COMMAND,
        ) from err
    if len(infos) > limits.max_files:
        raise SubmissionError(TOO_MANY_ENTRIES, zip=path.name, count=limits.max_files)
    names = [check_entry_name(info.filename, path.name) for info in infos]
    prefix = _release_prefix(names)
    if prefix is None:
        return []
    entries, seen = [], set()
    for info, name in zip(infos, names, strict=True):
        if not name.startswith(prefix):
            continue
        rel = name[len(prefix) :]
        if not rel.startswith(tuple(f"{d}/" for d in LAYOUT_DIRS)) and rel not in LAYOUT_DIRS:
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise SubmissionError(
                ZIP_SYMLINK,
                zip=path.name,
                entry=info.filename,
            )
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise SubmissionError(
                ZIP_SPECIAL_FILE,
                zip=path.name,
                entry=info.filename,
            )
        if info.is_dir() or not is_gradable(rel):
            continue
        if rel in seen:
            raise SubmissionError(ZIP_ENTRY_TWICE, zip=path.name, entry=rel)
        seen.add(rel)
        check_file_size(f"{path.name}:{name}", info.file_size, limits)
        entries.append((rel, _zip_reader(archive, info, path.name, limits.max_file_bytes)))
    return entries


def _declared_entry_count(path: Path) -> int | None:
    """The entry count in the zip's end-of-central-directory record, read before parsing."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 12 > len(tail):
        return None
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    return None if count == 0xFFFF else count


def _zip_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, max_bytes: int):
    def read() -> bytes:
        try:
            with archive.open(info) as f:
                data = f.read(max_bytes + 1)  # never trust the declared size alone
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as err:
            raise SubmissionError(
                ZIP_CANNOT_EXTRACT,
                zip=where,
                entry=info.filename,
                error=str(err),
            ) from err
        if len(data) > max_bytes:
            raise SubmissionError(
                ZIP_UNPACKS_BEYOND,
                zip=where,
                entry=info.filename,
                size=max_bytes,
            )
        return data

    return read


def _zip_causes(path: Path) -> list[str]:
    """What makes an oversized zip large (.venv, data, caches), read from its directory only."""
    try:
        with zipfile.ZipFile(path) as archive:
            return bulky_causes({i.filename: i.compress_size for i in archive.infolist()})
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return []
