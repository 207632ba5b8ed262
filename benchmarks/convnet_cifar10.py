"""Train a numpy convnet on the full CIFAR-10 within a wall-clock budget; report test accuracy.

    .venv/bin/python benchmarks/convnet_cifar10.py                 # 15 minutes, all included
    .venv/bin/python benchmarks/convnet_cifar10.py --minutes 2     # a quick look
    .venv/bin/python benchmarks/convnet_cifar10.py --epochs 7      # 7 epochs, however long

Architecture (cs231n_lib.classifiers.cnn.ConvNet, the lecture's pattern
INPUT -> [[CONV -> RELU]*N -> POOL]*M -> [FC -> RELU]*K -> FC):

    [conv3x3x32-bn-relu-pool2x2] -> [conv3x3x64-bn-relu-pool2x2] -> [conv3x3x128-bn-relu-pool2x2]
    -> fc256-relu -> fc10 -> softmax

(``--width W`` for W, 2W, 4W filters and 8W hidden units.) float32, He initialisation,
spatial batch normalisation after every convolution (the fast layers' own,
``cs231n_lib.fast_layers.spatial_batchnorm_forward_fast``; ``--no-batchnorm`` for the plain
net), Adam (peak learning rate 2e-3, batch 64) with a linear warm-up over the first 15 % of
the training (``--warmup``) and then a cosine decay to 0 at the end, L2 regularisation 1e-4,
label smoothing 0.1 (``--label-smoothing``), random left-right flips and random shifts of up
to 2 pixels (``--translate``, zeros filling in) of the training images, and at test time the
average of the softmax scores of each image and its mirror (``--no-tta`` to switch off).
``--warmup 0 --translate 0 --label-smoothing 0`` is the earlier recipe. Data: the
49,000/1,000 train/val split of get_cifar10_data, mean image subtracted and divided by the
pixel standard deviation; the reported accuracy is on all 10,000 test images, measured once
at the end.

Two ways to say how long to train:

- by default, a wall-clock budget: ``--minutes`` (default 15) covers everything, loading,
  training and the final test, and training gets what is left after loading and a measured
  reserve for the test. The schedule runs over the *time* budget, so the learning rate reaches
  0 when the budget is spent, however fast or busy the machine is; how many epochs that buys
  depends on the machine and on its load.
- ``--epochs E``: exactly E epochs, the schedule over the iterations, no time limit. Accuracy
  after E epochs does not depend on the machine or its load (the layers give bit for bit the
  same results with any number of threads), so recipes can be compared on a busy machine.

Threads: one BLAS thread and two threads for the fast layers by default (``--threads``,
``--layer-threads``). The layers' threads share the numpy passes and the large matrix
products (cut into fixed blocks, each one single-threaded BLAS product, see
``cs231n_lib.fast_layers._matmul``). On this shared 2-core machine two BLAS threads were 4-8x
slower per step whenever other jobs kept the cores busy (a BLAS thread that loses its core
stalls its partner, which spins waiting); a layer thread that loses its core only delays its
own block.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import os
import sys
import time


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS.

    Every layer allocates arrays of tens of MB and frees them again; by default glibc returns
    such blocks to the OS and the next allocation page-faults them back in, which on this
    virtual machine costs as much as the arithmetic. Same effect as the environment variables
    MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_. Returns False where glibc is missing.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    ok = libc.mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # the largest glibc accepts
    ok &= libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    return bool(ok)


def learning_rate_at(progress, peak, warmup):
    """The learning rate after ``progress`` (0 to 1) of the training: a linear warm-up from 0
    to ``peak`` over the first ``warmup`` of it, then a cosine decay to 0 at the end."""
    if progress < warmup:
        return peak * progress / warmup
    rest = (progress - warmup) / (1.0 - warmup)
    return 0.5 * peak * (1.0 + math.cos(math.pi * min(rest, 1.0)))


def random_translate(X, pad, rng):
    """Each image of X (N, C, H, W) shifted by its own random (dy, dx) in [-pad, pad]², the
    border filled with zeros (the mean image, since the inputs are mean-subtracted)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    if pad == 0:
        return X
    N, C, H, W = X.shape
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=X.dtype)
    padded[:, :, pad : pad + H, pad : pad + W] = X
    windows = sliding_window_view(padded, (H, W), axis=(2, 3))  # (N, C, 2p+1, 2p+1, H, W)
    dy, dx = rng.integers(0, 2 * pad + 1, size=(2, N))
    return windows[np.arange(N), :, dy, dx]  # (N, C, H, W), one copy


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=15.0,
        help="wall-time budget of everything: loading, training, testing",
    )
    parser.add_argument(
        "--epochs",
        type=float,
        default=None,
        help="train exactly this many epochs instead, the schedule over the iterations "
        "(no time budget): accuracy by epochs does not depend on how busy the machine is",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="peak (Adam)")
    parser.add_argument("--warmup", type=float, default=0.15,
                        help="fraction of the training spent warming up linearly")  # fmt: skip
    parser.add_argument("--translate", type=int, default=2,
                        help="random shifts of up to this many pixels (0: none)")  # fmt: skip
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--width", type=int, default=32, help="filters of the first conv")
    parser.add_argument("--no-batchnorm", action="store_true", help="the plain net")
    parser.add_argument("--no-tta", action="store_true", help="no mirrored test images")
    parser.add_argument("--layer-threads", type=int, default=2,
                        help="threads for the fast layers' numpy passes (default 2)")  # fmt: skip
    parser.add_argument("--reg", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--no-malloc-tuning", action="store_true")
    args = parser.parse_args(argv)
    if not 0 <= args.warmup < 1:
        parser.error(f"--warmup must be in [0, 1), got {args.warmup}")
    if args.epochs is not None and args.epochs <= 0:
        parser.error(f"--epochs must be positive, got {args.epochs}")
    if args.threads:
        if "numpy" in sys.modules:
            raise RuntimeError("--threads must be set before numpy is imported")
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["CS231N_NUM_THREADS"] = str(args.layer_threads)
    start = time.perf_counter()
    tuned = False if args.no_malloc_tuning else keep_freed_memory()

    import numpy as np

    from cs231n_lib.classifiers.cnn import ConvNet
    from cs231n_lib.data import get_cifar10_data
    from cs231n_lib.optim import adam

    data = get_cifar10_data(num_training=49000, num_validation=1000, num_test=10000,
                            dtype=np.float32)  # fmt: skip
    scale = float(data["X_train"].std())
    X_train, y_train = data["X_train"] / scale, data["y_train"]
    X_val, y_val = data["X_val"] / scale, data["y_val"]
    X_test, y_test = data["X_test"] / scale, data["y_test"]
    w = args.width
    model = ConvNet(stages=((w,), (2 * w,), (4 * w,)), hidden_dims=(8 * w,), reg=args.reg,
                    dtype=np.float32, flip=True, batchnorm=not args.no_batchnorm,
                    label_smoothing=args.label_smoothing, seed=args.seed)  # fmt: skip
    print(f"architecture: {model.describe()}")
    print(f"recipe: Adam, peak learning rate {args.learning_rate:g}, warm-up {args.warmup:g}, "
          f"cosine decay to 0 over the {'epochs' if args.epochs else 'time budget'}; batch "
          f"{args.batch_size}; L2 {args.reg:g}; flips, shifts of up to {args.translate} px; "
          f"label smoothing {args.label_smoothing:g}; "
          f"{'no mirrored test' if args.no_tta else 'mirrored test images'}")  # fmt: skip
    print(f"data loaded in {time.perf_counter() - start:.1f} s; BLAS threads: "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; layer threads: "
          f"{args.layer_threads}; malloc tuning: {tuned}; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip

    def softmax(scores):
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def accuracy(X, y, tta=False):
        pred = []
        for i in range(0, len(X), 500):
            probs = softmax(model.loss(X[i : i + 500]))
            if tta:  # and the mirror image
                probs += softmax(model.loss(X[i : i + 500, :, :, ::-1]))
            pred.append(np.argmax(probs, axis=1))
        return float(np.mean(np.concatenate(pred) == y))

    rng = np.random.default_rng(args.seed)
    configs = {name: {"learning_rate": args.learning_rate} for name in model.params}
    steps_per_epoch = len(X_train) // args.batch_size
    if args.epochs is not None:  # a fixed number of iterations; the schedule runs over them
        total_steps = max(1, round(args.epochs * steps_per_epoch))
        budget = math.inf
        print(f"training {args.epochs:g} epochs ({total_steps} iterations), no time budget")
    else:
        # Training gets what the budget leaves after loading and a reserve for the final test:
        # the time of one (warm) pass over the validation images, scaled to the test set (x2
        # with the mirrors), plus the last validation pass, times 1.5, plus 10 s.
        total_steps = None
        probe_start = time.perf_counter()
        accuracy(X_val[:500], y_val[:500])  # warm up (first touches of the memory)
        probe = time.perf_counter()
        accuracy(X_val, y_val)
        probe = time.perf_counter() - probe
        reserve = probe * len(X_test) / len(X_val) * (1 if args.no_tta else 2)
        reserve = 1.5 * (reserve + probe) + 10.0  # + the last val pass; a busy machine varies
        budget = args.minutes * 60.0 - (time.perf_counter() - start) - reserve
        if budget <= 0:
            raise SystemExit(
                f"no time left to train: loading took {probe_start - start:.0f} s and the final "
                f"test needs about {reserve:.0f} s (one validation pass took {probe:.1f} s) of "
                f"the {args.minutes:g}-minute budget; give more --minutes, or --no-tta"
            )
        print(f"training budget {budget:.0f} s (test reserve {reserve:.0f} s)")
    train_start, train_cpu_start = time.perf_counter(), time.process_time()
    epoch, iteration, done = 0, 0, False
    while not done:
        order = rng.permutation(len(X_train))
        losses = []
        for i in range(0, len(order) - args.batch_size + 1, args.batch_size):
            elapsed = time.perf_counter() - train_start
            if total_steps is None:
                progress = elapsed / budget
            else:
                progress = iteration / total_steps
            if progress >= 1:
                done = True
                break
            lr = learning_rate_at(progress, args.learning_rate, args.warmup)
            batch = order[i : i + args.batch_size]
            X_batch = random_translate(X_train[batch], args.translate, rng)
            loss, grads = model.loss(X_batch, y_train[batch])
            losses.append(loss)
            for name, w in model.params.items():
                configs[name]["learning_rate"] = lr
                model.params[name], configs[name] = adam(w, grads[name], configs[name])
            iteration += 1
        epoch += len(losses) * args.batch_size / len(X_train)
        if losses:
            print(f"epoch {epoch:5.2f}  iteration {iteration:5d}  "
                  f"{time.perf_counter() - train_start:6.0f} s  loss {np.mean(losses):.3f}  "
                  f"val acc {accuracy(X_val, y_val):.3f}  load {os.getloadavg()[0]:.1f}",
                  flush=True)  # fmt: skip
    train_time = time.perf_counter() - train_start
    train_cpu = time.process_time() - train_cpu_start
    test_acc = accuracy(X_test, y_test, tta=not args.no_tta)
    total = time.perf_counter() - start
    mirrors = "" if args.no_tta else " (scores averaged with the mirror images)"
    print(f"\ntest accuracy {test_acc:.4f} on 10,000 images{mirrors} after {epoch:.2f} epochs "
          f"({iteration} iterations); training {train_time / 60:.1f} min; total wall time "
          f"{total / 60:.1f} min; {os.cpu_count()} cores; load average at the end "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    # What the machine gave: on a shared machine the wall-clock budget buys fewer steps.
    per_step = train_cpu / max(iteration, 1)
    print(f"training used {train_cpu:.0f} s of CPU in {train_time:.0f} s of wall time "
          f"({train_cpu / train_time:.2f} cores); {per_step * 1e3:.0f} ms of CPU and "
          f"{train_time / max(iteration, 1) * 1e3:.0f} ms of wall time per step")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
