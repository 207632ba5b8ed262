"""Settings for every test process and every notebook kernel it starts.

Kernels inherit this environment, so notebooks under nbval run in fast mode on a small slice.
"""

import os

os.environ.setdefault("CS231N_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread per process: two xdist workers, each with a kernel, share two cores, and
# multithreaded OpenBLAS stalls badly when oversubscribed on the thin products used here.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.pop("CS231N_GRADING_SEED", None)  # grading mode only inside the grader's sandbox
# English unless a test says otherwise (notebooks/ko/conftest.py sets ko for the Korean notebooks).
os.environ.pop("CS231N_LANG", None)
