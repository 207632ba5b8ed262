"""Run the fast layers' memory-bound numpy passes on several cores.

BLAS runs the matrix products on every core, but a numpy copy, ``+=`` or ``np.maximum`` runs
on one. numpy releases the GIL inside such loops, so Python threads that each take a slice of
the channels do run in parallel: :func:`split` cuts ``range(n)`` into one contiguous part per
thread and calls ``fn(lo, hi)`` on each. The fast layers lay activations out channel-major
(see :mod:`cs231n_lib.fast_layers`), so a range of channels is one contiguous block of memory.

The fast layers also share their large matrix products between these threads (in fixed
blocks, see ``cs231n_lib.fast_layers._matmul``), with BLAS on one thread inside each block
(:func:`one_blas_thread`): BLAS's own threads spin while they wait for each other, so on a
machine whose cores other processes keep busy a product split by BLAS can take hundreds of
times longer; a Python thread that waits does not spin. :func:`set_blas_threads` sets BLAS's
thread count at run time.

The number of threads is :data:`THREADS`: the environment variable ``CS231N_NUM_THREADS`` if
set (1 turns threading off), else the cores this process may use, at most 4. Small arrays run
in the calling thread: below :data:`MIN_SIZE` elements a thread costs more than it saves.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from cs231n_lib.i18n import _


def _default_threads():
    value = os.environ.get("CS231N_NUM_THREADS")
    if value is not None:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(
                _(
                    "CS231N_NUM_THREADS must be a positive integer, got {value!r}; unset it to "
                    "use every core this process may use, or set it to 1 to turn threading off"
                ).format(value=value)
            )
        return int(value)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


THREADS = _default_threads()
MIN_SIZE = 1 << 18  # elements (1 MiB of float32): smaller jobs stay in the calling thread
_executor = None
_local = threading.local()  # .busy: this thread is running a part of a split


def nested():
    """True inside a part of :func:`split`: a split started there runs in its own thread."""
    return getattr(_local, "busy", False)


def _run_part(fn, lo, hi):
    _local.busy = True
    try:
        fn(lo, hi)
    finally:
        _local.busy = False


def split(fn, n, size, min_size=None):
    """Call ``fn(lo, hi)`` on consecutive parts of range(n), one per thread, and wait.

    Parameters
    ----------
    fn : callable
        ``fn(lo, hi)`` works on items lo..hi-1 only (parts must not write to shared memory).
    n : int
        Number of items (e.g. channels).
    size : int
        Elements the whole job touches; below min_size (default :data:`MIN_SIZE`) everything
        runs in this thread: handing a small job to another thread costs more than it saves,
        and far more when other processes keep the cores busy.
    """
    global _executor
    parts = min(THREADS, n)
    if parts <= 1 or size < (MIN_SIZE if min_size is None else min_size) or nested():
        fn(0, n)  # small, or already inside a part: waiting for the pool could deadlock
        return
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=THREADS - 1, thread_name_prefix="cs231n")
    bounds = [n * k // parts for k in range(parts + 1)]
    futures = [_executor.submit(_run_part, fn, bounds[k], bounds[k + 1]) for k in range(1, parts)]
    try:
        _run_part(fn, bounds[0], bounds[1])  # this thread takes the first part
    finally:
        for future in futures:
            future.result()  # waits for every part; re-raises an exception of one


# ---- BLAS threads ----
#
# numpy's OpenBLAS starts one thread per core and, between products, its threads spin waiting
# for work. When other processes hold the cores, a product split over two threads waits for
# whichever lost its core: on this course's shared 2-core machine one small fast-layer call took
# 0.6-1.1 ms with one BLAS thread and a median of 275-380 ms with two (benchmarks/README.md).
# set_blas_threads changes the count at run time, through OpenBLAS's own function (what
# OPENBLAS_NUM_THREADS sets at start-up, which only works before numpy is imported).

_BLAS_PREFIXES = ("scipy_openblas", "openblas")  # numpy's wheels (scipy-openblas), a system one
_BLAS_SUFFIXES = ("64_", "_64_", "")  # 64-bit integer builds, then the plain names
_blas = None  # (set, get) of OpenBLAS's functions once found; False: not found


def _blas_functions():
    """OpenBLAS's (set_num_threads, get_num_threads) of the library numpy loaded, or None."""
    global _blas
    if _blas is None:
        _blas = False
        import ctypes

        import numpy as np

        try:
            with open("/proc/self/maps") as maps:  # the libraries this process has loaded
                paths = {line.split(None, 5)[-1].strip() for line in maps if "openblas" in line}
        except OSError:  # not on Linux
            return None
        root = os.path.dirname(os.path.dirname(np.__file__))
        for path in sorted(paths, key=lambda p: not p.startswith(root)):  # numpy's own first
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix in _BLAS_PREFIXES:
                for suffix in _BLAS_SUFFIXES:
                    setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    if setter is not None and getter is not None:
                        setter.argtypes, setter.restype = [ctypes.c_int], None
                        getter.argtypes, getter.restype = [], ctypes.c_int
                        _blas = (setter, getter)
                        return _blas
    return _blas or None


def set_blas_threads(n):
    """Make numpy's matrix products use n BLAS threads from now on; False if it cannot.

    Works with numpy's own OpenBLAS (the wheels on PyPI); with another BLAS (MKL, Accelerate)
    it does nothing and returns False (set ``OMP_NUM_THREADS`` before starting Python there).
    """
    if int(n) != n or n < 1:
        raise ValueError(f"the number of BLAS threads must be a positive integer, got {n!r}")
    functions = _blas_functions()
    if functions is None:
        return False
    functions[0](int(n))
    return True


def blas_threads():
    """The number of threads numpy's BLAS uses now (1 when it cannot be told)."""
    functions = _blas_functions()
    return functions[1]() if functions else 1


@contextlib.contextmanager
def one_blas_thread():
    """BLAS on one thread inside the block, restored after: for products that the layers'
    own threads split between them (two BLAS threads in each would fight for the cores)."""
    functions = _blas_functions()
    before = functions[1]() if functions else 1
    if before > 1:
        functions[0](1)
    try:
        yield
    finally:
        if before > 1:
            functions[0](before)
