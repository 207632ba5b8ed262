"""Scratch buffers kept per thread, for the fast layers' short-lived arrays.

Arrays that live only inside one call (the column gradient of a convolution's backward pass,
the conv output that a fused layer pools right away, Winograd's intermediate transforms) are
written into buffers kept per thread and reused by the next call, instead of being allocated
and freed each time. Nothing that is returned or kept in a cache may be a scratch buffer.
"""

from __future__ import annotations

import math
import threading

import numpy as np

_store = threading.local()


def scratch(name, shape, dtype):
    """An uninitialised array of the given shape, reusing this thread's buffer called name.

    Only for arrays that die before the function that asked for them returns: the next
    request under the same name overwrites the contents. Callers in different modules use
    different names (cs231n_lib.winograd prefixes its own).
    """
    buffers = _store.__dict__
    dtype = np.dtype(dtype)
    size = math.prod(shape)  # not np.prod: a numpy reduction per call, with the GIL held
    buffer = buffers.get((name, dtype))
    if buffer is None or buffer.size < size:
        buffer = buffers[(name, dtype)] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)
