"""Winograd's minimal filtering: a 3×3 "same" convolution with 2.25× fewer multiplications.

The fast layers (:mod:`cs231n_lib.fast_layers`) use this for the 3×3, stride-1, pad-1
convolutions of an input with even H and W and enough channels (:func:`applies`): conv2 and
conv3 of the benchmark net, most of a training step's arithmetic. Support code: students write
the naive layers, and this file is one way a library makes them fast.

**The idea, in one dimension.** Two outputs of a 3-tap correlation,
``y0 = d0·g0 + d1·g1 + d2·g2`` and ``y1 = d1·g0 + d2·g1 + d3·g2``, take six multiplications.
Winograd's F(2, 3) takes four: with

    m0 = (d0 - d2)·g0       m2 = (d1 + d2)·(g0 + g1 + g2)/2
    m1 = (d1 - d3)·g2       m3 = (d2 - d1)·(g0 - g1 + g2)/2

``y0 = m0 + m2 + m3`` and ``y1 = m2 - m1 - m3`` (expand to check). In matrices,
``y = Aᵀ [(G g) ⊙ (Bᵀ d)]`` with the three small matrices below. In two dimensions the same
holds along rows and columns at once: a 4×4 tile of the padded input gives the 2×2 outputs
``Y = Aᵀ [U ⊙ V] A``, with ``U = G g Gᵀ`` (the filter, transformed once per step) and
``V = Bᵀ d B`` (the tile) 4×4: 16 multiplications where the direct way takes 36.

**As matrix products.** Summed over the input channels, each of the 16 entries of
``U ⊙ V`` is a dot product over c, for every tile t and every filter f at once:
``M[p] = V[p] @ U[p]`` with V[p] (T, C) and U[p] (C, F). So a convolution is 16 matrix
products of inner dimension C, against im2col's one product of inner dimension 9·C: 16·C
against 36·C multiply-adds per 2×2 outputs. The transforms are additions only (the halves in
G are exact in binary): the input and dx transforms a few whole-array numpy calls each, the
output transform and its gradient one small matrix product per chunk of tiles (0 and ±1
entries: one call that releases the GIL instead of eight short ones that keep the threads
waiting for each other).

**Pixel-major memory.** The images are read as (H, W, N, C) arrays and every transform is
a numpy call whose innermost loop runs over the N·C numbers of one pixel, contiguous: a
tile's rows and columns are then outer strides, and each call is one long pass instead of
thousands of W/2-long inner loops (which would also hold the GIL long enough to keep the
layers' threads waiting for each other). Tiles are numbered t = (i, j, n).

**The outputs come in pooling order.** Tile t = (i, j, n) covers output pixels
(2i + a, 2j + b), a, b ∈ {0, 1}: exactly the 2×2 pooling windows. The forward pass writes the
four outputs of every tile into four contiguous blocks, (4, T, F), so the fused layer pools
them with the pooling-order pool of :mod:`cs231n_lib.fast_layers`.

**The backward pass** is the transpose of every linear map: from the gradient of the four
outputs, ``dM = A dY Aᵀ``; then ``dV[p] = dM[p] @ U[p]ᵀ`` and ``dU[p] = V[p]ᵀ @ dM[p]`` (16
products each); dx is ``B dV Bᵀ`` added back into the overlapping tiles (the tiles overlap by
two pixels), and dw is ``Gᵀ dU G``. Two signs are folded into the transforms so that no pass
only negates (see :data:`_SIGN`).

**Numbers.** The result is the convolution's up to rounding, not bit for bit the im2col
product's: each output is a sum taken in another order (float32: a few units in the last
place of the largest term; float64: ~1e-15 relative). On small integers it is exact, so the
tests hold it equal to the naive layer, ties in the pool included. Every output depends only
on its own tile, so a block of images gives the same bits as the whole batch.

Positions of the 4×4 tile are numbered in the order of the rows of Bᵀ below (d0 - d2,
d1 - d3, d1 + d2, d2 - d1), p = 4·i + j; U, V and M are (16, ·, ·) arrays in that order.
"""

from __future__ import annotations

import numpy as np

from cs231n_lib import threads
from cs231n_lib.scratch import scratch

# The transforms, rows in the order of the positions (see the module docstring).
B_T = np.array([[1, 0, -1, 0], [0, 1, 0, -1], [0, 1, 1, 0], [0, -1, 1, 0]], dtype=np.float64)
G = np.array([[1, 0, 0], [0, 0, 1], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5]], dtype=np.float64)
A_T = np.array([[1, 0, 1, 1], [0, -1, 1, -1]], dtype=np.float64)

_SIGN = np.array([1, -1, 1, 1], dtype=np.float64)
"""The backward pass works with ``dM' = s_i s_j dM`` (and so gets ``s_i s_j dV``, ``s_i s_j dU``):
with these signs both steps of ``A dY Aᵀ`` are the same ``[u, v] -> [u, v, u + v, u - v]``.
The signs are put back inside the dx and dw transforms, never by a pass of their own."""

MIN_CHANNELS = 16
MIN_FILTERS = 32
MIN_PIXELS = 64
"""With fewer input channels or filters than these, or smaller images (H·W pixels), im2col is
as fast or faster: the 16 products of inner dimension C (F in the backward pass) are too thin,
or too short; the benchmark net's conv1 has C = 3. Measured layer by layer:
``benchmarks/conv_speed.py --winograd`` (its table is in benchmarks/README.md)."""


def _scratch(name, shape, dtype):
    return scratch(f"winograd.{name}", shape, dtype)


def applies(x_shape, w_shape, stride, pad, dtype):
    """Whether :mod:`cs231n_lib.fast_layers` takes this path for a convolution."""
    _, C, H, W = x_shape
    return (
        tuple(w_shape[2:]) == (3, 3)
        and w_shape[0] >= MIN_FILTERS
        and stride == 1
        and pad == 1
        and H % 2 == 0
        and W % 2 == 0
        and H * W >= MIN_PIXELS
        and C >= MIN_CHANNELS
        and np.dtype(dtype).kind == "f"
    )


class Tiles:
    """The transformed input tiles V of a block of images: what the backward pass keeps.

    Attributes
    ----------
    V : ndarray, shape (16, T, C)
        ``Bᵀ d B`` of every tile t = (i, j, n), position p first.
    x_shape : tuple
        (N, C, H, W) of the images.
    """

    __slots__ = ("V", "x_shape")

    def __init__(self, V, x_shape):
        self.V = V
        self.x_shape = x_shape

    @property
    def dtype(self):
        return self.V.dtype


def _kron(g):
    """(16, 9): row p = 4·i + j holds G[i, r]·G[j, s] at column 3·r + s."""
    return np.einsum("ir,js->ijrs", g, g).reshape(16, 9)


def filters(w, dtype):
    """U = G w Gᵀ of every filter and channel: (16, C, F), contiguous, in dtype."""
    F, C = w.shape[:2]
    with threads.one_blas_thread():  # the same bits whatever BLAS's threads
        U = w.reshape(F * C, 9).astype(dtype, copy=False) @ _kron(G).T.astype(dtype)  # (F*C, 16)
    return np.ascontiguousarray(U.reshape(F, C, 16).transpose(2, 1, 0))


def filter_gradient(dU_signed, w_shape, dtype):
    """dw (F, C, 3, 3) from the signed filter gradient ``s_i s_j dU`` (16, C, F)."""
    F, C = w_shape[:2]
    dU = dU_signed.transpose(2, 1, 0).reshape(F * C, 16)
    with threads.one_blas_thread():
        dw = dU @ _kron(G * _SIGN[:, None]).astype(dtype)  # G with the signs put back
    return dw.reshape(F, C, 3, 3)


def pixel_major(a):
    """a (N, C, H, W) as the (H, W, N, C) array it is in memory here (a view, or a copy)."""
    return np.ascontiguousarray(a.transpose(2, 3, 0, 1))


def tiles(x_pm):
    """The input transform ``V = Bᵀ d B`` of every 4×4 tile of the images padded by one.

    x_pm is (H, W, N, C), any strides (the pixel-major view of an (N, C, H, W) batch);
    H and W even. Returns :class:`Tiles`.
    """
    H, W, N, C = x_pm.shape
    th, tw = H // 2, W // 2
    dtype = x_pm.dtype
    xp = _scratch("padded", (H + 2, W + 2, N, C), dtype)  # zero border
    xp[0] = 0
    xp[H + 1] = 0
    xp[1 : H + 1, 0] = 0
    xp[1 : H + 1, W + 1] = 0
    np.copyto(xp[1 : H + 1, 1 : W + 1], x_pm)
    # Rows of every tile: R[r] = xp[2i + r] for the th tile rows i.
    s_h, s_w, s_n, s_c = xp.strides
    R = np.lib.stride_tricks.as_strided(
        xp, (4, th, W + 2, N, C), (s_h, 2 * s_h, s_w, s_n, s_c), writeable=False
    )
    S = _scratch("rows", (4, th, W + 2, N, C), dtype)  # Bᵀ d along the rows
    np.subtract(R[0:2], R[2:4], out=S[0:2])  # d0 - d2, d1 - d3
    np.add(R[1], R[2], out=S[2])  # d1 + d2
    np.subtract(R[2], R[1], out=S[3])  # d2 - d1
    # Columns of every tile: Q[i, c] = S[i, :, 2j + c] for the tw tile columns j.
    t_i, t_h, t_w, t_n, t_c = S.strides
    Q = np.lib.stride_tricks.as_strided(
        S, (4, 4, th, tw, N, C), (t_i, t_w, t_h, 2 * t_w, t_n, t_c), writeable=False
    )
    V = np.empty((4, 4, th, tw, N, C), dtype=dtype)  # (Bᵀ d) B, kept for the backward pass
    np.subtract(Q[:, 0:2], Q[:, 2:4], out=V[:, 0:2])
    np.add(Q[:, 1], Q[:, 2], out=V[:, 2])
    np.subtract(Q[:, 2], Q[:, 1], out=V[:, 3])
    return Tiles(V.reshape(16, th * tw * N, C), (N, C, H, W))


def _products(a, b, out, transpose_a=False, transpose_b=False):
    """out[p] = a[p] @ b[p] (with a[p] or b[p] transposed) for the 16 positions, on one
    BLAS thread: the layers' own threads share the work (see fast_layers._matmul)."""
    a = a.transpose(0, 2, 1) if transpose_a else a
    b = b.transpose(0, 2, 1) if transpose_b else b
    with threads.one_blas_thread():
        return np.matmul(a, b, out=out)


CHUNK_BYTES = 1 << 20
"""The 16 products and the output transform (and their backward) go through the tiles in
chunks whose 16 products, (16, chunk, F), fill about this many bytes: they stay in the
core's cache between the product that writes them and the transform that reads them. The
chunks depend on the shapes only, never on the threads."""


def _chunks(T, F, itemsize):
    size = max(1, CHUNK_BYTES // (16 * F * itemsize))
    return [(c0, min(T, c0 + size)) for c0 in range(0, T, size)]


_OUTPUT = np.kron(A_T, A_T)
"""(4, 16): the output transform ``Aᵀ M A`` as one matrix, ``Y[2a + b] = Σ_p _OUTPUT[2a + b, p]
M[p]`` (entries 0 and ±1)."""

_SPREAD = np.array([[1, 0], [0, 1], [1, 1], [1, -1]], dtype=np.float64)  # [u, v, u + v, u - v]
_OUTPUT_GRADIENT = np.kron(_SPREAD, _SPREAD)
"""(16, 4): the signed gradient ``dM' = s_i s_j (A dY Aᵀ)`` (see :data:`_SIGN`) as one matrix:
``[u, v] -> [u, v, u + v, u - v]`` along j, then along i."""


def forward(U, t, b, out):
    """The convolution's output in pooling order, written into out (4, T, F).

    ``out[2a + b, t, f]`` is output pixel (2i + a, 2j + b) of tile t = (i, j, n); b is the
    bias (F,), added once to the one position that reaches all four outputs (p = 10: row
    and column "d1 + d2", whose weights in Aᵀ are all 1). Each chunk of tiles takes three
    numpy calls: the 16 products, the bias, and the output transform as one (4, 16) matrix
    product (numpy holds the GIL between calls, so on several threads fewer, longer calls
    are faster than the eight additions it replaces, though it multiplies by 0 and ±1).
    """
    F = U.shape[2]
    T = t.V.shape[1]
    chunks = _chunks(T, F, out.dtype.itemsize)
    size = chunks[0][1]
    M_buffer = _scratch("M", (16, size, F), out.dtype)
    output = _OUTPUT.astype(out.dtype)
    for c0, c1 in chunks:
        M = _products(t.V[:, c0:c1], U, M_buffer[:, : c1 - c0])  # (16, chunk, F)
        M[10] += b
        with threads.one_blas_thread():
            np.matmul(output, M.reshape(16, -1), out=out[:, c0:c1].reshape(4, -1))
    return out


def backward(da, U, t, compute_dx=True, dx_out=None):
    """The gradients of :func:`forward`, given da (4, T, F), the gradient of its out.

    Returns
    -------
    dx_pm : ndarray, shape (H, W, N, C), or None
        dx, pixel-major (``dx_pm.transpose(2, 3, 0, 1)`` is the (N, C, H, W) gradient),
        written into dx_out (any strides) when given.
    dU_signed : ndarray, shape (16, C, F)
        ``s_i s_j dU``, for :func:`filter_gradient` (after adding blocks' partials).
    db : ndarray, shape (F,)
    """
    F = U.shape[2]
    C, T = t.V.shape[2], t.V.shape[1]
    dtype = np.result_type(da, t.V)
    chunks = _chunks(T, F, dtype.itemsize)
    size = chunks[0][1]
    dM_buffer = _scratch("dM", (16, size, F), dtype)
    dU = np.zeros((16, C, F), dtype=dtype)
    dU_chunk = _scratch("dU", (16, C, F), dtype)
    db = np.zeros(F, dtype=dtype)
    dV = _scratch("dV", t.V.shape, dtype) if compute_dx else None
    output_gradient = _OUTPUT_GRADIENT.astype(dtype)
    for c0, c1 in chunks:
        # dM' from the four outputs' gradient, one (16, 4) matrix product (as in forward)
        dM = dM_buffer[:, : c1 - c0]
        with threads.one_blas_thread():
            np.matmul(output_gradient, da[:, c0:c1].reshape(4, -1), out=dM.reshape(16, -1))
        db += dM[10].sum(axis=0)  # the bias's position: db = Σ_t dM[10]
        dU += _products(t.V[:, c0:c1], dM, dU_chunk, transpose_a=True)
        if dV is not None:
            _products(dM, U, dV[:, c0:c1], transpose_b=True)
    if dV is None:
        return None, dU, db
    return _tiles_backward(dV, t.x_shape, dtype, dx_out), dU, db


def _tiles_backward(dV_signed, x_shape, dtype, dx_out=None):
    """dx = B dV Bᵀ of every tile, added into the pixels of the overlapping tiles.

    dV_signed is ``s_i s_j dV``; the transform below is ``Bᵀ`` with those signs put back, so
    tile pixel r gets (over i) r=0: V0; r=1: V2 - V1 - V3; r=2: V2 + V3 - V0; r=3: V1, and
    the same over j for the columns: of the 16 tile pixels, 12 are computed and 4 are views.
    Tile (i, j) pixel (r, c) is image pixel (2i + r - 1, 2j + c - 1), so each of the 16 goes
    to one parity of the image's rows and columns; pixels r or c = 0 or 3 of the border
    tiles fall on the padding and are dropped. Pixels (1, 2) × (1, 2) cover every image pixel
    exactly once, so they are copied and the other 12 added, always in this order. Returns
    dx pixel-major, (H, W, N, C), written into dx_out (any strides) when given.
    """
    N, C, H, W = x_shape
    th, tw = H // 2, W // 2
    dV = dV_signed.reshape(4, 4, th, tw, N, C)
    E12 = _scratch("E", (2, 4, th, tw, N, C), dtype)  # tile rows 1 and 2, after the rows
    np.subtract(dV[2], dV[1], out=E12[0])
    E12[0] -= dV[3]
    np.add(dV[2], dV[3], out=E12[1])
    E12[1] -= dV[0]
    # Along the columns, for tile rows (0, 3) = dV[0:2] and (1, 2) = E12 at once: the
    # computed columns 1 and 2; columns 0 and 3 are the views G[:, 0] and G[:, 1].
    columns = {}
    for rows, G in (((0, 3), dV[0:2]), ((1, 2), E12)):
        D = _scratch(f"D{rows}", (2, 2, th, tw, N, C), dtype)  # D[row, column - 1]
        np.subtract(G[:, 2], G[:, 1], out=D[:, 0])
        D[:, 0] -= G[:, 3]
        np.add(G[:, 2], G[:, 3], out=D[:, 1])
        D[:, 1] -= G[:, 0]
        for k, r in enumerate(rows):
            columns[r] = (G[k, 0], D[k, 0], D[k, 1], G[k, 1])
    dx = np.empty((H, W, N, C), dtype=dtype) if dx_out is None else dx_out
    s_h, s_w, s_n, s_c = dx.strides
    parity = np.lib.stride_tricks.as_strided(  # parity[py, px, i, j] = dx[2i + py, 2j + px]
        dx, (2, 2, th, tw, N, C), (s_h, s_w, 2 * s_h, 2 * s_w, s_n, s_c)
    )
    # Tile pixel r: (parity of its image rows, image-row slots, tile slots).
    rows = [(1, slice(0, th - 1), slice(1, th)), (0, slice(0, th), slice(0, th)),
            (1, slice(0, th), slice(0, th)), (0, slice(1, th), slice(0, th - 1))]  # fmt: skip
    cols = [(1, slice(0, tw - 1), slice(1, tw)), (0, slice(0, tw), slice(0, tw)),
            (1, slice(0, tw), slice(0, tw)), (0, slice(1, tw), slice(0, tw - 1))]  # fmt: skip
    first = [(1, 1), (1, 2), (2, 1), (2, 2)]
    for k, (r, c) in enumerate(first + [(r, c) for r in range(4) for c in range(4)
                                        if (r, c) not in first]):  # fmt: skip
        (py, image_i, tile_i), (px, image_j, tile_j) = rows[r], cols[c]
        target, source = parity[py, px, image_i, image_j], columns[r][c][tile_i, tile_j]
        if k < len(first):
            np.copyto(target, source)
        else:
            target += source
    return dx
