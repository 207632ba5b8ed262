"""Train a numpy convnet on the full CIFAR-10 within a wall-clock budget; report test accuracy.

    .venv/bin/python benchmarks/convnet_cifar10.py                 # 15-minute budget
    .venv/bin/python benchmarks/convnet_cifar10.py --minutes 2     # a quick look

Architecture (cs231n_lib.classifiers.cnn.ConvNet, the lecture's pattern
INPUT -> [[CONV -> RELU]*N -> POOL]*M -> [FC -> RELU]*K -> FC):

    [conv3x3x32-relu-pool2x2] -> [conv3x3x64-relu-pool2x2] -> [conv3x3x128-relu-pool2x2]
    -> fc256-relu -> fc10 -> softmax

float32, He initialisation, Adam (learning rate 1e-3, batch 64) with a cosine schedule over
the *time* budget (the learning rate reaches 0 when the budget is spent, however fast the
machine is), L2 regularisation 1e-4, random left-right flips of the training images. Data:
the 49,000/1,000 train/val split of get_cifar10_data, mean image subtracted and divided by the
pixel standard deviation; the reported accuracy is on all 10,000 test images, measured once
at the end. The wall time covers everything: loading, training and evaluation.
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
    parser.add_argument("--minutes", type=float, default=14.0, help="training budget")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--reg", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--no-malloc-tuning", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        if "numpy" in sys.modules:
            raise RuntimeError("--threads must be set before numpy is imported")
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)
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
                    dtype=np.float32, flip=True, seed=args.seed)  # fmt: skip
    print(f"architecture: {model.describe()}")
    print(f"data loaded in {time.perf_counter() - start:.1f} s; BLAS threads: "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; malloc tuning: {tuned}; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip

    def accuracy(X, y):
        pred = [np.argmax(model.loss(X[i : i + 500]), axis=1) for i in range(0, len(X), 500)]
        return float(np.mean(np.concatenate(pred) == y))

    rng = np.random.default_rng(args.seed)
    configs = {name: {"learning_rate": args.learning_rate} for name in model.params}
    budget = args.minutes * 60.0
    train_start = time.perf_counter()
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
    test_acc = accuracy(X_test, y_test)
    total = time.perf_counter() - start
    print(f"\ntest accuracy {test_acc:.4f} on 10,000 images after {epoch:.2f} epochs "
          f"({iteration} iterations); training {train_time / 60:.1f} min; total wall time "
          f"{total / 60:.1f} min; {os.cpu_count()} cores")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
