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
import subprocess
import sys
import time

if __name__ == "__main__" and "--threads" in sys.argv:
    # BLAS reads its thread count when numpy is imported, so set it before that import.
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    os.environ["OMP_NUM_THREADS"] = _threads  # torch's threads (the child sets them too)
    os.environ["CS231N_NUM_THREADS"] = _threads  # the fast layers' own threads (threads.py)
    # The fast layers run their products on their own threads, one BLAS thread each; BLAS's
    # own threads then only serve the affine layers (student code), and on 2 cores they spin
    # against the layers' threads: one unless --blas-threads says otherwise.
    _blas = sys.argv[sys.argv.index("--blas-threads") + 1] if "--blas-threads" in sys.argv else "1"
    os.environ["OPENBLAS_NUM_THREADS"] = _blas

import numpy as np  # noqa: E402

from cs231n_lib.fast_layers import conv_backward_fast, conv_forward_fast  # noqa: E402
from cs231n_lib.layers import conv_backward_naive, conv_forward_naive  # noqa: E402

CS231N = ((100, 3, 31, 31), (25, 3, 3, 3), 2, 1)
CONVNET = ((128, 32, 16, 16), (64, 32, 3, 3), 1, 1)


def layer_threads() -> int:
    from cs231n_lib import threads

    return threads.THREADS


def keep_freed_memory() -> bool:
    """glibc: keep freed blocks for reuse (see benchmarks/convnet_cifar10.py)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(-3, 32 * 1024 * 1024) & libc.mallopt(-1, 1 << 30))


CLOCK = time.perf_counter  # --cpu-time: time.process_time


def best(fn, rounds):
    times = []
    for _ in range(rounds):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return min(times)


MATMUL = 2048


def matmul_runner(dtype, threads=None):
    """A closure computing one MATMUL x MATMUL matrix product on BLAS's threads.

    With ``threads``, BLAS runs on that many threads for the product (and is restored after):
    the peak of as many cores as the layers use, even where BLAS is left on one thread.
    """
    from cs231n_lib.threads import blas_threads, set_blas_threads

    rng = np.random.default_rng(0)
    a = rng.standard_normal((MATMUL, MATMUL)).astype(dtype)
    b = rng.standard_normal((MATMUL, MATMUL)).astype(dtype)
    if threads is None:
        return lambda: a @ b

    def product():
        before = blas_threads()
        set_blas_threads(threads)
        try:
            return a @ b
        finally:
            set_blas_threads(before)

    return product


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


# ---- Training step: whole networks, ours vs torch (each in its own process) ----

# name -> (model, batch, dtype); "convnet" is the benchmark net of benchmarks/convnet_cifar10.py
# (without the random flips, so every step does the same work), "three-layer" the notebook's
# ThreeLayerConvNet as notebook 05 trains it (32 7x7 filters, hidden 500, batch 50).
NETS = {
    "convnet b64 f32": ("convnet", 64, "float32"),
    "convnet b128 f32": ("convnet", 128, "float32"),
    "three-layer 7x7 b50 f32": ("three-layer", 50, "float32"),
    "convnet b64 f64": ("convnet", 64, "float64"),
}


def net_layers(kind):
    """The layers of a net: ('conv', F, C, k, pool) and ('fc', D, M) tuples, input 3x32x32."""
    if kind == "convnet":
        return [("conv", 32, 3, 3, True), ("conv", 64, 32, 3, True), ("conv", 128, 64, 3, True),
                ("fc", 128 * 4 * 4, 256), ("fc", 256, 10)]  # fmt: skip
    return [("conv", 32, 3, 7, True), ("fc", 32 * 16 * 16, 500), ("fc", 500, 10)]


def layer_flops(kind, batch):
    """Forward and backward FLOPs of each layer; the first layer needs no dx (nor does torch's)."""
    size, rows = 32, []
    for i, layer in enumerate(net_layers(kind)):
        if layer[0] == "conv":
            _, F, C, k, pool = layer
            fwd = 2 * batch * F * size * size * C * k * k
            size //= 2 if pool else 1
        else:
            _, D, M = layer
            fwd = 2 * batch * D * M
        rows.append((fwd, fwd * (1 if i == 0 else 2)))
    return rows


def make_numpy_step(kind, batch, dtype):
    from cs231n_lib.classifiers.cnn import ConvNet, ThreeLayerConvNet

    dtype = np.dtype(dtype)
    if kind == "convnet":
        model = ConvNet(stages=((32,), (64,), (128,)), hidden_dims=(256,), reg=1e-4,
                        dtype=dtype, seed=0)  # fmt: skip
    else:
        model = ThreeLayerConvNet(num_filters=32, filter_size=7, hidden_dim=500, reg=1e-3,
                                  weight_scale=1e-2, dtype=dtype, seed=0)  # fmt: skip
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, 3, 32, 32)).astype(dtype)
    y = rng.integers(10, size=batch)
    return lambda: model.loss(X, y)


def make_torch_step(kind, batch, dtype):
    import torch
    from torch import nn

    torch.manual_seed(0)
    mods = []
    for layer in net_layers(kind):
        if layer[0] == "conv":
            _, F, C, k, pool = layer
            mods += [nn.Conv2d(C, F, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2)]
        else:
            if not any(isinstance(m, nn.Flatten) for m in mods):
                mods.append(nn.Flatten())
            mods += [nn.Linear(layer[1], layer[2]), nn.ReLU()]
    net = nn.Sequential(*mods[:-1]).to(getattr(torch, dtype))  # no ReLU after the scores
    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.standard_normal((batch, 3, 32, 32)).astype(dtype))
    y = torch.from_numpy(rng.integers(10, size=batch))

    def step():
        for p in net.parameters():
            p.grad = None
        loss = nn.functional.cross_entropy(net(X), y)
        loss.backward()

    return step


def torch_worker(name, threads):
    """Child process: build the torch step, then time `R` steps per line read from stdin."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    step = make_torch_step(*NETS[name])
    step()
    print(f"ready {torch.__version__} {torch.get_num_threads()}", flush=True)
    for line in sys.stdin:
        print(best(step, int(line)), flush=True)
    return 0


class TorchProcess:
    """A torch worker in its own process, so that its OpenMP threads never meet OpenBLAS's."""

    def __init__(self, name, threads):
        cmd = [sys.executable, __file__, "--torch-worker", name]
        if CLOCK is time.process_time:
            cmd.append("--cpu-time")
        if threads:
            cmd += ["--threads", str(threads)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)  # fmt: skip
        _, self.version, self.threads = self.proc.stdout.readline().split()

    def best(self, repeats):
        self.proc.stdin.write(f"{repeats}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def torch_available():
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except ImportError:
        return False


def step_table(names, rounds, threads, use_torch):
    """Ours vs torch per training step (forward + backward), alternated round by round."""
    print(f"\ntraining step (loss, forward + backward, no update): ours in this process, torch "
          f"in its own; {rounds} alternated rounds of 3 steps, best step; peak = a "
          f"{MATMUL}^3 matmul of the same dtype in the same rounds")  # fmt: skip
    header = (
        f"{'net':24s} {'ours ms':>8s} {'torch ms':>9s} {'torch/ours':>10s} "
        f"{'GFLOP':>6s} {'ours GFLOP/s':>12s} {'of peak':>8s} {'torch of peak':>13s}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for name in names:
        kind, batch, dtype = NETS[name]
        ours = make_numpy_step(kind, batch, dtype)
        peak = matmul_runner(np.dtype(dtype), layer_threads())
        worker = TorchProcess(name, threads) if use_torch else None
        ours(), peak()
        t_ours = t_torch = t_peak = np.inf
        for _ in range(rounds):  # alternated: every contender sees the same load
            t_ours = min(t_ours, best(ours, 3))
            t_peak = min(t_peak, best(peak, 1))
            if worker:
                t_torch = min(t_torch, worker.best(3))
        if worker:
            worker.close()
        total = sum(f + b for f, b in layer_flops(kind, batch))
        peak_gflops = 2 * MATMUL**3 / t_peak / 1e9
        gflops = total / t_ours / 1e9
        torch_frac = total / t_torch / 1e9 / peak_gflops
        print(f"{name:24s} {t_ours * 1e3:8.1f} {t_torch * 1e3:9.1f} {t_torch / t_ours:10.2f} "
              f"{total / 1e9:6.2f} {gflops:12.1f} {gflops / peak_gflops:8.2f} "
              f"{torch_frac:13.2f}   (peak {peak_gflops:.0f} GFLOP/s)", flush=True)  # fmt: skip
        results[name] = (t_ours, t_torch, peak_gflops)
    return results


class Breakdown:
    """Times each layer call of a net's loss and, inside it, the fast layers' building blocks.

    Wraps (in this process only) the sandwich functions that cs231n_lib.classifiers.cnn calls,
    and the matrix product, im2col, col2im and 2x2 pooling of cs231n_lib.fast_layers. The
    affine layers (cs231n_lib.layers, student code) are timed as a whole; their matrix products
    are replayed on the same shapes to split them.
    """

    PARTS = ("matmul", "im2col", "col2im", "pool")

    def __init__(self):
        from cs231n_lib import fast_layers
        from cs231n_lib.classifiers import cnn

        self.modules = {"cnn": cnn, "fast": fast_layers}
        self.saved = []
        self.current = None
        self.times = {}  # (layer, phase) -> {"total": s, "matmul": s, ...}
        self.order = []
        self.calls = {"forward": 0, "backward": 0}
        self.layers = 0
        for fn_name in ("conv_relu_pool_forward", "conv_relu_forward", "affine_relu_forward",
                        "affine_forward"):  # fmt: skip
            self._wrap(cnn, fn_name, self._layer("forward"))
        for fn_name in ("conv_relu_pool_backward", "conv_relu_backward", "affine_relu_backward",
                        "affine_backward"):  # fmt: skip
            self._wrap(cnn, fn_name, self._layer("backward"))
        for fn_name, part in (
            ("_matmul", "matmul"),
            ("im2col", "im2col"),
            ("im2col_pool_order", "im2col"),
            ("phase_planes", "im2col"),  # the pixel-major path's padded input
            ("im2col_pixel_major", "im2col"),
            ("col2im", "col2im"),
            ("col2im_pool_order", "col2im"),
            ("col2im_pixel_major", "col2im"),
            ("_pool2x2_forward", "pool"),
            ("_pool2x2_backward", "pool"),
            ("_pool_phases_forward", "pool"),
            ("_pool_phases_backward", "pool"),
        ):
            self._wrap(fast_layers, fn_name, self._part(part))
        from cs231n_lib import threads, winograd

        # Winograd's (cs231n_lib/winograd.py) 16 products, input transform and dx transform
        # count as the matrix product, "im2col" and "col2im" of the layers that take it.
        for fn_name, part in (("_products", "matmul"), ("tiles", "im2col"),
                              ("_tiles_backward", "col2im")):  # fmt: skip
            self._wrap(winograd, fn_name, self._part(part))

        self._wrap(threads, "split", self._count_regions)

    def _count_regions(self, fn, fn_name):
        """threads.split, counting the parallel regions (splits handed to other threads)."""
        from cs231n_lib import threads

        def counted(fn_part, n, size, min_size=None):
            limit = threads.MIN_SIZE if min_size is None else min_size
            dispatched = min(threads.THREADS, n) > 1 and size >= limit and not threads.nested()
            if dispatched and self.current is not None:
                self.current["regions"] += 1
            return fn(fn_part, n, size, min_size)

        return counted

    def _wrap(self, module, fn_name, make):
        fn = getattr(module, fn_name)
        self.saved.append((module, fn_name, fn))
        setattr(module, fn_name, make(fn, fn_name))

    def _layer(self, phase):
        def make(fn, fn_name):
            def timed(*args, **kwargs):
                if phase == "forward":
                    self.calls["forward"] += 1
                    index = self.calls["forward"]
                else:
                    index = self.layers - self.calls["backward"]
                    self.calls["backward"] += 1
                kind = "conv" if fn_name.startswith("conv") else "fc"
                key = (index, phase)
                if key not in self.times:
                    self.times[key] = dict.fromkeys(("total", *self.PARTS, "replayed"), 0.0)
                    self.times[key]["regions"] = 0
                    self.times[key]["name"] = kind
                self.current = self.times[key]
                start = CLOCK()
                result = fn(*args, **kwargs)
                self.current["total"] += CLOCK() - start
                if kind == "fc":
                    replay_start = CLOCK()
                    self.current["replayed"] += self._replay_affine(phase, args)
                    self.overhead += CLOCK() - replay_start
                self.current = None
                return result

            return timed

        return make

    def _part(self, part):
        def make(fn, fn_name):
            def timed(*args, **kwargs):
                start = CLOCK()
                result = fn(*args, **kwargs)
                if self.current is not None:
                    self.current[part] += CLOCK() - start
                return result

            return timed

        return make

    @staticmethod
    def _replay_affine(phase, args):
        """Best time of the affine layer's matrix products, replayed on the same arrays."""
        if phase == "forward":
            x, w = args[0], args[1]
            x2 = x.reshape(x.shape[0], -1)
            return best(lambda: x2 @ w, 3)
        dout, cache = args[0], args[1]
        fc_cache = cache[0] if isinstance(cache[0], tuple) else cache
        x, w = fc_cache[0], fc_cache[1]
        x2 = x.reshape(x.shape[0], -1)
        dout2 = np.asarray(dout).reshape(x.shape[0], -1)
        return best(lambda: (dout2 @ w.T, x2.T @ dout2), 3)

    def run(self, step, repeats):
        """Profile repeats steps; return the times of the fastest one and its wall time."""
        best_times, best_step = None, np.inf
        for _ in range(repeats):
            self.times, self.calls = {}, {"forward": 0, "backward": 0}
            self.overhead = 0.0
            start = CLOCK()
            step()
            elapsed = CLOCK() - start - self.overhead  # without the replays
            if elapsed < best_step:  # keep the fastest step whole, so its parts add up
                best_times, best_step = self.times, elapsed
        return best_times, best_step

    def restore(self):
        for module, fn_name, fn in reversed(self.saved):
            setattr(module, fn_name, fn)


def breakdown_table(name, repeats):
    """Per layer and phase: time in matrix products vs the rest, and the fraction of peak."""
    kind, batch, dtype = NETS[name]
    flops_rows = layer_flops(kind, batch)
    step = make_numpy_step(kind, batch, dtype)
    peak = matmul_runner(np.dtype(dtype), layer_threads())
    peak(), step()
    profiler = Breakdown()
    try:
        n_layers = len(net_layers(kind))

        def profiled_step():
            profiler.layers = n_layers
            step()

        times, t_step = profiler.run(profiled_step, repeats)
    finally:
        profiler.restore()
    t_peak = best(peak, 5)
    peak_gflops = 2 * MATMUL**3 / t_peak / 1e9
    print(f"\nbreakdown, {name} (best of {repeats} profiled steps; the timers add ~1%; "
          f"peak {peak_gflops:.0f} GFLOP/s measured right after):")  # fmt: skip
    print(
        "  (on the layers that take the Winograd path, im2col is its input transform and col2im "
        "its dx transform; FLOPs are the direct convolution's, for every layer and for torch)"
    )
    if layer_threads() > 1:
        print("  (with several layer threads, the parts of a layer are timed in every thread "
              "and added up, so they can sum to more than its ms; 'par' counts the parallel "
              "regions, splits handed to the other threads)")  # fmt: skip
    header = (f"{'layer':8s} {'phase':9s} {'ms':>7s} {'matmul':>7s} {'im2col':>7s} "
              f"{'col2im':>7s} {'pool':>6s} {'other':>6s} {'matmul%':>7s} {'GFLOP/s':>8s} "
              f"{'of peak':>7s} {'matmul of peak':>14s} {'par':>4s}")  # fmt: skip
    print(header)
    print("-" * len(header))
    sums = dict.fromkeys(("total", "matmul", "im2col", "col2im", "pool", "other"), 0.0)
    all_flops = regions = 0
    for index, phase in sorted(times, key=lambda k: (k[1] == "backward", k[0])):
        t = times[(index, phase)]
        fl = flops_rows[index - 1][0 if phase == "forward" else 1]
        mm = t["matmul"] if t["name"] == "conv" else min(t["replayed"], t["total"])
        other = t["total"] - mm - t["im2col"] - t["col2im"] - t["pool"]
        label = f"{t['name']}{index}" + ("*" if t["name"] == "fc" else "")
        print(f"{label:8s} {phase:9s} {t['total'] * 1e3:7.2f} {mm * 1e3:7.2f} "
              f"{t['im2col'] * 1e3:7.2f} {t['col2im'] * 1e3:7.2f} {t['pool'] * 1e3:6.2f} "
              f"{other * 1e3:6.2f} {mm / t['total']:7.0%} {fl / t['total'] / 1e9:8.1f} "
              f"{fl / t['total'] / 1e9 / peak_gflops:7.2f} "
              f"{fl / mm / 1e9 / peak_gflops if mm else float('nan'):14.2f} "
              f"{t['regions']:4d}")  # fmt: skip
        regions += t["regions"]
        for part, value in (
            ("total", t["total"]),
            ("matmul", mm),
            ("im2col", t["im2col"]),
            ("col2im", t["col2im"]),
            ("pool", t["pool"]),
            ("other", other),
        ):
            sums[part] += value
        all_flops += fl
    rest = t_step - sums["total"]
    print(f"{'layers':8s} {'all':9s} {sums['total'] * 1e3:7.2f} {sums['matmul'] * 1e3:7.2f} "
          f"{sums['im2col'] * 1e3:7.2f} {sums['col2im'] * 1e3:7.2f} {sums['pool'] * 1e3:6.2f} "
          f"{sums['other'] * 1e3:6.2f} {sums['matmul'] / sums['total']:7.0%} "
          f"{all_flops / sums['total'] / 1e9:8.1f} "
          f"{all_flops / sums['total'] / 1e9 / peak_gflops:7.2f} "
          f"{all_flops / sums['matmul'] / 1e9 / peak_gflops:14.2f} {regions:4d}")  # fmt: skip
    print(f"best profiled step {t_step * 1e3:.1f} ms; outside the layers (softmax, L2, "
          f"gradient sums): {rest * 1e3:.1f} ms.  * fc: matmul time replayed on the same "
          f"shapes (student layers are not instrumented)")  # fmt: skip


WINOGRAD_SHAPES = [  # (N, C, H, F): fused conv-relu-pool layers, 3x3 "same"
    (64, 4, 32, 32), (64, 8, 32, 32), (64, 16, 32, 16), (64, 16, 16, 32),
    (64, 32, 16, 64), (64, 64, 8, 128), (64, 128, 4, 256),
]  # fmt: skip


def winograd_table(rounds):
    """im2col against Winograd on one layer, one thread, CPU time: where the path pays."""
    from cs231n_lib import threads, winograd
    from cs231n_lib.fast_layers import conv_relu_pool_backward_fast, conv_relu_pool_forward_fast

    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    saved = threads.THREADS, winograd.MIN_CHANNELS, winograd.MIN_FILTERS, winograd.MIN_PIXELS
    threads.THREADS = 1
    print("\nfused conv-relu-pool layer, 3x3 'same', float32, forward + backward (with dx), one "
          f"thread, CPU time, best of {rounds} alternated rounds (load average "
          f"{os.getloadavg()[0]:.1f}):")  # fmt: skip
    header = (f"{'N':>4s} {'C':>4s} {'H=W':>4s} {'F':>4s} {'im2col ms':>10s} "
              f"{'Winograd ms':>12s} {'im2col/Winograd':>16s} {'taken':>6s}")  # fmt: skip
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    try:
        for N, C, H, F in WINOGRAD_SHAPES:
            x = rng.standard_normal((C, N, H, H)).astype(np.float32).transpose(1, 0, 2, 3)
            w = rng.standard_normal((F, C, 3, 3)).astype(np.float32)
            b = rng.standard_normal(F).astype(np.float32)

            def run(x=x, w=w, b=b):
                out, cache = conv_relu_pool_forward_fast(x, w, b, conv_param, pool_param)
                conv_relu_pool_backward_fast(np.ones_like(out), cache)

            t = {"im2col": np.inf, "winograd": np.inf}
            for _ in range(rounds):
                for name, minimum in (("im2col", 10**9), ("winograd", 1)):
                    winograd.MIN_CHANNELS = winograd.MIN_FILTERS = winograd.MIN_PIXELS = minimum
                    run()  # warm: this path's scratch buffers
                    start = time.process_time()
                    run()
                    t[name] = min(t[name], time.process_time() - start)
            winograd.MIN_CHANNELS, winograd.MIN_FILTERS, winograd.MIN_PIXELS = saved[1:]
            taken = winograd.applies((N, C, H, H), (F, C, 3, 3), 1, 1, np.float32)
            print(f"{N:4d} {C:4d} {H:4d} {F:4d} {t['im2col'] * 1e3:10.2f} "
                  f"{t['winograd'] * 1e3:12.2f} {t['im2col'] / t['winograd']:16.2f} "
                  f"{'yes' if taken else 'no':>6s}")  # fmt: skip
    finally:
        threads.THREADS, winograd.MIN_CHANNELS, winograd.MIN_FILTERS, winograd.MIN_PIXELS = saved
    print("(above 1: Winograd is faster; 'taken': the rule in cs231n_lib/winograd.py applies)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive layers")
    parser.add_argument("--no-malloc-tuning", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for torch and for the fast layers (default: all); BLAS gets one",
    )
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads with --threads (default 1)")  # fmt: skip
    parser.add_argument(
        "--step-only",
        action="store_true",
        help="only the training-step table and the per-layer breakdown",
    )
    parser.add_argument("--no-step", action="store_true", help="skip the training-step tables")
    parser.add_argument(
        "--nets",
        default=",".join(NETS),
        help=f"comma-separated nets for the step table, of: {', '.join(NETS)}",
    )
    parser.add_argument("--no-torch", action="store_true", help="leave torch out")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the process's CPU time instead of the wall clock: "
                        "steadier on a busy machine, meaningful with --threads 1")  # fmt: skip
    parser.add_argument("--winograd", action="store_true",
                        help="only the table of where Winograd's path pays, per layer")  # fmt: skip
    parser.add_argument("--torch-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cpu_time:
        global CLOCK
        CLOCK = time.process_time
    if args.torch_worker:
        return torch_worker(args.torch_worker, args.threads)
    rounds = 5 if args.quick else 20
    tuned = False if args.no_malloc_tuning else keep_freed_memory()
    if args.winograd:
        winograd_table(5 if args.quick else 15)
        return 0
    names = [n.strip() for n in args.nets.split(",") if n.strip()]
    unknown = [n for n in names if n not in NETS]
    if unknown:
        parser.error(f"unknown net(s) {unknown}; choose from {list(NETS)}")
    if not args.no_step:
        # First, before this process imports torch: torch runs in a child process here.
        use_torch = torch_available() and not args.no_torch
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; numpy "
              f"{np.__version__}, BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'all')}, "
              f"layer threads: {layer_threads()}; torch: "
              f"{'in a child process' if use_torch else 'not installed'}; malloc tuning: "
              f"{tuned}")  # fmt: skip
        step_table(names, 4 if args.quick else 10, args.threads, use_torch)
        for name in names:
            breakdown_table(name, 3 if args.quick else 8)
        print(f"load average after the step tables: {os.getloadavg()[0]:.1f}")
        if args.step_only:
            return 0
        print()
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
