"""Instructor tools for the course in ``cs231n_lib``: never released to students.

``python -m cs231n_course release|execute|goldens|grade``; the grader is ``grader/`` and the
kernel sandbox ``sandbox/``.
"""
