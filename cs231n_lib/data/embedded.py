"""The embedded CIFAR-10 copy: a JPEG-75 archive in the repository, decoded once and cached.

``datasets/cifar10-jpeg75.tar.gz`` holds all 60,000 images as 32x32 JPEG files laid out as
``train/<class>/<NNNN>.jpg`` and ``test/<class>/<NNNN>.jpg`` (see ``datasets/README.md``).
:func:`load_embedded` checks the archive's sha256, decodes it with Pillow and caches the
arrays as .npy files in ``datasets/cache/<stem>-<sha256[:16]>-v<CACHE_VERSION>/``, so a changed
archive gets a new cache and later loads only read four .npy files.

Image order. The archive is sorted by class, and CS231n takes contiguous slices (the first
49,000 training images for training, the next 1,000 for validation). So each split is first
sorted by (label, file name) and then put into one fixed pseudo-random order:
``np.random.RandomState(ORDER_SEED).permutation(N)``, with ``ORDER_SEED = 231``. NumPy keeps
the ``RandomState`` stream frozen, so the order is the same with every NumPy version.
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from cs231n_lib.data._common import (
    CLASSES,
    IMAGE_SHAPE,
    DatasetError,
    checksum_error,
    data_dir,
    display_path,
    file_digest,
    save_npy_atomic,
)
from cs231n_lib.i18n import _

EMBEDDED_NAME = "cifar10-jpeg75.tar.gz"
EMBEDDED_SHA256 = "45b041e867f5a40f79bfde38d3dd1fd511103d50068c1afecf6445e25234d4db"
ORDER_SEED = 231
"""Seed of the fixed permutation applied to each split of the embedded copy."""
CACHE_VERSION = 1
"""Bump when decoding or ordering changes, so that old caches are rebuilt."""

_SPLITS = ("train", "test")
_CACHE_ARRAYS = ("X_train", "y_train", "X_test", "y_test")
_CACHE_NAME = re.compile(r"(?P<stem>.+)-[0-9a-f]{16}-v\d+")  # see EmbeddedArchive.cache_folder

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class EmbeddedArchive:
    """Where a JPEG archive is and what it must contain.

    Attributes
    ----------
    path : Path
        The ``.tar.gz`` file.
    sha256 : str
        Its expected sha256; the archive is refused if it differs, and the cache is keyed by it.
    num_train, num_test : int
        How many images ``train/`` and ``test/`` must hold.
    """

    path: Path
    sha256: str = EMBEDDED_SHA256
    num_train: int = 50_000
    num_test: int = 10_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        object.__setattr__(self, "sha256", self.sha256.lower())

    @classmethod
    def default(cls) -> EmbeddedArchive:
        """The course's archive: ``data_dir() / "cifar10-jpeg75.tar.gz"``."""
        return cls(data_dir() / EMBEDDED_NAME)

    @property
    def fix(self) -> str:
        """What to run to get a good copy of the archive back."""
        return _("Restore it: git checkout -- {path}").format(path=display_path(self.path))

    def cache_folder(self, cache_dir: Path) -> Path:
        """The cache folder of this archive's content inside ``cache_dir``."""
        return cache_dir / f"{_stem(self.path)}-{self.sha256[:16]}-v{CACHE_VERSION}"


def load_embedded(
    archive: EmbeddedArchive | None = None, *, cache_dir: Path | str | None = None
) -> Arrays:
    """Load the embedded JPEG copy of CIFAR-10, decoding it only when no valid cache exists.

    Parameters
    ----------
    archive : EmbeddedArchive, optional
        Default :meth:`EmbeddedArchive.default`: ``datasets/cifar10-jpeg75.tar.gz`` beside the
        package, or in ``$CS231N_DATA_DIR`` when that is set.
    cache_dir : path, optional
        Where decoded arrays are cached. Default: ``cache/`` beside the archive.

    Returns
    -------
    X_train : ndarray of uint8, shape (num_train, 32, 32, 3)
    y_train : ndarray of int64, shape (num_train,)
        Labels 0..9 in the order of ``CLASSES``.
    X_test : ndarray of uint8, shape (num_test, 32, 32, 3)
    y_test : ndarray of int64, shape (num_test,)

    Raises
    ------
    DatasetError
        The archive is missing, its sha256 is not the expected one, or it cannot be decoded.
    """
    archive = archive or EmbeddedArchive.default()
    cache_dir = Path(cache_dir) if cache_dir is not None else archive.path.parent / "cache"
    verify_archive(archive)
    folder = archive.cache_folder(cache_dir)
    arrays = read_cache(folder, archive)
    if arrays is None:
        arrays = decode_archive(archive)
        write_cache(folder, arrays)
    return arrays


def verify_archive(archive: EmbeddedArchive) -> None:
    """Raise :class:`DatasetError` unless the archive exists and has the expected sha256."""
    if not archive.path.is_file():
        raise DatasetError(
            _("{path}: the embedded CIFAR-10 copy is missing. {fix}").format(
                path=display_path(archive.path), fix=archive.fix
            )
        )
    actual = file_digest(archive.path, "sha256")
    if actual != archive.sha256:
        raise checksum_error(archive.path, "sha256", archive.sha256, actual, archive.fix)


def decode_archive(archive: EmbeddedArchive) -> Arrays:
    """Decode every JPEG of the archive (no checksum check, no cache) into arrays.

    Returns the four arrays of :func:`load_embedded`, each split in the fixed order described
    in the module docstring.
    """
    found: dict[str, list[tuple[int, str, np.ndarray]]] = {split: [] for split in _SPLITS}
    try:
        with tarfile.open(archive.path, "r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                split, label, name = _parse_member(member, archive)
                data = tar.extractfile(member).read()
                found[split].append((label, name, _decode_jpeg(data, member.name, archive)))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DatasetError(
            _(
                "{path}: cannot read the archive ({error_type}: {error}); it is truncated or "
                "corrupt. {fix}"
            ).format(
                path=display_path(archive.path),
                error_type=type(e).__name__,
                error=e,
                fix=archive.fix,
            )
        ) from e
    X_train, y_train = _assemble(found["train"], archive.num_train, "train", archive)
    X_test, y_test = _assemble(found["test"], archive.num_test, "test", archive)
    return X_train, y_train, X_test, y_test


def _stem(path: Path) -> str:
    return path.name.split(".")[0]


def _parse_member(member: tarfile.TarInfo, archive: EmbeddedArchive) -> tuple[str, int, str]:
    """``train/cat/0042.jpg`` -> ("train", 3, "0042.jpg")."""
    parts = [p for p in PurePosixPath(member.name).parts if p != "."]
    if (
        not member.isfile()
        or len(parts) != 3
        or parts[0] not in _SPLITS
        or parts[1] not in CLASSES
        or not parts[2].endswith(".jpg")
    ):
        raise DatasetError(
            _(
                "{path}: unexpected member {member!r}; the archive must hold only files named "
                "train/<class>/<name>.jpg and test/<class>/<name>.jpg with <class> one of "
                "{classes}. {fix}"
            ).format(
                path=display_path(archive.path),
                member=member.name,
                classes=", ".join(CLASSES),
                fix=archive.fix,
            )
        )
    return parts[0], CLASSES.index(parts[1]), parts[2]


def _decode_jpeg(data: bytes, member: str, archive: EmbeddedArchive) -> np.ndarray:
    """One JPEG file -> (32, 32, 3) uint8. The size is checked before the pixels are decoded."""
    H, W, C = IMAGE_SHAPE
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            if image.mode != "RGB" or image.size != (W, H):
                raise DatasetError(
                    _(
                        "{path}: member {member!r} has shape {shape} (mode {mode}), expected "
                        "{expected} (mode RGB). {fix}"
                    ).format(
                        path=display_path(archive.path),
                        member=member,
                        shape=(image.height, image.width, len(image.getbands())),
                        mode=image.mode,
                        expected=IMAGE_SHAPE,
                        fix=archive.fix,
                    )
                )
            return np.asarray(image)  # (32, 32, 3) uint8
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DatasetError(
            _(
                "{path}: member {member!r} is not a readable JPEG ({error_type}: {error}). {fix}"
            ).format(
                path=display_path(archive.path),
                member=member,
                error_type=type(e).__name__,
                error=e,
                fix=archive.fix,
            )
        ) from e


def _assemble(
    items: list[tuple[int, str, np.ndarray]], expected: int, split: str, archive: EmbeddedArchive
) -> tuple[np.ndarray, np.ndarray]:
    """Sort one split by (label, name), check its size and apply the fixed permutation."""
    if len(items) != expected:
        raise DatasetError(
            _("{path}: {split}/ holds {count} images, expected {expected}. {fix}").format(
                path=display_path(archive.path),
                split=split,
                count=len(items),
                expected=expected,
                fix=archive.fix,
            )
        )
    items.sort(key=lambda item: item[:2])
    X = np.stack([pixels for _, _, pixels in items])  # (N, 32, 32, 3)
    y = np.array([label for label, _, _ in items], dtype=np.int64)  # (N,)
    order = np.random.RandomState(ORDER_SEED).permutation(len(items))  # (N,)
    return X[order], y[order]


def _expected_cache(archive: EmbeddedArchive) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    uint8, int64 = np.dtype(np.uint8), np.dtype(np.int64)
    return {
        "X_train": ((archive.num_train, *IMAGE_SHAPE), uint8),
        "y_train": ((archive.num_train,), int64),
        "X_test": ((archive.num_test, *IMAGE_SHAPE), uint8),
        "y_test": ((archive.num_test,), int64),
    }


def read_cache(folder: Path, archive: EmbeddedArchive) -> Arrays | None:
    """The cached arrays, or None when the cache is absent, incomplete or corrupt.

    Each .npy file is opened without pickle and memory-mapped first, which checks that the
    file is as long as its header says; its shape and dtype must be the expected ones and the
    labels in 0..9. Only then is it copied into memory.
    """
    if not folder.is_dir():
        return None
    arrays = []
    for name, (shape, dtype) in _expected_cache(archive).items():
        path = folder / f"{name}.npy"
        if not path.is_file():
            return None
        try:
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            _warn_rebuild(path, f"{type(e).__name__}: {e}")
            return None
        if mapped.shape != shape or mapped.dtype != dtype:
            _warn_rebuild(
                path, f"shape {mapped.shape} {mapped.dtype}, expected {shape} {dtype.name}"
            )
            return None
        arrays.append(np.array(mapped))
        del mapped  # close the map
    for y in arrays[1::2]:
        if y.size and (y.min() < 0 or y.max() >= len(CLASSES)):
            _warn_rebuild(folder, "labels outside 0..9")
            return None
    return tuple(arrays)


def _warn_rebuild(path: Path, why: str) -> None:
    warnings.warn(
        _("decoded CIFAR-10 cache {path} is corrupt ({why}); rebuilding it").format(
            path=display_path(path), why=why
        ),
        stacklevel=3,
    )


def write_cache(folder: Path, arrays: Arrays) -> None:
    """Cache ``arrays`` in ``folder`` (each file written atomically); drop stale caches.

    A cache that cannot be written (read-only data directory, full disk) only costs time:
    it is reported with a warning and the next load decodes again.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in zip(_CACHE_ARRAYS, arrays, strict=True):
            save_npy_atomic(folder / f"{name}.npy", array)
    except OSError as e:
        warnings.warn(
            _(
                "could not write the decoded CIFAR-10 cache to {folder} ({error}); the next load "
                "will decode the archive again"
            ).format(folder=display_path(folder), error=e),
            stacklevel=3,
        )
        return
    _remove_stale_caches(folder)


def _remove_stale_caches(folder: Path) -> None:
    """Delete caches of the same archive name made from other contents or cache versions."""
    stem = _CACHE_NAME.fullmatch(folder.name)["stem"]
    for other in folder.parent.iterdir():
        match = _CACHE_NAME.fullmatch(other.name)
        if other != folder and other.is_dir() and match and match["stem"] == stem:
            shutil.rmtree(other, ignore_errors=True)
