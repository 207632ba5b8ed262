"""Small helpers shared by the layer tests."""

from __future__ import annotations

import numpy as np


def frozen(*arrays):
    """Read-only copies: any in-place write by the code under test raises ValueError."""
    out = []
    for a in arrays:
        a = np.array(a, copy=True)
        a.setflags(write=False)
        out.append(a)
    return out
