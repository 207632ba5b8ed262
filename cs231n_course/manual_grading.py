"""The old name of :mod:`cs231n_course.manual` (manual grading of inline questions), kept so
that modules importing ``cs231n_course.manual_grading`` keep working; new code imports
``cs231n_course.manual``."""

from cs231n_course.manual import *  # noqa: F403
from cs231n_course.manual import __all__  # noqa: F401
