"""Run at the start of every graded kernel (reference and students alike).

nbval never compares images, so rendering them is wasted CPU; figures still display as text
(``<Figure ...>``). The grader copies this file into the sandbox HOME as an IPython startup file.
"""


def _cs231n_grading_no_images():
    from IPython import get_ipython

    formatters = get_ipython().display_formatter.formatters
    for mime in ("image/png", "image/jpeg", "image/svg+xml", "application/pdf"):
        formatters[mime].enabled = False


_cs231n_grading_no_images()
del _cs231n_grading_no_images
