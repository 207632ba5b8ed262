"""What the data modules share: class names, the data directory, checksums, atomic writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from cs231n_lib.atomic import atomic_file
from cs231n_lib.i18n import _

CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
"""The 10 CIFAR-10 class names; ``CLASSES[label]`` is the name of integer label 0..9."""

IMAGE_SHAPE: tuple[int, int, int] = (32, 32, 3)
"""(H, W, C) of one CIFAR-10 image as every loader returns it."""

DATA_DIR_ENV = "CS231N_DATA_DIR"
"""Environment variable that overrides the data directory."""

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository this package was loaded from (``cs231n_lib/..``)."""

DOWNLOAD_COMMAND = "python -m cs231n_lib.data download"


class DatasetError(RuntimeError):
    """A data file is missing or is not what it should be.

    The message names the file, says what is wrong (expected vs actual checksum or shape) and
    gives the command that fixes it.
    """


def data_dir() -> Path:
    """The directory that holds the data sets.

    ``$CS231N_DATA_DIR`` when that environment variable is set, else ``datasets/`` beside the
    package in this repository (``cs231n_lib/../datasets``). It holds the embedded JPEG copy
    ``cifar10-jpeg75.tar.gz``, its decoded cache ``cache/`` and, if downloaded, the official
    ``cifar-10-batches-py/``.
    """
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return REPO_ROOT / "datasets"


def display_path(path: Path | str) -> str:
    """``path`` relative to the repository root when it lies inside it, else absolute.

    Messages that notebooks print use this, so they read the same in every clone.
    """
    path = Path(path).absolute()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest (``"md5"`` or ``"sha256"``) of the file at ``path``."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, lambda: hashlib.new(algorithm, usedforsecurity=False))
    return digest.hexdigest()


def bytes_digest(data: bytes, algorithm: str) -> str:
    """Hex digest (``"md5"`` or ``"sha256"``) of ``data``."""
    return hashlib.new(algorithm, data, usedforsecurity=False).hexdigest()


def checksum_error(
    path: Path, algorithm: str, expected: str, actual: str, fix: str
) -> DatasetError:
    """The error for a file whose checksum is not the expected one."""
    return DatasetError(
        _(
            "{path}: {algorithm} mismatch: expected {expected}, got {actual}; the file is corrupt "
            "or not the expected one. {fix}"
        ).format(
            path=display_path(path), algorithm=algorithm, expected=expected, actual=actual, fix=fix
        )
    )


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` as .npy (no pickle) so that ``path`` is never half-written.

    The array goes to a temporary file in the same directory, is flushed to disk, and then
    replaces ``path`` in one ``os.replace``. A process killed at any moment leaves either the
    old file or the new one (and at worst a hidden ``.*.tmp`` file, never read).
    """
    with atomic_file(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
