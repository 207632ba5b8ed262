"""cs231n_lib: the support library of a self-grading CS231n-style course in numpy.

Students fill in the marked student regions of this package and of the notebooks, and run
``cs231n_lib.checks.check(<exercise>)`` to see whether their code is right.
"""

__version__ = "1.0.0"
