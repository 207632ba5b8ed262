"""CIFAR-10 for the course: one call loads it, wherever it comes from.

In a notebook::

    from cs231n_lib.data import CLASSES, get_cifar10_data, load_cifar10, subsample_knn

    X_train, y_train, X_test, y_test = load_cifar10()   # uint8 (N, 32, 32, 3), int64 (N,)
    data = get_cifar10_data(num_training=49000, num_validation=1000, num_test=1000)

Sources, in order of preference:

1. The official python batches ``cifar-10-batches-py/`` (when a user has run
   ``python -m cs231n_lib.data download``), read only after every file's md5 checks out
   (:func:`load_CIFAR10`).
2. The embedded copy ``cifar10-jpeg75.tar.gz`` that ships with the repository: sha256-checked,
   decoded once with Pillow and cached as .npy files in ``cache/`` beside it
   (:func:`load_embedded`).

Both live in the data directory: ``datasets/`` beside the package (``cs231n_lib/../datasets``),
or ``$CS231N_DATA_DIR`` when that environment variable is set. Anything missing or damaged
raises :class:`DatasetError`, naming the file, what is wrong and the command that fixes it.

Command line: ``python -m cs231n_lib.data download [--dest DIR] [--url URL] [--force]`` and
``python -m cs231n_lib.data verify``.

Modules: ``embedded`` (the JPEG copy and its cache), ``official`` (md5-checked batches),
``download`` (atomic download), ``cifar10`` (the calls above), ``cli``.
"""

from cs231n_lib.data._common import CLASSES, DATA_DIR_ENV, DatasetError, data_dir
from cs231n_lib.data.cifar10 import get_cifar10_data, load_cifar10, subsample_knn
from cs231n_lib.data.cli import main
from cs231n_lib.data.download import OFFICIAL_TGZ_MD5, OFFICIAL_URL, download
from cs231n_lib.data.embedded import EMBEDDED_SHA256, ORDER_SEED, EmbeddedArchive, load_embedded
from cs231n_lib.data.official import OFFICIAL_MD5S, load_CIFAR10, verify_official

__all__ = [
    "CLASSES",
    "DATA_DIR_ENV",
    "EMBEDDED_SHA256",
    "OFFICIAL_MD5S",
    "OFFICIAL_TGZ_MD5",
    "OFFICIAL_URL",
    "ORDER_SEED",
    "DatasetError",
    "EmbeddedArchive",
    "data_dir",
    "download",
    "get_cifar10_data",
    "load_CIFAR10",
    "load_cifar10",
    "load_embedded",
    "main",
    "subsample_knn",
    "verify_official",
]
