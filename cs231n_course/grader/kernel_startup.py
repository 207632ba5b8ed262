"""Run at the start of every graded kernel (reference and students alike).

nbval never compares images, so rendering them is wasted CPU; figures still display as text
(``<Figure ...>``). The grading seed is read into ``cs231n_lib.config`` and removed from the
environment. The grader copies this file into the sandbox HOME as an IPython startup file.
"""


def _cs231n_grading_no_images():
    from IPython import get_ipython

    formatters = get_ipython().display_formatter.formatters
    for mime in ("image/png", "image/jpeg", "image/svg+xml", "application/pdf"):
        formatters[mime].enabled = False


def _cs231n_grading_hide_seed():
    # The course reads its seed once (cs231n_lib.config); the variable itself need not stay
    # where any code (or a subprocess) can list it. Feedback never quotes it either.
    import os

    import cs231n_lib.config  # noqa: F401

    os.environ.pop("CS231N_GRADING_SEED", None)


_cs231n_grading_no_images()
_cs231n_grading_hide_seed()
del _cs231n_grading_no_images, _cs231n_grading_hide_seed
