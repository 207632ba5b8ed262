"""Run the fast layers' memory-bound numpy passes on several cores.

BLAS runs the matrix products on every core, but a numpy copy, ``+=`` or ``np.maximum`` runs
on one. numpy releases the GIL inside such loops, so Python threads that each take a slice of
the channels do run in parallel: :func:`split` cuts ``range(n)`` into one contiguous part per
thread and calls ``fn(lo, hi)`` on each. The fast layers lay activations out channel-major
(see :mod:`cs231n_lib.fast_layers`), so a range of channels is one contiguous block of memory.

The number of threads is :data:`THREADS`: the environment variable ``CS231N_NUM_THREADS`` if
set (1 turns threading off), else the cores this process may use, at most 4. Small arrays run
in the calling thread: below :data:`MIN_SIZE` elements a thread costs more than it saves.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor


def _default_threads():
    value = os.environ.get("CS231N_NUM_THREADS")
    if value is not None:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"CS231N_NUM_THREADS must be a positive integer, got {value!r}")
        return int(value)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


THREADS = _default_threads()
MIN_SIZE = 1 << 18  # elements (1 MiB of float32): smaller jobs stay in the calling thread
_executor = None


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
    if parts <= 1 or size < (MIN_SIZE if min_size is None else min_size):
        fn(0, n)
        return
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=THREADS - 1, thread_name_prefix="cs231n")
    bounds = [n * k // parts for k in range(parts + 1)]
    futures = [_executor.submit(fn, bounds[k], bounds[k + 1]) for k in range(1, parts)]
    fn(bounds[0], bounds[1])  # this thread takes the first part
    for future in futures:
        future.result()  # re-raises an exception of the part
