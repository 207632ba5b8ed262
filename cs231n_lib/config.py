"""Run-wide settings, read once from the environment.

``CS231N_FAST=1``
    Fast mode: notebooks work on a small slice of the data so the whole notebook runs in
    seconds. The test suite sets it; a student gets the full data by default.
``CS231N_GRADING_SEED=<int>``
    Set only by the grader. Check cells then run on inputs the student has not seen and print
    fingerprints of the results instead of comparing them in the kernel (see ``checks``).
``CS231N_LANG=ko``
    The language of the library's messages, plot labels, widgets and progress bars: ``en``
    (default) or ``ko`` (Korean; open the notebooks in ``notebooks/ko/``). See ``i18n``.
"""

from __future__ import annotations

import os


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


FAST: bool = _flag("CS231N_FAST")
"""True when notebooks should run on a small slice of the data."""

_grading = os.environ.get("CS231N_GRADING_SEED", "").strip()
GRADING_SEED: int | None = int(_grading) if _grading else None
"""The grader's hidden seed, or None outside grading."""

GRADING_EXPORT: str = os.environ.get("CS231N_GRADING_EXPORT", "").strip()
"""Under the grader: the folder where tuning checks hand the grader their model's weights,
which the grader re-evaluates outside the kernel ("" otherwise)."""

SEED: int = GRADING_SEED if GRADING_SEED is not None else 0
"""The seed notebooks use for every random choice (data subsamples, initialisation)."""

LANGUAGES: tuple[str, ...] = ("en", "ko")
"""The course's languages: English (the source) and Korean."""


def _language(name: str) -> str:
    value = os.environ.get(name, "").strip().lower() or "en"
    value = value.split(".")[0].split("_")[0].split("-")[0]  # ko_KR.UTF-8, ko-KR -> ko
    if value not in LANGUAGES:
        fields = {"name": name, "value": os.environ[name], "languages": ", ".join(LANGUAGES)}
        raise ValueError("\n".join(t.format(**fields) for t in _in_every_language(_UNKNOWN)))
    return value


def N_(message: str) -> str:  # marks a message for extraction (as i18n.N_; i18n imports us)
    return message


_UNKNOWN = N_(
    "{name}={value!r} is not a language of this course; set it to one of {languages} or unset "
    "it (English)"
)


def _in_every_language(message: str) -> list[str]:
    """``message`` and its translations: the language setting itself is what is wrong, so a
    student is told in every language the course has (the catalogue, read directly)."""
    import gettext
    from pathlib import Path

    out = [message]
    for lang in LANGUAGES[1:]:
        shown = gettext.translation(
            "cs231n", Path(__file__).resolve().parent / "locale", [lang], fallback=True
        ).gettext(message)
        if shown != message:
            out.append(shown)
    return out


LANG: str = _language("CS231N_LANG")
"""The language of student-facing library text (``en`` or ``ko``)."""


def mode_banner() -> str:
    """One stable line saying how this run is configured (printed by notebooks' first cell)."""
    from cs231n_lib.i18n import _

    size = _("fast mode (small slice, CS231N_FAST=1)") if FAST else _("full data")
    return f"cs231n_lib: {size}"
