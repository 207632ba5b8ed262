"""The library's student-facing text in the student's language (gettext catalogues).

English is the source: every message is written in English in the code and wrapped so that
Babel can extract it::

    from cs231n_lib.i18n import _

    ax.set_title(_("Cross-validation on k"))
    print(_("{name}: OK ({detail})").format(name=name, detail=detail))

- ``_(text)`` translates now, into ``config.LANG`` (set by ``CS231N_LANG``).
- ``N_(text)`` only marks a module-level constant for extraction; call ``_()`` on it where it
  is shown, so the language is the one in force at that moment.
- ``pgettext(context, text)`` when one English word needs two translations.
- In a function that holds a student region, write ``i18n._(...)`` (``from cs231n_lib import
  i18n``), never a bare ``_(...)``: a student's ``for _ in range(n)`` or ``out, _ = ...``
  anywhere in the function makes ``_`` a local name of the whole function, and every message
  in it would fail with UnboundLocalError. Babel extracts ``i18n._`` calls like ``_`` calls;
  tests/test_i18n_errors.py fails on a bare ``_(`` there.

Placeholders are ``str.format`` fields, never f-strings (an f-string is formatted before
``_`` sees it, so it cannot be looked up). The catalogue is
``cs231n_lib/locale/<lang>/LC_MESSAGES/cs231n.po``; its compiled ``.mo`` is package data.
``python -m cs231n_course translate lib`` extracts, merges and compiles them, and a test
fails when a message has no current translation. Missing translations fall back to English.

``use_hangul_font()`` makes matplotlib draw Hangul (plots in Korean need a font that has it).
"""

from __future__ import annotations

import functools
import gettext
import warnings
from pathlib import Path

from cs231n_lib import config

DOMAIN = "cs231n"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

# Fonts with Hangul, best first: Debian's fonts-nanum (installed by .ci/install-browser and the
# README's apt line), Noto CJK (Debian, Fedora, Google), and the system fonts of macOS/Windows.
HANGUL_FONTS = (
    "NanumGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Apple SD Gothic Neo",
    "AppleGothic",
    "Malgun Gothic",
)
_FONT_FILE_HINTS = ("nanumgothic", "notosanscjk", "notosanskr", "applesdgothic", "malgun")


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: no translation at all)."""
    if lang == "en":
        return gettext.NullTranslations()
    try:
        return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"no compiled catalogue for CS231N_LANG={lang!r} in {LOCALE_DIR}; reinstall "
            f"cs231n_lib, or run `python -m cs231n_course translate lib` in the source tree"
        ) from err


def _(message: str) -> str:
    """``message`` in the current language (``config.LANG``); English when untranslated."""
    return translations(config.LANG).gettext(message)


def pgettext(context: str, message: str) -> str:
    """Like ``_`` for a message whose translation depends on ``context``."""
    return translations(config.LANG).pgettext(context, message)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translate it where shown)."""
    return message


def class_name(name: str) -> str:
    """A CIFAR-10 class name (``data.CLASSES`` holds the English ones) in the current language."""
    return pgettext("CIFAR-10 class", name)


def class_names() -> list[str]:
    """``data.CLASSES`` in the current language, in label order."""
    return [
        pgettext("CIFAR-10 class", "airplane"),
        pgettext("CIFAR-10 class", "automobile"),
        pgettext("CIFAR-10 class", "bird"),
        pgettext("CIFAR-10 class", "cat"),
        pgettext("CIFAR-10 class", "deer"),
        pgettext("CIFAR-10 class", "dog"),
        pgettext("CIFAR-10 class", "frog"),
        pgettext("CIFAR-10 class", "horse"),
        pgettext("CIFAR-10 class", "ship"),
        pgettext("CIFAR-10 class", "truck"),
    ]


def hangul_font_name() -> str | None:
    """The family name of an installed font with Hangul, or None if there is none."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for name in HANGUL_FONTS:
        if name in known:
            return name
    # Installed after matplotlib built its font cache (e.g. apt-get install fonts-nanum later):
    # register the files directly instead of asking the student to delete the cache.
    for path in font_manager.findSystemFonts():
        if any(hint in Path(path).name.lower().replace("-", "") for hint in _FONT_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError):
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FONTS if name in known), None)


@functools.cache
def _hangul_font_once() -> str | None:
    return hangul_font_name()


def use_hangul_font() -> str | None:
    """When the language is Korean, let matplotlib fall back to a Hangul font.

    Latin letters, digits and math keep matplotlib's default font (DejaVu Sans); only glyphs it
    lacks come from the Hangul font (matplotlib >= 3.6 falls back per glyph). Returns the font
    used, or None (English, or no Hangul font installed: then a warning says what to install).
    """
    if config.LANG != "ko":
        return None
    import matplotlib

    name = _hangul_font_once()
    if name is None:
        warnings.warn(
            _(
                "CS231N_LANG=ko but no font with Hangul is installed, so Korean plot labels would "
                "show as boxes; install one (Debian/Ubuntu: sudo apt-get install fonts-nanum), "
                "then restart the kernel"
            ),
            stacklevel=2,
        )
        return None
    families = list(matplotlib.rcParams["font.family"])
    if families == ["sans-serif"]:
        families = list(matplotlib.rcParams["font.sans-serif"][:1])
    if name not in families:
        matplotlib.rcParams["font.family"] = [*families, name]
    return name


# --- a stub raised outside a check cell, in IPython ----------------------------------------
# The library's stubs raise NotImplementedError("<name>: implement this in <file> (see the TODO
# above)") in English in every language: the grader and `submit` recognise stubs by that text.
# check() shows it translated (checks.stub_text); a stub reached from any other cell is shown
# translated by this IPython handler. It changes only what is drawn: the exception raised, and
# the error's ename/evalue that the kernel reports and a notebook stores, stay the English ones.


def _show_stub_translated(shell, etype, value, tb, tb_offset=None):
    """IPython custom-exception handler (``shell.set_custom_exc``) for NotImplementedError."""
    from cs231n_lib.checks import stub_text

    message = str(value)
    korean = stub_text(message) if config.LANG != "en" else message
    if korean == message or hasattr(value, "_render_traceback_"):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    shown = etype(korean)  # a copy for the drawing only, with the original's chain
    shown.__cause__, shown.__context__ = value.__cause__, value.__context__
    shown.__suppress_context__ = value.__suppress_context__
    stb = shell.InteractiveTB.structured_traceback(etype, shown, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)
    return None


def install_ipython_stub_handler() -> bool:
    """Under ``CS231N_LANG=ko`` in an IPython kernel, show stub errors in Korean (see above).

    Does nothing under the grader (``CS231N_GRADING_SEED``), outside IPython, or when the
    notebook already installed a custom exception handler of its own. Idempotent (autoreload
    imports the library again). Returns whether the handler is installed.
    """
    if config.LANG == "en" or config.GRADING_SEED is not None:
        return False
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    if getattr(shell, "_cs231n_stub_handler", False):  # ours (or ours, disabled by IPython)
        return NotImplementedError in shell.custom_exceptions
    if shell.custom_exceptions:  # someone else's handler: leave it alone
        return False
    shell.set_custom_exc((NotImplementedError,), _show_stub_translated)
    shell._cs231n_stub_handler = True
    return True
