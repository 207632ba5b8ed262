"""cs231n_lib: the support library of a self-grading CS231n-style course in numpy.

Students fill in the marked student regions of this package and of the notebooks, and run
``cs231n_lib.checks.check(<exercise>)`` to see whether their code is right.
"""

__version__ = "1.0.0"


def _in_korean_ipython() -> bool:
    import os
    import sys

    return "IPython" in sys.modules and os.environ.get("CS231N_LANG", "").lower().startswith("ko")


if _in_korean_ipython():  # show an unfilled stub's error in Korean (cs231n_lib.i18n)
    from cs231n_lib import i18n as _i18n

    _i18n.install_ipython_stub_handler()
