"""What notebooks call: load CIFAR-10 from the best source, split it, subsample it."""

from __future__ import annotations

import operator
import warnings
from pathlib import Path

import numpy as np

from cs231n_lib.data._common import DatasetError
from cs231n_lib.data.embedded import EmbeddedArchive, load_embedded
from cs231n_lib.data.official import OFFICIAL_DIRNAME, load_CIFAR10, official_dir
from cs231n_lib.i18n import _

NUM_TRAIN = 50_000
NUM_TEST = 10_000


def load_cifar10(
    root: Path | str | None = None, *, verbose: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load all of CIFAR-10: the official batches if present and verified, else the embedded copy.

    Prints one line saying which source was used, e.g.
    ``CIFAR-10: embedded JPEG-75 copy (cifar10-jpeg75.tar.gz), 50000 train / 10000 test``.

    Parameters
    ----------
    root : path, optional
        The official ``cifar-10-batches-py`` folder (or a folder containing it). When given,
        it must be there and verify, or :class:`DatasetError` is raised. Default:
        ``datasets/cifar-10-batches-py`` (``$CS231N_DATA_DIR/cifar-10-batches-py`` when that
        variable is set), used when present; if it is present but fails its md5 check, a
        warning says why and the embedded copy is used.
    verbose : bool
        Print the line naming the source.

    Returns
    -------
    X_train : ndarray of uint8, shape (50000, 32, 32, 3)
    y_train : ndarray of int64, shape (50000,)
        Labels 0..9; ``CLASSES[y]`` names them.
    X_test : ndarray of uint8, shape (10000, 32, 32, 3)
    y_test : ndarray of int64, shape (10000,)

    Notes
    -----
    The official batches keep their own order. The embedded copy is put into one fixed
    pseudo-random order per split (see :mod:`cs231n_lib.data.embedded`), so contiguous slices
    such as the first 49000 training images are mixed across classes either way.
    """
    arrays, source = None, None
    folder = _official_folder(root)
    if root is not None or folder.exists():
        try:
            arrays = load_CIFAR10(folder)
            source = _("official python batches ({folder})").format(folder=folder.name)
        except DatasetError as e:
            if root is not None:
                raise
            warnings.warn(
                _("{error}\nUsing the embedded JPEG-75 copy instead.").format(error=e), stacklevel=2
            )
    if arrays is None:
        archive = EmbeddedArchive.default()
        arrays = load_embedded(archive)
        # The file name only: the same line wherever the data lives (a clone, a student's
        # release, the grader's workspace), so notebook outputs compare equal.
        source = _("embedded JPEG-75 copy ({file})").format(file=archive.path.name)
    if verbose:
        print(
            _("CIFAR-10: {source}, {train} train / {test} test").format(
                source=source, train=len(arrays[1]), test=len(arrays[3])
            )
        )
    return arrays


def _official_folder(root: Path | str | None) -> Path:
    if root is None:
        return official_dir()
    root = Path(root)
    return root / OFFICIAL_DIRNAME if (root / OFFICIAL_DIRNAME).is_dir() else root


def get_cifar10_data(
    num_training=49000,
    num_validation=1000,
    num_test=1000,
    num_dev=0,
    subtract_mean=True,
    channels_first=True,
    dtype=np.float64,
    seed=None,
):
    """Load CIFAR-10 and split it as CS231n does, as floats ready for a classifier.

    train = the first ``num_training`` training images, val = the next ``num_validation``,
    test = the first ``num_test`` test images, dev = ``num_dev`` training images drawn
    without replacement with ``np.random.default_rng(seed)``.

    Parameters
    ----------
    num_training, num_validation : int
        Sizes of the train and val splits; together at most 50000.
    num_test : int
        Size of the test split, at most 10000.
    num_dev : int
        Size of the dev subset of the training split (0: none), at most ``num_training``.
    subtract_mean : bool
        Subtract the mean training image from every split.
    channels_first : bool
        True: images as (N, 3, 32, 32), as the two-layer and conv-net notebooks expect.
        False: (N, 32, 32, 3).
    dtype : floating dtype
        dtype of the image arrays.
    seed : int or None
        Seed of the dev subset.

    Returns
    -------
    dict
        ``X_train`` (num_training, 3, 32, 32), ``y_train`` (num_training,) int64, and likewise
        ``X_val``/``y_val``, ``X_test``/``y_test``, ``X_dev``/``y_dev`` (only when
        ``num_dev > 0``); images (N, 32, 32, 3) when ``channels_first`` is False.
        ``mean_image`` (32, 32, 3) of ``dtype``: the mean training image (subtracted from
        every split when ``subtract_mean``).
    """
    num_training, num_validation, num_test, num_dev = _check_sizes(
        num_training, num_validation, num_test, num_dev
    )
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(
            _("dtype must be a floating type such as np.float64, got {dtype}").format(dtype=dtype)
        )
    X_all, y_all, X_test_all, y_test_all = load_cifar10()
    splits = {
        "train": (X_all[:num_training], y_all[:num_training]),
        "val": (
            X_all[num_training : num_training + num_validation],
            y_all[num_training : num_training + num_validation],
        ),
        "test": (X_test_all[:num_test], y_test_all[:num_test]),
    }
    if num_dev > 0:
        dev = np.random.default_rng(seed).choice(num_training, num_dev, replace=False)  # (num_dev,)
        splits["dev"] = (X_all[dev], y_all[dev])
    mean_image = X_all[:num_training].mean(axis=0, dtype=np.float64).astype(dtype)  # (32, 32, 3)
    if channels_first:
        layout, mean = (0, 3, 1, 2), mean_image.transpose(2, 0, 1)  # (N, 3, 32, 32), (3, 32, 32)
    else:
        layout, mean = (0, 1, 2, 3), mean_image  # (N, 32, 32, 3), (32, 32, 3)
    data = {}
    for name, (X, y) in splits.items():
        X = np.array(X.transpose(layout), dtype=dtype, order="C")  # a new array, one copy
        if subtract_mean:
            X -= mean
        data[f"X_{name}"] = X
        data[f"y_{name}"] = y.astype(np.int64)
    data["mean_image"] = mean_image
    return data


def _check_sizes(num_training, num_validation, num_test, num_dev) -> tuple[int, int, int, int]:
    sizes = {
        "num_training": num_training,
        "num_validation": num_validation,
        "num_test": num_test,
        "num_dev": num_dev,
    }
    for name, value in sizes.items():
        try:
            sizes[name] = operator.index(value)
        except TypeError:
            raise TypeError(
                _("{name} must be an int, got {value!r}").format(name=name, value=value)
            ) from None
        if sizes[name] < 0:
            raise ValueError(_("{name} must be >= 0, got {value}").format(name=name, value=value))
    num_training, num_validation, num_test, num_dev = sizes.values()
    if num_training < 1:
        raise ValueError(_("num_training must be at least 1 (the mean image is taken over it)"))
    if num_training + num_validation > NUM_TRAIN:
        raise ValueError(
            _(
                "num_training + num_validation = {train} + {val} = {total}, but CIFAR-10 has only "
                "{available} training images"
            ).format(
                train=num_training,
                val=num_validation,
                total=num_training + num_validation,
                available=NUM_TRAIN,
            )
        )
    if num_test > NUM_TEST:
        raise ValueError(
            _("num_test = {num_test}, but CIFAR-10 has only {available} test images").format(
                num_test=num_test, available=NUM_TEST
            )
        )
    if num_dev > num_training:
        raise ValueError(
            _(
                "num_dev = {num_dev} > num_training = {num_training}; the dev set is drawn from "
                "the training split"
            ).format(num_dev=num_dev, num_training=num_training)
        )
    return num_training, num_validation, num_test, num_dev


def subsample_knn(X_train, y_train, X_test, y_test, num_training=5000, num_test=500, seed=None):
    """Subsample CIFAR-10 for the kNN assignment (CS231n: 5000 train / 500 test).

    Parameters
    ----------
    X_train : ndarray, shape (N_train, ...)
    y_train : ndarray, shape (N_train,)
    X_test : ndarray, shape (N_test, ...)
    y_test : ndarray, shape (N_test,)
    num_training, num_test : int
        How many training and test examples to keep.
    seed : int or None
        None: keep the first ``num_training`` / ``num_test`` (the CS231n protocol). An int:
        a random subsample without replacement drawn from ``np.random.default_rng(seed)``
        (training indices first, then test indices).

    Returns
    -------
    X_train : ndarray, shape (num_training, ...)
    y_train : ndarray, shape (num_training,)
    X_test : ndarray, shape (num_test, ...)
    y_test : ndarray, shape (num_test,)
        Copies: changing them never changes the inputs.
    """
    train_idx = _subsample(len(X_train), len(y_train), num_training, "train")
    test_idx = _subsample(len(X_test), len(y_test), num_test, "test")
    if seed is not None:
        rng = np.random.default_rng(seed)
        train_idx = rng.choice(len(X_train), num_training, replace=False)  # (num_training,)
        test_idx = rng.choice(len(X_test), num_test, replace=False)  # (num_test,)
    return X_train[train_idx], y_train[train_idx], X_test[test_idx], y_test[test_idx]


def _subsample(num_x: int, num_y: int, wanted, split: str) -> np.ndarray:
    """Check one split's sizes; the indices of its first ``wanted`` examples."""
    if num_x != num_y:
        raise ValueError(
            _("X_{split} has {num_x} examples but y_{split} has {num_y}").format(
                split=split, num_x=num_x, num_y=num_y
            )
        )
    name = "num_training" if split == "train" else "num_test"
    wanted = operator.index(wanted)
    if not 0 <= wanted <= num_x:
        raise ValueError(
            _("{name} = {wanted}, but X_{split} has only {num_x} examples").format(
                name=name, wanted=wanted, split=split, num_x=num_x
            )
        )
    return np.arange(wanted)
