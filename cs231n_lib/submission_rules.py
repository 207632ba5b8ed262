"""What a submission may hold: the one statement of the rules, for the grader and for students.

The grader's unpacker (``cs231n_course.grader.unpack``, not released) refuses a submission by
these rules, and the student's ``python -m cs231n_lib.submit`` checks a folder and builds a .zip
by the very same ones, so a zip the submit command accepts is a zip the grader reads, file for
file. The student-region marker lines are defined here too, so the submit command can tell a
damaged marker line from a good one with the grader's own patterns. A leaf module: no course
imports, and of the library only ``i18n`` (to mark and show messages).

- Only files that can hold student regions are gradable: ``cs231n_lib/**.py`` and
  ``notebooks/*.ipynb`` (:func:`is_gradable`), found under the shallowest folder holding
  ``cs231n_lib/`` or ``notebooks/``.
- Sizes and counts are capped (:class:`UnpackLimits`); a refusal for size names what made the
  archive large (:func:`bulky_causes`: ``.venv``, data, caches).
- A path outside the folder (absolute, ``..``), a symbolic link, a device or other special
  file refuses the whole submission (:func:`check_entry_name`, :func:`check_file_size`).
- Every refusal is a :class:`SubmissionError` made from a :class:`Message`: a template marked
  for the library's catalogue (``N_``) and its fields. ``str(error)`` is the English text, which
  the grader stores and compares; :meth:`Message.shown` gives it in the student's language
  (``submit`` under ``CS231N_LANG=ko``), and the grader keeps :meth:`Message.to_json` beside the
  English so a Korean feedback page can show it in Korean without parsing the English back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cs231n_lib.i18n import N_

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
    ".venv": N_("the Python environment (.venv) you created"),
    "venv": N_("a Python environment (venv)"),
    "datasets": N_("the data sets (datasets/, including the decoded cache)"),
    ".ipynb_checkpoints": N_("JupyterLab's checkpoint copies (.ipynb_checkpoints)"),
    "__pycache__": N_("Python byte-code caches (__pycache__)"),
    ".git": N_("a git repository (.git)"),
}


class Message(str):
    """A student-facing text: as a ``str`` it is the English, which the grader stores, prints
    and compares; it keeps the marked template (``N_``) and the fields that made it, so it can
    be shown in another language (:meth:`shown`) or stored beside the English (:meth:`to_json`).

    A field's value is plain text or a number (shown as it is: names, sizes, quoted errors), a
    nested :class:`Message` (translated in turn), or a tuple of them (joined by ", "). Without
    fields the template is the text itself (never formatted, so braces in it are kept).
    ``max_chars`` cuts the text to that many characters, in every language.
    """

    template: str
    fields: dict
    max_chars: int | None

    def __new__(cls, template: str, /, max_chars: int | None = None, **fields) -> Message:
        out = super().__new__(cls, _render(template, fields, str, max_chars))
        out.template, out.fields, out.max_chars = template, fields, max_chars
        return out

    def shown(self, gettext: Callable[[str], str] | None = None) -> str:
        """The text in the language of ``gettext`` (default: the student's, ``i18n._``); the
        English wherever the catalogue lacks a template."""
        if gettext is None:
            from cs231n_lib.i18n import _ as gettext
        return _render(self.template, self.fields, gettext, self.max_chars)

    def to_json(self) -> dict:
        """``{"msgid": template, "fields": {...}}`` (nested messages as the same), plus
        ``"max_chars"`` when the text is cut."""
        fields = {k: _field_json(v) for k, v in self.fields.items()}
        out = {"msgid": self.template, "fields": fields}
        if self.max_chars is not None:
            out["max_chars"] = self.max_chars
        return out

    @classmethod
    def from_json(cls, data: dict) -> Message:
        fields = {k: _field_from_json(v) for k, v in data.get("fields", {}).items()}
        return cls(data["msgid"], max_chars=data.get("max_chars"), **fields)


def _render(template: str, fields: dict, gettext: Callable[[str], str], cut: int | None) -> str:
    text = gettext(template)
    if fields:
        values = {k: _field_text(v, gettext) for k, v in fields.items()}
        try:
            text = text.format(**values)
        except (KeyError, IndexError, ValueError):  # a translation that lost a field: English
            text = template.format(**values)
    return text[:cut] if cut is not None else text


def _field_text(value, gettext) -> str | int | float:
    if isinstance(value, Message):
        return value.shown(gettext)
    if isinstance(value, tuple):
        return ", ".join(_field_text(v, gettext) for v in value)
    return value


def _field_json(value):
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, tuple):
        return [_field_json(v) for v in value]
    return str(value) if not isinstance(value, int | float) else value


def _field_from_json(value):
    if isinstance(value, dict):
        return Message.from_json(value)
    if isinstance(value, list):
        return tuple(_field_from_json(v) for v in value)
    return value


class SubmissionError(ValueError):
    """A submission cannot be graded; the message says why and what to submit instead.

    ``SubmissionError(N_("... {field} ..."), field=value)`` or ``SubmissionError(message)``;
    ``str(error)`` is the English, ``error.message`` the :class:`Message` (``.shown()`` in the
    student's language)."""

    def __init__(self, message: str, /, **fields) -> None:
        if not isinstance(message, Message) or fields:
            message = Message(message, **fields)
        self.message = message
        super().__init__(str(message))


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
            N_(
                "{what}: the entry {name!r} points outside the submission folder (absolute path "
                "or '..'); this is refused to protect the grader. Make the zip with `{command}` "
                "in your course folder"
            ),
            what=what,
            name=name,
            command=SUBMIT_COMMAND,
        )
    return "/".join(p for p in parts if p not in ("", "."))


def check_file_size(name: str, size: int, limits: UnpackLimits) -> None:
    error = file_size_error(name, size, limits)
    if error:
        raise SubmissionError(error)


def check_total_size(total: int, limits: UnpackLimits) -> None:
    if total > limits.max_total_bytes:
        raise SubmissionError(
            N_(
                "the gradable files unpack to more than {cap} bytes; clear notebook outputs "
                "(Kernel > Restart & Clear Output) and submit again"
            ),
            cap=limits.max_total_bytes,
        )


def symlink_refusal(shown: str, target: str) -> SubmissionError:
    return SubmissionError(
        N_(
            "{shown} is a symbolic link (to {target!r}); symlinks are refused. Replace it with "
            "the real file and submit again"
        ),
        shown=shown,
        target=target,
    )


def file_size_error(name: str, size: int, limits: UnpackLimits) -> Message | None:
    """The refusal for one file of ``size`` bytes, or None if it is within the limit."""
    if size <= limits.max_file_bytes:
        return None
    return Message(
        N_(
            "{name}: {size} bytes, more than the {limit} bytes allowed per file; clear notebook "
            "outputs (Kernel > Restart & Clear Output) and submit again"
        ),
        name=name,
        size=size,
        limit=limits.max_file_bytes,
    )


def bulky_causes(sizes: dict[str, int]) -> list[Message]:
    """What makes an archive large, from ``{entry name: size}``: the known bulky folders
    (``.venv``, data, caches), largest first, as ``"<what> (<MB>)"``."""
    totals: dict[str, int] = {}
    for name, size in sizes.items():
        for part in PurePosixPath(name.replace("\\", "/")).parts[:-1]:
            if part in BULKY:
                totals[part] = totals.get(part, 0) + size
                break
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    return [
        Message(N_("{what} ({mb:.0f} MB)"), what=Message(BULKY[k]), mb=v / 1e6) for k, v in ranked
    ]


# --- the grader's own refusals (cs231n_course/grader: unpack of a folder or a zip, intake of
# the submission paths): stated here, beside the rules, so that they are in the library's
# catalogue with the rest and a Korean feedback page can show them.

NESTED_TOO_DEEP = N_(
    "{path}...: folders nested more than {depth} levels deep; submit your release folder as it is"
)
NOT_A_SUBMISSION = N_(
    "{name}: not a folder or a .zip file; submit your release folder or a .zip of it"
)
FOLDER_TOO_MANY_FILES = N_(
    "{name}: more than {count} files in cs231n_lib/ and notebooks/; make the zip with "
    "`{command}` in your course folder"
)
NOT_A_REGULAR_FILE = N_("{path} is not a regular file (a device, pipe or socket)")
CHANGED_WHILE_READING = N_("{path}: changed into a special file while reading")
GREW_WHILE_READING = N_("{path}: grew beyond {size} bytes while reading")
ZIP_TOO_MANY_ENTRIES = N_(
    "{zip}: {count} entries, more than the {limit} allowed; make the zip with `{command}`, which "
    "packs only cs231n_lib/ and notebooks/"
)
ZIP_UNREADABLE = N_(
    "{zip}: not a readable zip archive ({error}); create it again, e.g. `{command}` in your "
    "course folder"
)
ZIP_SYMLINK = N_(
    "{zip}: the entry {entry!r} is a symbolic link; symlinks are refused. Zip the real files "
    "(zip without --symlinks) and submit again"
)
ZIP_SPECIAL_FILE = N_("{zip}: the entry {entry!r} is a special file")
ZIP_ENTRY_TWICE = N_("{zip}: the entry {entry!r} appears twice")
ZIP_CANNOT_EXTRACT = N_(
    "{zip}: cannot extract {entry!r} ({error}); the archive is damaged or encrypted. Create it "
    "again without a password"
)
ZIP_UNPACKS_BEYOND = N_("{zip}: {entry!r} unpacks beyond {size} bytes")
NO_SUCH_SUBMISSION = N_("{name}: no such file or folder")
SUBMISSION_UNREADABLE = N_("{name} cannot be read ({kind}: {error})")
SUBMITTED_TWICE = N_(
    "{count} submissions for student {student!r} ({names}); hand in one folder or one .zip, and "
    "each is refused until then"
)

TOO_MANY_ENTRIES = N_("{zip}: more than {count} entries")
"""The refusal of a zip with more entries than the limit (submit's check and the grader's)."""

GRADABLE_FILES = N_("the gradable files")
"""What ``oversize_message`` names when the files, not one archive, are too large."""


def oversize_message(what: str, size: int, limit: int, causes: list[Message]) -> Message:
    """The refusal for an archive (or a set of files: ``what`` = ``Message(GRADABLE_FILES)``)
    larger than ``limit``."""
    fields = {"what": what, "size": size, "limit": limit, "command": SUBMIT_COMMAND}
    if causes:
        return Message(
            N_(
                "{what}: {size} bytes, more than the {limit} allowed; it holds {causes}, which "
                "the grader never reads. Make the zip with `{command}` in your course folder: it "
                "packs only cs231n_lib/ and notebooks/"
            ),
            causes=tuple(causes),
            **fields,
        )
    return Message(
        N_(
            "{what}: {size} bytes, more than the {limit} allowed. Make the zip with `{command}` "
            "in your course folder: it packs only cs231n_lib/ and notebooks/"
        ),
        **fields,
    )
