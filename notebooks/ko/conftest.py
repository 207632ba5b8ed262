"""nbval runs the Korean notebooks with ``CS231N_LANG=ko``, as a student of this edition does.

Their stored outputs were made that way (``python -m cs231n_course translate build
--execute``). nbval starts a notebook's kernel when the notebook's first cell is set up, and the
kernel inherits this process's environment; the setting is removed again after each cell so
tests and English notebooks that run next in the same worker are unaffected.
"""

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    os.environ["CS231N_LANG"] = "ko"


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    os.environ.pop("CS231N_LANG", None)
