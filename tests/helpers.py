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


BLOCKED_SHAPES = {  # id: (x_shape, w_shape): conv layers large enough for blocks of images
    "conv3-like": ((32, 64, 8, 8), (128, 64, 3, 3)),  # Winograd (cs231n_lib/winograd.py)
    "conv2-like": ((32, 32, 16, 16), (64, 32, 3, 3)),  # Winograd
    "conv3-like-odd-batch": ((19, 64, 8, 8), (128, 64, 3, 3)),  # Winograd
    "conv3-like-4x4": ((32, 64, 4, 4), (128, 64, 3, 3)),  # im2col, inner dimension 577
    "conv1-odd-batch": ((19, 3, 32, 32), (32, 3, 3, 3)),  # im2col
}
