"""The official CIFAR-10 "python version": md5-checked batches, read without trusting pickle.

``cifar-10-batches-py/`` holds ``data_batch_1`` ... ``data_batch_5``, ``test_batch`` and
``batches.meta``: pickled dicts (written by Python 2) whose ``data`` is a (10000, 3072) uint8
array, each row the 1024 red, then green, then blue values of a 32x32 image, and whose
``labels`` is a list of 10000 integers 0..9.

Every file's md5 is checked before any file is unpickled, and the bytes that were checked are
the bytes that are unpickled. The unpickler also accepts only the few NumPy names an array
needs, so even a file with a matching (injected) md5 cannot run arbitrary code.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from cs231n_lib.data._common import (
    CLASSES,
    DOWNLOAD_COMMAND,
    IMAGE_SHAPE,
    DatasetError,
    bytes_digest,
    checksum_error,
    data_dir,
    display_path,
    file_digest,
)
from cs231n_lib.i18n import _

OFFICIAL_DIRNAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
OFFICIAL_MD5S: Mapping[str, str] = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
"""md5 of each file of the official ``cifar-10-batches-py`` folder."""


def _fix() -> str:
    """What to run to replace a damaged official folder (in the student's language)."""
    return _("Run: {command} --force (it replaces the folder)").format(command=DOWNLOAD_COMMAND)


# The only globals a CIFAR-10 batch may reference: how NumPy (1.x or 2.x, protocol 2 or 5)
# rebuilds an array, and how Python 3 rebuilds bytes written by Python 2.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


def official_dir() -> Path:
    """The official batches folder :func:`load_cifar10` looks for, in :func:`data_dir`."""
    return data_dir() / OFFICIAL_DIRNAME


def verify_official(root: Path | str, *, md5s: Mapping[str, str] = OFFICIAL_MD5S) -> None:
    """Raise :class:`DatasetError` unless every official file is in ``root`` with its md5."""
    root = Path(root)
    for name, expected in _checked_md5s(md5s).items():
        path = root / name
        _require_file(path)
        actual = file_digest(path, "md5")
        if actual != expected:
            raise checksum_error(path, "md5", expected, actual, _fix())


def load_CIFAR10(
    root: Path | str, *, md5s: Mapping[str, str] = OFFICIAL_MD5S
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load the official CIFAR-10 python batches from ``root``, checking every md5 first.

    Parameters
    ----------
    root : path
        The ``cifar-10-batches-py`` folder.
    md5s : mapping of file name to md5, optional
        Expected md5 of each of the seven files; default the official values. (Tests inject
        the md5s of small batches they build.)

    Returns
    -------
    X_train : ndarray of uint8, shape (N_train, 32, 32, 3)
        ``data_batch_1`` ... ``data_batch_5`` in order (N_train = 50000 for the official data).
    y_train : ndarray of int64, shape (N_train,)
    X_test : ndarray of uint8, shape (N_test, 32, 32, 3)
        ``test_batch`` (N_test = 10000).
    y_test : ndarray of int64, shape (N_test,)

    Raises
    ------
    DatasetError
        A file is missing, has the wrong md5, is not a readable pickle, or holds arrays of
        the wrong shape; the message names the file and gives the command that fixes it.
    """
    root = Path(root)
    expected = _checked_md5s(md5s)
    blobs = {}
    for name in expected:  # read and check every file before unpickling any
        path = root / name
        _require_file(path)
        blobs[name] = path.read_bytes()
        actual = bytes_digest(blobs[name], "md5")
        if actual != expected[name]:
            raise checksum_error(path, "md5", expected[name], actual, _fix())
    _check_meta(_unpickle(blobs[META], root / META), root / META)
    train = [_batch_arrays(_unpickle(blobs[n], root / n), root / n) for n in TRAIN_BATCHES]
    X_test, y_test = _batch_arrays(
        _unpickle(blobs[TEST_BATCH], root / TEST_BATCH), root / TEST_BATCH
    )
    X_train = np.concatenate([X for X, _ in train])  # (N_train, 32, 32, 3)
    y_train = np.concatenate([y for _, y in train])  # (N_train,)
    return X_train, y_train, X_test, y_test


def _checked_md5s(md5s: Mapping[str, str]) -> dict[str, str]:
    missing = set(OFFICIAL_MD5S) - set(md5s)
    if missing:
        raise ValueError(
            _("md5s has no checksum for {missing}; every file read is checked").format(
                missing=sorted(missing)
            )
        )
    return {name: md5s[name].lower() for name in OFFICIAL_MD5S}


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(
            _("{path}: missing; the official CIFAR-10 folder must hold {files}. {fix}").format(
                path=display_path(path), files=", ".join(OFFICIAL_MD5S), fix=_fix()
            )
        )


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds dicts, lists, strings and NumPy arrays, and nothing else."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            _("refusing to load {module}.{name}").format(module=module, name=name)
        )


def _unpickle(blob: bytes, path: Path) -> dict:
    """Bytes of one batch file -> its dict, keys as str (``"data"``, ``"labels"``)."""
    try:
        obj = _ArraysOnlyUnpickler(io.BytesIO(blob), encoding="latin1").load()
    except Exception as e:  # a damaged pickle can raise almost anything
        raise DatasetError(
            _(
                "{path}: not a readable CIFAR-10 pickle ({error_type}: {error}); it is truncated "
                "or corrupt. {fix}"
            ).format(path=display_path(path), error_type=type(e).__name__, error=e, fix=_fix())
        ) from e
    if not isinstance(obj, dict):
        raise DatasetError(
            _("{path}: holds a {type}, expected a dict. {fix}").format(
                path=display_path(path), type=type(obj).__name__, fix=_fix()
            )
        )
    # Python 2 pickles read with latin1 give str keys; Python 3 pickles may have bytes keys.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _check_meta(meta: dict, path: Path) -> None:
    names = [n.decode("latin1") if isinstance(n, bytes) else n for n in meta.get("label_names", [])]
    if tuple(names) != CLASSES:
        raise DatasetError(
            _("{path}: label_names are {names}, expected {expected}. {fix}").format(
                path=display_path(path), names=names, expected=list(CLASSES), fix=_fix()
            )
        )


def _batch_arrays(batch: dict, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch dict -> X (N, 32, 32, 3) uint8 and y (N,) int64."""
    if "data" not in batch or "labels" not in batch:
        raise DatasetError(
            _("{path}: has keys {keys}, expected 'data' and 'labels'. {fix}").format(
                path=display_path(path), keys=sorted(batch), fix=_fix()
            )
        )
    data, labels = batch["data"], np.asarray(batch["labels"])
    H, W, C = IMAGE_SHAPE
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        got = f"{type(data).__name__} {getattr(data, 'shape', '')} {getattr(data, 'dtype', '')}"
        raise DatasetError(
            _("{path}: 'data' is {got}, expected a uint8 array of shape (N, {D}). {fix}").format(
                path=display_path(path), got=got.strip(), D=C * H * W, fix=_fix()
            )
        )
    N = data.shape[0]
    if data.shape != (N, C * H * W) or labels.shape != (N,):
        raise DatasetError(
            _(
                "{path}: 'data' has shape {data_shape} and 'labels' {labels_shape}, expected "
                "({N}, {D}) and ({N},). {fix}"
            ).format(
                path=display_path(path),
                data_shape=data.shape,
                labels_shape=labels.shape,
                N=N,
                D=C * H * W,
                fix=_fix(),
            )
        )
    if labels.dtype.kind not in "iu":
        raise DatasetError(
            _("{path}: 'labels' has dtype {dtype}, expected integers. {fix}").format(
                path=display_path(path), dtype=labels.dtype, fix=_fix()
            )
        )
    if N and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise DatasetError(
            _("{path}: labels range over {low}..{high}, expected 0..{last}. {fix}").format(
                path=display_path(path),
                low=labels.min(),
                high=labels.max(),
                last=len(CLASSES) - 1,
                fix=_fix(),
            )
        )
    X = data.reshape(N, C, H, W).transpose(0, 2, 3, 1)  # (N, 32, 32, 3)
    return np.ascontiguousarray(X), labels.astype(np.int64)
