"""Instructor tools for the course in ``cs231n_lib``: never released to students.

``python -m cs231n_course release|execute|goldens|grade``; the grader is ``grader/`` and the
kernel sandbox ``sandbox/``.
"""

import sys

# nbformat imports jsonschema, and jsonschema imports rfc3987_syntax when it is installed
# (JupyterLab's jupyter-events installs it), which builds 38 Earley parsers on import: about
# 1.2 s of CPU in every process that reads a notebook, for IRI format checks that nbformat
# never asks for (it validates without a format checker). Marked absent here, before anything
# of ours imports nbformat, jsonschema simply leaves those two checkers out. The grader's nbval
# passes load this package as their first plugin for the same reason (grader/nbval_pass.py).
sys.modules.setdefault("rfc3987_syntax", None)
