"""Train a numpy convnet on the full CIFAR-10 within a wall-clock budget; report test accuracy.

    .venv/bin/python benchmarks/convnet_cifar10.py                 # 15 minutes, all included
    .venv/bin/python benchmarks/convnet_cifar10.py --minutes 2     # a quick look

Architecture (cs231n_lib.classifiers.cnn.ConvNet, the lecture's pattern
INPUT -> [[CONV -> RELU]*N -> POOL]*M -> [FC -> RELU]*K -> FC):

    [conv3x3x32-bn-relu-pool2x2] -> [conv3x3x64-bn-relu-pool2x2] -> [conv3x3x128-bn-relu-pool2x2]
    -> fc256-relu -> fc10 -> softmax

float32, He initialisation, spatial batch normalisation after every convolution (the fast
layers' own, ``cs231n_lib.fast_layers.spatial_batchnorm_forward_fast``; ``--no-batchnorm``
for the plain net), Adam (learning rate 2e-3, batch 64) with a cosine schedule over the
*time* budget (the learning rate reaches 0 when the budget is spent, however fast or busy the
machine is), L2 regularisation 1e-4, random left-right flips of the training images, and at
test time the average of the softmax scores of each image and its mirror (``--no-tta`` to
switch off). Data: the 49,000/1,000 train/val split of get_cifar10_data, mean image
subtracted and divided by the pixel standard deviation; the reported accuracy is on all
10,000 test images, measured once at the end. The wall time covers everything: loading,
training and evaluation: ``--minutes`` (default 15) is the budget for all of it, and training
gets what is left after loading and a measured reserve for the final test.

Threads: one BLAS thread and two threads for the fast layers' numpy passes by default. On
this shared 2-core machine two BLAS threads were 4-8x slower per step whenever other jobs
kept the cores busy (a BLAS thread that loses its core stalls its partner), while the layers'
threads work on independent channel blocks.
"""

from __future__ import annotations

import argparse
import ctypes
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=15.0,
        help="wall-time budget of everything: loading, training, testing",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--no-batchnorm", action="store_true", help="the plain net")
    parser.add_argument("--no-tta", action="store_true", help="no mirrored test images")
    parser.add_argument("--layer-threads", type=int, default=2,
                        help="threads for the fast layers' numpy passes (default 2)")  # fmt: skip
    parser.add_argument("--reg", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--no-malloc-tuning", action="store_true")
    args = parser.parse_args(argv)
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
    model = ConvNet(stages=((32,), (64,), (128,)), hidden_dims=(256,), reg=args.reg,
                    dtype=np.float32, flip=True, batchnorm=not args.no_batchnorm,
                    seed=args.seed)  # fmt: skip
    print(f"architecture: {model.describe()}")
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
    # Training gets what the budget leaves after loading and a reserve for the final test:
    # the time of one (warm) pass over the validation images, scaled to the test set (x2 with
    # the mirrors), plus the last validation pass, times 1.5, plus 10 s.
    probe_start = time.perf_counter()
    accuracy(X_val[:500], y_val[:500])  # warm up (first touches of the memory)
    probe = time.perf_counter()
    accuracy(X_val, y_val)
    probe = time.perf_counter() - probe
    reserve = probe * len(X_test) / len(X_val) * (1 if args.no_tta else 2)
    reserve = 1.5 * (reserve + probe) + 10.0  # + the last validation pass; a busy machine varies
    budget = args.minutes * 60.0 - (time.perf_counter() - start) - reserve
    if budget <= 0:
        raise SystemExit(
            f"no time left to train: loading took {probe_start - start:.0f} s and the final test "
            f"needs about {reserve:.0f} s (one validation pass took {probe:.1f} s) of the "
            f"{args.minutes:g}-minute budget; give more --minutes, or --no-tta"
        )
    print(f"training budget {budget:.0f} s (test reserve {reserve:.0f} s)")
    train_start, train_cpu_start = time.perf_counter(), time.process_time()
    epoch, iteration, done = 0, 0, False
    while not done:
        order = rng.permutation(len(X_train))
        losses = []
        for i in range(0, len(order) - args.batch_size + 1, args.batch_size):
            elapsed = time.perf_counter() - train_start
            if elapsed >= budget:
                done = True
                break
            lr = 0.5 * args.learning_rate * (1 + np.cos(np.pi * elapsed / budget))
            batch = order[i : i + args.batch_size]
            loss, grads = model.loss(X_train[batch], y_train[batch])
            losses.append(loss)
            for name, w in model.params.items():
                configs[name]["learning_rate"] = lr
                model.params[name], configs[name] = adam(w, grads[name], configs[name])
            iteration += 1
        epoch += len(losses) * args.batch_size / len(X_train)
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
