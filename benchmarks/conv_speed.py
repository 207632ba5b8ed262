"""Speed of the conv layers: fast vs naive, vs PyTorch's CPU conv2d, vs this machine's matmul peak.

    .venv/bin/python benchmarks/conv_speed.py            # everything (the naive layers take ~1 min)
    .venv/bin/python benchmarks/conv_speed.py --quick    # fewer repetitions
    .venv/bin/python benchmarks/conv_speed.py --threads 1  # one core each for BLAS and torch

Everything is measured in one run, interleaved round by round, so that a busy shared machine
slows every contender alike; each time is the best of its rounds. The shapes are CS231n's
benchmark (x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1), on which CS231n reports its
Cython layers 292× (forward) and 1156× (backward) faster than naive loops, plus one layer of the
CIFAR-10 convnet (x (128, 32, 16, 16), w (64, 32, 3, 3), stride 1, pad 1), where the matrix
product dominates.

- speed-up = naive time / fast time (float64, the naive layers of cs231n_lib.layers);
- torch ratio = torch time / our time for forward + backward (above 1: we are faster); torch
  is optional (``pip install torch``, CPU build);
- peak fraction = achieved GFLOP/s / GFLOP/s of one large square matrix product of the same
  dtype, measured in the same run (forward FLOPs 2·N·F·H_out·W_out·C·HH·WW, backward twice that).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time

if __name__ == "__main__" and "--threads" in sys.argv:
    # BLAS reads its thread count when numpy is imported, so set it before that import.
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = _threads

import numpy as np  # noqa: E402

from cs231n_lib.fast_layers import conv_backward_fast, conv_forward_fast  # noqa: E402
from cs231n_lib.layers import conv_backward_naive, conv_forward_naive  # noqa: E402

CS231N = ((100, 3, 31, 31), (25, 3, 3, 3), 2, 1)
CONVNET = ((128, 32, 16, 16), (64, 32, 3, 3), 1, 1)


def keep_freed_memory() -> bool:
    """glibc: keep freed blocks for reuse (see benchmarks/convnet_cifar10.py)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(-3, 32 * 1024 * 1024) & libc.mallopt(-1, 1 << 30))


def best(fn, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


MATMUL = 2048


def matmul_runner(dtype):
    """A closure computing one MATMUL x MATMUL matrix product (BLAS, all threads)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((MATMUL, MATMUL)).astype(dtype)
    b = rng.standard_normal((MATMUL, MATMUL)).astype(dtype)
    return lambda: a @ b


def flops(x_shape, w_shape, stride, pad):
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    H_out, W_out = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    return 2 * N * F * H_out * W_out * C * HH * WW


def case(x_shape, w_shape, stride, pad, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape).astype(dtype)
    return x, w, b, conv_param, cache, dout


def numpy_runner(x, w, b, conv_param, cache, dout):
    """Forward and backward closures for the fast numpy layers."""
    return (lambda: conv_forward_fast(x, w, b, conv_param),
            lambda: conv_backward_fast(dout, cache))  # fmt: skip


def torch_runner(x, w, b, conv_param, dout):
    """Forward and backward closures for torch.nn.functional.conv2d on the same arrays."""
    import torch

    X = torch.from_numpy(x).requires_grad_()
    Wt = torch.from_numpy(w).requires_grad_()
    B = torch.from_numpy(b).requires_grad_()
    D = torch.from_numpy(dout)
    kw = {"stride": conv_param["stride"], "padding": conv_param["pad"]}

    def forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(X, Wt, B, **kw)

    out = torch.nn.functional.conv2d(X, Wt, B, **kw)

    def backward():
        return torch.autograd.grad(out, (X, Wt, B), D, retain_graph=True)

    return forward, backward


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive layers")
    parser.add_argument("--no-malloc-tuning", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for BLAS and torch (default: all)"
    )
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 20
    tuned = False if args.no_malloc_tuning else keep_freed_memory()
    try:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        threads = torch.get_num_threads()
        torch_version = torch.__version__
    except ImportError:
        torch, threads, torch_version = None, None, "not installed"
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; numpy "
          f"{np.__version__} (BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'all')}); "
          f"torch {torch_version} ({threads} threads); malloc tuning: {tuned}")  # fmt: skip

    if not args.no_naive:
        x, w, b, conv_param, cache, dout = case(*CS231N, np.float64)
        _, naive_cache = conv_forward_naive(x, w, b, conv_param)
        fast_f, fast_b = numpy_runner(x, w, b, conv_param, cache, dout)
        contenders = [lambda: conv_forward_naive(x, w, b, conv_param), fast_f,
                      lambda: conv_backward_naive(dout, naive_cache), fast_b]  # fmt: skip
        t = [np.inf] * 4
        for _ in range(2 if args.quick else 3):  # interleaved; the fast ones 10 times a round
            for k, fn in enumerate(contenders):
                t[k] = min(t[k], best(fn, 1 if k % 2 == 0 else 10))
        print("fast vs naive, CS231n shapes x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, "
              "pad 1, float64:")  # fmt: skip
        print(f"  forward:  naive {t[0]:7.3f} s  fast {t[1] * 1e3:7.3f} ms  "
              f"speed-up {t[0] / t[1]:7.0f}x   (CS231n Cython: 292x)")  # fmt: skip
        print(f"  backward: naive {t[2]:7.3f} s  fast {t[3] * 1e3:7.3f} ms  "
              f"speed-up {t[2] / t[3]:7.0f}x   (CS231n Cython: 1156x)\n")  # fmt: skip

    header = (f"{'shapes':34s} {'dtype':8s} {'ours fwd':>9s} {'bwd':>8s} {'torch fwd':>10s} "
              f"{'bwd':>8s} {'torch/ours':>10s} {'GFLOP/s':>8s} {'of peak':>8s}")  # fmt: skip
    print(header)
    print("-" * len(header))
    peak_time = {np.float64: np.inf, np.float32: np.inf}
    rows = []
    for name, shapes in (("CS231n (100,3,31,31)*(25,3,3,3)/2", CS231N),
                         ("convnet (128,32,16,16)*(64,32,3,3)", CONVNET)):  # fmt: skip
        for dtype in (np.float64, np.float32):
            x, w, b, conv_param, cache, dout = case(*shapes, dtype)
            contenders = [matmul_runner(dtype), *numpy_runner(x, w, b, conv_param, cache, dout)]
            if torch:
                contenders += torch_runner(x, w, b, conv_param, dout)
            for fn in contenders:
                fn()  # warm up
            t = [np.inf] * len(contenders)
            for _ in range(rounds):  # interleaved: every contender sees the same load
                for k, fn in enumerate(contenders):
                    t[k] = min(t[k], best(fn, 1))
            peak_time[dtype] = min(peak_time[dtype], t[0])
            rows.append((name, dtype, shapes, t[1:]))
    peaks = {dt: 2 * MATMUL**3 / peak_time[dt] / 1e9 for dt in peak_time}
    for name, dtype, shapes, t in rows:
        total = flops(*shapes) * 3  # forward + backward
        gflops = total / (t[0] + t[1]) / 1e9
        ratio = (t[2] + t[3]) / (t[0] + t[1]) if torch else float("nan")
        torch_cols = (f"{t[2] * 1e3:9.2f}m {t[3] * 1e3:7.2f}m" if torch
                      else f"{'-':>10s} {'-':>8s}")  # fmt: skip
        print(f"{name:34s} {np.dtype(dtype).name:8s} {t[0] * 1e3:8.2f}m {t[1] * 1e3:7.2f}m "
              f"{torch_cols} {ratio:10.2f} {gflops:8.1f} "
              f"{gflops / peaks[dtype]:8.2f}")  # fmt: skip
    print(f"\nmatmul peak ({MATMUL}^3, best of the interleaved rounds): float64 "
          f"{peaks[np.float64]:.1f} GFLOP/s, float32 {peaks[np.float32]:.1f} GFLOP/s")  # fmt: skip
    print("\ntimes in ms (m); torch/ours above 1 means the numpy layers are faster; "
          "GFLOP/s and peak fraction are for our forward + backward.")  # fmt: skip
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
