"""Best two-layer net on the full embedded CIFAR-10: validation and test accuracy, training time.

1. The final configuration (DEFAULT, LR_DECAY, EPOCHS below) trained on all 49,000 training
   images (1,000 validation, 1,000 test), with its wall time; the parameters of the best
   validation epoch are kept (Solver), and the table gives train (5k) / val / test accuracy.
2. Optional (--search): a small search, each setting trained for a few epochs on a subset of the
   training images, whose winner replaces DEFAULT for the final run.

Goal (issue 4, CS231n): validation accuracy >= 52%. Not a test: machines are shared and noisy.

    OPENBLAS_NUM_THREADS=1 python benchmarks/two_layer_net.py            # final run (~2-4 min)
    OPENBLAS_NUM_THREADS=1 python benchmarks/two_layer_net.py --search   # search first

History (embedded JPEG-75 copy, shared cores; all with seed 0, Adam, batch 200):
- H=500, lr 2e-4, reg 0, lr decay 0.95, 15 epochs: val 51.1%, test 53.3%; train acc 77%, the
  run overfits (the 3-epoch search on 10,000 images could not show that regularisation pays).
- Full-data runs, selected on validation (best epoch's val acc; +-1.5 points of noise):
    H=500,  lr 3e-4, reg 5e-3, decay 0.9,  8 epochs:  val 0.509
    H=500,  lr 2e-4, reg 1e-2, decay 0.85, 12 epochs: val 0.508
    H=1000, lr 2e-4, reg 1e-2, decay 0.85, 12 epochs: val 0.514
    H=1000, lr 2e-4, reg 5e-2, decay 0.85, 12 epochs: val 0.515 (test 0.553)
    H=500,  lr 2e-4, reg 3e-2, decay 0.85, 12 epochs: val 0.519  <- DEFAULT
  This script's default run (OPENBLAS_NUM_THREADS=1) reproduces it exactly: best epoch 11,
  train (5k) 0.708, val 0.519, test 0.546, training 101 s (8 s/epoch): 0.1 point under the goal.
  The same run by this script with OPENBLAS_NUM_THREADS=2 instead of 1 gave val 0.510,
  test 0.526 (best epoch 11, 164 s): float32 rounding changes with the BLAS thread count and the
  trajectory drifts, so same-seed runs differ by about a point.
  Regularisation (0.5 * reg * sum(W**2)) of 1e-2..5e-2 with a 0.85 per-epoch decay lifts the
  validation plateau to about 51-52%; the 52% goal sits at the edge of the noise.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from cifar_nets import final_accuracies, fit, load_data, machine, subset

from cs231n_lib.classifiers.two_layer_net import TwoLayerNet

# The final configuration: L2 regularisation and a faster per-epoch learning-rate decay against the
# overfitting of the unregularised run (train 77%, val 51.1% at 2e-4 / reg 0 / decay 0.95).
DEFAULT = {"hidden_dim": 500, "learning_rate": 2e-4, "reg": 3e-2}
LR_DECAY = 0.85  # per epoch
EPOCHS = 12
# Adam on raw (mean-subtracted, unscaled) pixels wants small steps: 1e-3 is noisy, 5e-4 worse.
SEARCH = {"hidden_dim": [500], "learning_rate": [1e-4, 2e-4], "reg": [0.0, 0.5]}


def train(data, hidden_dim, learning_rate, reg, *, num_epochs, seed=0, verbose=False):
    """Train one net with Adam; returns (net, solver, seconds)."""
    net = TwoLayerNet(
        hidden_dim=hidden_dim, weight_scale=1e-3, reg=reg, seed=seed, dtype=np.float32
    )
    solver, seconds = fit(
        net,
        data,
        learning_rate=learning_rate,
        lr_decay=LR_DECAY,
        batch_size=200,
        num_epochs=num_epochs,
        seed=seed,
        verbose=verbose,
    )
    return net, solver, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--search", action="store_true", help="run the (slow, short-run) search first"
    )
    parser.add_argument("--search-train", type=int, default=10000, help="images per search run")
    parser.add_argument("--search-epochs", type=float, default=3)
    parser.add_argument("--epochs", type=float, default=EPOCHS, help="epochs of the final run")
    args = parser.parse_args(argv)

    print(machine())
    data = load_data()

    best = dict(DEFAULT)
    if args.search:
        small = subset(data, args.search_train)
        print(
            f"\nsearch: {args.search_train} training images, {args.search_epochs:g} epochs each "
            f"(Adam, batch 200, lr decay {LR_DECAY:g})"
        )
        print(f"{'hidden':>6} {'lr':>8} {'reg':>6} | {'train acc':>9} {'val acc':>8} {'time':>7}")
        best_val = -1.0
        for hidden_dim, lr, reg in itertools.product(*SEARCH.values()):
            _, solver, seconds = train(small, hidden_dim, lr, reg, num_epochs=args.search_epochs)
            print(
                f"{hidden_dim:6d} {lr:8.0e} {reg:6.2f} | {solver.train_acc_history[-1]:9.3f} "
                f"{solver.best_val_acc:8.3f} {seconds:6.0f}s",
                flush=True,
            )
            if solver.best_val_acc > best_val:
                best_val = solver.best_val_acc
                best = {"hidden_dim": hidden_dim, "learning_rate": lr, "reg": reg}

    print(f"\nfinal run: {best}, {args.epochs:g} epochs on all 49,000 training images", flush=True)
    net, solver, seconds = train(data, **best, num_epochs=args.epochs, verbose=True)
    train_acc, val_acc, test_acc = final_accuracies(net, data)
    print()
    print("| configuration | train acc (5k) | val acc | test acc | training wall time |")
    print("|---|---|---|---|---|")
    print(
        f"| H={best['hidden_dim']}, Adam lr={best['learning_rate']:g}, reg={best['reg']:g}, "
        f"lr decay {LR_DECAY:g}/epoch, {args.epochs:g} epochs, batch 200, best epoch "
        f"{int(np.argmax(solver.val_acc_history))} | {train_acc:.3f} | {val_acc:.3f} | "
        f"{test_acc:.3f} | {seconds:.0f} s ({seconds / args.epochs:.0f} s/epoch) |"
    )
    goal = 0.52
    verdict = "meets" if val_acc >= goal else "falls short of"
    print(f"\nvalidation accuracy {val_acc:.1%} {verdict} the {goal:.0%} goal; test {test_acc:.1%}")


if __name__ == "__main__":
    main()
