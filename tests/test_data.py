"""The data layer: embedded JPEG copy + cache, official batches, download, splits, errors.

Everything except the session fixture ``cifar`` (the real embedded copy, decoded once and then
read from its cache) runs on small data sets built here in ``tmp_path``; the download tests
use an HTTP server on 127.0.0.1. Nothing touches the internet.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import pickle
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cs231n_lib.data.cifar10 as cifar10_module
import cs231n_lib.data.embedded as embedded
import cs231n_lib.data.official as official
from cs231n_lib.data import (
    CLASSES,
    DatasetError,
    EmbeddedArchive,
    download,
    get_cifar10_data,
    load_CIFAR10,
    load_cifar10,
    load_embedded,
    main,
    subsample_knn,
)
from cs231n_lib.data._common import REPO_ROOT
from cs231n_lib.data.embedded import EMBEDDED_NAME, ORDER_SEED
from cs231n_lib.data.official import OFFICIAL_MD5S

REAL_ARCHIVE = EmbeddedArchive(REPO_ROOT / "datasets" / EMBEDDED_NAME)
BATCH_NAMES = tuple(OFFICIAL_MD5S)  # data_batch_1..5, test_batch, batches.meta


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --------------------------------------------------------------------------- real embedded copy


@pytest.fixture(scope="session")
def cifar():
    """The real embedded copy: decoded on the first run (~10 s), then read from its cache."""
    return load_embedded(REAL_ARCHIVE)


def test_public_api():
    assert CLASSES == (
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    )  # fmt: skip
    assert isinstance(CLASSES, tuple)
    assert callable(main)


def test_embedded_copy_shapes_dtypes_and_labels(cifar):
    X_train, y_train, X_test, y_test = cifar
    assert X_train.shape == (50_000, 32, 32, 3) and X_train.dtype == np.uint8
    assert X_test.shape == (10_000, 32, 32, 3) and X_test.dtype == np.uint8
    assert y_train.shape == (50_000,) and y_train.dtype == np.int64
    assert y_test.shape == (10_000,) and y_test.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [5000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [1000] * 10)
    assert 0 < X_train.mean() < 255  # real pixels, not an empty buffer


def test_embedded_copy_has_the_documented_fixed_order(cifar):
    _, y_train, _, y_test = cifar
    for y, per_class in ((y_train, 5000), (y_test, 1000)):
        sorted_labels = np.repeat(np.arange(10), per_class)  # the archive's order
        order = np.random.RandomState(ORDER_SEED).permutation(len(y))
        np.testing.assert_array_equal(y, sorted_labels[order])


@pytest.mark.parametrize(
    "split, piece",
    [("train", slice(0, 1000)), ("train", slice(49_000, 50_000)), ("test", slice(0, 1000))],
)
def test_contiguous_slices_are_class_mixed(cifar, split, piece):
    y = cifar[1] if split == "train" else cifar[3]
    counts = np.bincount(y[piece], minlength=10)
    assert counts.min() >= 60 and counts.max() <= 140, f"{split}[{piece}] counts {counts}"
    assert len(set(y[:500])) == 10  # the kNN test subsample


def test_load_cifar10_says_which_copy(monkeypatch, capsys, tmp_path, cifar):
    monkeypatch.delenv("CS231N_DATA_DIR", raising=False)
    monkeypatch.setattr(cifar10_module, "official_dir", lambda: tmp_path / "absent")
    monkeypatch.setattr(cifar10_module, "load_embedded", lambda archive: cifar)
    arrays = load_cifar10()
    assert capsys.readouterr().out == (
        "CIFAR-10: embedded JPEG-75 copy (cifar10-jpeg75.tar.gz), 50000 train / 10000 test\n"
    )
    assert arrays is cifar
    load_cifar10(verbose=False)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------ small synthetic JPEG archive


def solid_jpeg(color, size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buffer, "PNG")
    return buffer.getvalue()


def grey_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (32, 32)).save(buffer, "JPEG")
    return buffer.getvalue()


def add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    tar.addfile(info)


def write_jpeg_archive(path, *, per_class=(3, 2), blue=(100, 200), extra=()) -> EmbeddedArchive:
    """A tiny archive in the embedded copy's layout: image (split, label) is one solid colour,
    red = 20 * label + 10 and blue = ``blue[split]``, so tests can read labels off pixels."""
    with tarfile.open(path, "w:gz") as tar:
        for split, n, b in zip(("train", "test"), per_class, blue, strict=True):
            add_dir(tar, f"{split}/")
            for label, name in enumerate(CLASSES):
                add_dir(tar, f"{split}/{name}/")
                for k in range(n):
                    add_file(
                        tar, f"{split}/{name}/{k:04d}.jpg", solid_jpeg((20 * label + 10, 0, b))
                    )
        for name, data in extra:
            add_file(tar, name, data)
    return EmbeddedArchive(path, sha256(path), 10 * per_class[0], 10 * per_class[1])


@pytest.fixture
def tiny(tmp_path) -> EmbeddedArchive:
    return write_jpeg_archive(tmp_path / "tiny.tar.gz")


def cache_files(archive: EmbeddedArchive) -> dict[str, Path]:
    folder = archive.cache_folder(archive.path.parent / "cache")
    return {name: folder / f"{name}.npy" for name in ("X_train", "y_train", "X_test", "y_test")}


def assert_pixels_match_labels(arrays, blue=(100, 200)):
    X_train, y_train, X_test, y_test = arrays
    for X, y, b in ((X_train, y_train, blue[0]), (X_test, y_test, blue[1])):
        colour = X.reshape(len(X), -1, 3).mean(axis=1)  # (N, 3)
        np.testing.assert_allclose(colour[:, 0], 20 * y + 10, atol=3)
        np.testing.assert_allclose(colour[:, 2], b, atol=3)


def test_tiny_archive_loads_in_the_fixed_order(tiny):
    arrays = load_embedded(tiny)
    X_train, y_train, X_test, y_test = arrays
    assert X_train.shape == (30, 32, 32, 3) and X_test.shape == (20, 32, 32, 3)
    assert y_train.dtype == y_test.dtype == np.int64
    order = np.random.RandomState(ORDER_SEED).permutation(30)
    np.testing.assert_array_equal(y_train, np.repeat(np.arange(10), 3)[order])
    assert_pixels_match_labels(arrays)


def test_cache_is_written_then_reused(tiny, monkeypatch):
    first = load_embedded(tiny)
    files = cache_files(tiny)
    assert all(path.is_file() for path in files.values())
    stamps = {name: path.stat().st_mtime_ns for name, path in files.items()}

    def must_not_decode(archive):
        raise AssertionError("the archive was decoded although a valid cache exists")

    monkeypatch.setattr(embedded, "decode_archive", must_not_decode)
    second = load_embedded(tiny)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert {name: path.stat().st_mtime_ns for name, path in files.items()} == stamps
    assert not list(files["X_train"].parent.glob(".*.tmp"))
    assert np.load(files["X_train"], allow_pickle=False).dtype == np.uint8  # plain .npy


def test_cache_is_rebuilt_when_the_archive_changes(tiny):
    load_embedded(tiny)
    old_folder = cache_files(tiny)["X_train"].parent
    changed = write_jpeg_archive(tiny.path, blue=(50, 150))  # same path, new content and sha256
    assert changed.sha256 != tiny.sha256
    arrays = load_embedded(changed)
    assert_pixels_match_labels(arrays, blue=(50, 150))
    assert cache_files(changed)["X_train"].is_file()
    assert not old_folder.exists(), "the stale cache of the old archive was not removed"


@pytest.mark.parametrize(
    "damage",
    ["truncate", "garbage", "wrong dtype", "wrong shape", "missing", "bad labels"],
)
def test_corrupt_cache_is_rebuilt(tiny, damage):
    good = load_embedded(tiny)
    files = cache_files(tiny)
    if damage == "truncate":
        files["X_train"].write_bytes(files["X_train"].read_bytes()[:1000])
    elif damage == "garbage":
        files["X_test"].write_bytes(b"not an npy file")
    elif damage == "wrong dtype":
        np.save(files["y_train"], good[1].astype(np.int32))
    elif damage == "wrong shape":
        np.save(files["X_test"], good[2][:5])
    elif damage == "missing":
        files["y_test"].unlink()
    else:
        np.save(files["y_test"], good[3] + 10)
    if damage == "missing":
        again = load_embedded(tiny)
    else:
        with pytest.warns(UserWarning, match="cache .* is corrupt"):
            again = load_embedded(tiny)
    for a, b in zip(good, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert embedded.read_cache(files["X_train"].parent, tiny) is not None


@pytest.mark.parametrize("failure", [OSError("No space left on device"), KeyboardInterrupt()])
def test_interrupted_cache_write_leaves_nothing_half_written(tiny, monkeypatch, failure):
    real_save = np.save
    calls = []

    def save_then_fail(file, array, allow_pickle=True):
        calls.append(1)
        if len(calls) == 2:  # the second file: half of it reaches the disk, then the failure
            file.write(b"\x93NUMPY partial")
            raise failure
        real_save(file, array, allow_pickle=allow_pickle)

    monkeypatch.setattr(np, "save", save_then_fail)
    if isinstance(failure, OSError):
        with pytest.warns(UserWarning, match="could not write the decoded CIFAR-10 cache"):
            load_embedded(tiny)  # the arrays are still returned
    else:
        with pytest.raises(KeyboardInterrupt):
            load_embedded(tiny)
    folder = cache_files(tiny)["X_train"].parent
    assert sorted(p.name for p in folder.iterdir()) == ["X_train.npy"]  # no temp, no partial
    monkeypatch.setattr(np, "save", real_save)
    assert_pixels_match_labels(load_embedded(tiny))  # the next load completes the cache
    assert embedded.read_cache(folder, tiny) is not None


# ------------------------------------------------------------------- errors from the JPEG archive


def assert_actionable(error: pytest.ExceptionInfo, filename: str, *fragments: str) -> None:
    message = str(error.value)
    assert filename in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_archive(tmp_path):
    archive = EmbeddedArchive(tmp_path / EMBEDDED_NAME)
    with pytest.raises(DatasetError) as error:
        load_embedded(archive)
    assert_actionable(error, EMBEDDED_NAME, "missing", "git checkout -- ")


def test_archive_with_wrong_sha256(tiny):
    wrong = EmbeddedArchive(tiny.path, "0" * 64, tiny.num_train, tiny.num_test)
    with pytest.raises(DatasetError) as error:
        load_embedded(wrong)
    assert_actionable(
        error, "tiny.tar.gz", "sha256 mismatch", f"expected {'0' * 64}", f"got {tiny.sha256}",
        "git checkout -- ",
    )  # fmt: skip
    assert not (tiny.path.parent / "cache").exists()


def test_real_archive_checksum_is_enforced(tmp_path):
    damaged = tmp_path / EMBEDDED_NAME
    damaged.write_bytes(REAL_ARCHIVE.path.read_bytes()[:-1])
    with pytest.raises(DatasetError) as error:
        load_embedded(EmbeddedArchive(damaged))
    assert_actionable(error, EMBEDDED_NAME, REAL_ARCHIVE.sha256, "git checkout -- ")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_archive_with_matching_sha256(tiny, damage):
    data = tiny.path.read_bytes()
    tiny.path.write_bytes(
        b"\x1f\x8b garbage" * 100 if damage == "garbage" else data[: len(data) // 2]
    )
    archive = EmbeddedArchive(tiny.path, sha256(tiny.path), tiny.num_train, tiny.num_test)
    with pytest.raises(DatasetError) as error:
        load_embedded(archive)
    assert_actionable(error, "tiny.tar.gz", "cannot read the archive", "git checkout -- ")
    assert not (tiny.path.parent / "cache").exists()


@pytest.mark.parametrize(
    "extra, expected",
    [
        ([("train/cat/9999.jpg", solid_jpeg((0, 0, 0), size=(31, 32)))], "has shape (32, 31, 3)"),
        ([("train/cat/9999.jpg", b"not a jpeg")], "not a readable JPEG"),
        ([("train/cat/9999.jpg", png_bytes())], "not a readable JPEG"),
        ([("train/cat/9999.jpg", grey_jpeg())], "has shape (32, 32, 1) (mode L)"),
        ([("train/unicorn/0000.jpg", solid_jpeg((0, 0, 0)))], "unexpected member"),
        ([("train/cat/9999.jpg", solid_jpeg((0, 0, 0)))], "holds 31 images, expected 30"),
    ],
)
def test_bad_images_in_the_archive(tmp_path, extra, expected):
    archive = write_jpeg_archive(tmp_path / "bad.tar.gz", extra=extra)
    archive = EmbeddedArchive(archive.path, archive.sha256, 30, 20)
    with pytest.raises(DatasetError) as error:
        load_embedded(archive)
    assert_actionable(error, "bad.tar.gz", expected, "git checkout -- ")


# ------------------------------------------------------------------------- official batches


def official_files(rng, *, sizes=(4, 3, 4, 2, 5), num_test=6, str_keys=False):
    """Small batches in the official format; returns ({file name: bytes}, expected arrays)."""

    def key(name):
        return name if str_keys else name.encode()

    def batch(N):
        X = rng.integers(0, 256, (N, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, N)
        data = X.transpose(0, 3, 1, 2).reshape(N, 3072)  # rows: 1024 R, 1024 G, 1024 B
        blob = {key("batch_label"): "x", key("data"): data, key("labels"): y.tolist()}
        return pickle.dumps(blob, protocol=2), X, y

    files, Xs, ys = {}, [], []
    for i, N in enumerate(sizes, start=1):
        files[f"data_batch_{i}"], X, y = batch(N)
        Xs.append(X)
        ys.append(y)
    files["test_batch"], X_test, y_test = batch(num_test)
    meta = {key("label_names"): [key(name) for name in CLASSES], key("num_vis"): 3072}
    files["batches.meta"] = pickle.dumps(meta, protocol=2)
    return files, (np.concatenate(Xs), np.concatenate(ys), X_test, y_test)


def write_official(folder: Path, files: dict[str, bytes]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: md5(data) for name, data in files.items()}


@pytest.mark.parametrize("str_keys", [False, True], ids=["bytes-keys", "str-keys"])
def test_load_CIFAR10_reads_the_official_format(tmp_path, str_keys):
    files, expected = official_files(np.random.default_rng(0), str_keys=str_keys)
    md5s = write_official(tmp_path / "cifar-10-batches-py", files)
    got = load_CIFAR10(tmp_path / "cifar-10-batches-py", md5s=md5s)
    for a, b, dtype in zip(got, expected, [np.uint8, np.int64] * 2, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    assert got[0].shape == (18, 32, 32, 3) and got[2].shape == (6, 32, 32, 3)


class Exploit:
    """A pickle that would create a folder when unpickled."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.mkdir, (self.target,))


@pytest.mark.parametrize("inject_md5", [False, True])
def test_load_CIFAR10_never_runs_pickled_code(tmp_path, inject_md5):
    files, _ = official_files(np.random.default_rng(1))
    genuine_md5s = {name: md5(data) for name, data in files.items()}
    files["data_batch_3"] = pickle.dumps({b"data": Exploit(tmp_path / "pwned")})
    md5s = write_official(tmp_path / "b", files)
    with pytest.raises(DatasetError) as error:
        load_CIFAR10(tmp_path / "b", md5s=md5s if inject_md5 else genuine_md5s)
    if inject_md5:  # the md5 matches, so the allow-list unpickler has to stop it
        assert_actionable(error, "data_batch_3", "refusing to load", "cs231n_lib.data download")
    else:
        assert_actionable(error, "data_batch_3", "md5 mismatch", "cs231n_lib.data download")
    assert not (tmp_path / "pwned").exists()


def test_load_CIFAR10_checks_every_md5_before_unpickling(tmp_path, monkeypatch):
    files, _ = official_files(np.random.default_rng(2))
    md5s = write_official(tmp_path / "b", files)
    (tmp_path / "b" / "test_batch").write_bytes(files["test_batch"] + b"x")  # the last one read
    unpickled = []
    monkeypatch.setattr(official, "_unpickle", lambda blob, path: unpickled.append(path))
    with pytest.raises(DatasetError) as error:
        load_CIFAR10(tmp_path / "b", md5s=md5s)
    assert_actionable(
        error, "test_batch", "md5 mismatch", f"expected {md5s['test_batch']}",
        f"got {md5(files['test_batch'] + b'x')}", "python -m cs231n_lib.data download",
    )  # fmt: skip
    assert unpickled == []


def test_load_CIFAR10_missing_file(tmp_path):
    files, _ = official_files(np.random.default_rng(3))
    md5s = write_official(tmp_path / "b", files)
    (tmp_path / "b" / "data_batch_4").unlink()
    with pytest.raises(DatasetError) as error:
        load_CIFAR10(tmp_path / "b", md5s=md5s)
    assert_actionable(error, "data_batch_4", "missing", "python -m cs231n_lib.data download")


def test_load_CIFAR10_truncated_pickle(tmp_path):
    files, _ = official_files(np.random.default_rng(4))
    files["data_batch_2"] = files["data_batch_2"][:500]
    md5s = write_official(tmp_path / "b", files)  # md5 of the truncated file, so it is unpickled
    with pytest.raises(DatasetError) as error:
        load_CIFAR10(tmp_path / "b", md5s=md5s)
    assert_actionable(
        error,
        "data_batch_2",
        "not a readable CIFAR-10 pickle",
        "python -m cs231n_lib.data download",
    )


@pytest.mark.parametrize(
    "batch, expected",
    [
        (
            {b"data": np.zeros((4, 3000), np.uint8), b"labels": [0] * 4},
            "expected (4, 3072) and (4,)",
        ),
        (
            {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3},
            "expected (4, 3072) and (4,)",
        ),
        ({b"data": np.zeros((4, 3072), np.float32), b"labels": [0] * 4}, "expected a uint8 array"),
        ({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0, 1, 2, 10]}, "expected 0..9"),
        ({b"labels": [0] * 4}, "expected 'data' and 'labels'"),
    ],
    ids=["data-width", "labels-length", "data-dtype", "label-range", "no-data"],
)
def test_load_CIFAR10_wrong_shapes(tmp_path, batch, expected):
    files, _ = official_files(np.random.default_rng(5))
    files["data_batch_5"] = pickle.dumps(batch, protocol=2)
    md5s = write_official(tmp_path / "b", files)
    with pytest.raises(DatasetError) as error:
        load_CIFAR10(tmp_path / "b", md5s=md5s)
    assert_actionable(error, "data_batch_5", expected, "python -m cs231n_lib.data download")


def test_load_CIFAR10_refuses_md5s_that_leave_a_file_unchecked(tmp_path):
    with pytest.raises(ValueError, match="no checksum for"):
        load_CIFAR10(tmp_path, md5s={"data_batch_1": "0" * 32})


def test_load_cifar10_prefers_verified_official_batches(tmp_path, monkeypatch, capsys):
    files, expected = official_files(np.random.default_rng(6))
    md5s = write_official(tmp_path / "cifar-10-batches-py", files)
    monkeypatch.setenv("CS231N_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cifar10_module, "load_CIFAR10", functools.partial(load_CIFAR10, md5s=md5s))
    got = load_cifar10()
    np.testing.assert_array_equal(got[0], expected[0])
    out = capsys.readouterr().out
    assert out.startswith("CIFAR-10: official python batches (") and "18 train / 6 test" in out
    np.testing.assert_array_equal(load_cifar10(tmp_path, verbose=False)[3], expected[3])


def test_load_cifar10_falls_back_when_official_batches_fail(tmp_path, monkeypatch, cifar):
    files, _ = official_files(np.random.default_rng(7))
    write_official(tmp_path / "cifar-10-batches-py", files)  # not the official md5s
    monkeypatch.setenv("CS231N_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cifar10_module, "load_embedded", lambda archive: cifar)
    with pytest.warns(UserWarning, match="(?s)md5 mismatch.*embedded JPEG-75 copy instead"):
        assert load_cifar10(verbose=False) is cifar
    with pytest.raises(DatasetError, match="md5 mismatch"):  # an explicit root must verify
        load_cifar10(tmp_path)


# ------------------------------------------------------------------------------------ download


class TarballHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files[path] = (bytes, cut_short)``; cut_short sends half and hangs up."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path not in self.server.files:
            self.send_error(404)
            return
        body, cut_short = self.server.files[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if cut_short else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TarballHandler)
    httpd.files = {}
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def serve(server, path: str, body: bytes, *, cut_short=False) -> str:
    server.files[path] = (body, cut_short)
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def official_tarball(files: dict[str, bytes], extra=()) -> bytes:
    """cifar-10-python.tar.gz's layout: cifar-10-batches-py/<file>, plus ``extra`` members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        add_dir(tar, "cifar-10-batches-py")
        for name, data in files.items():
            add_file(tar, f"cifar-10-batches-py/{name}", data)
        for member, data in extra:
            tar.addfile(member, io.BytesIO(data) if data else None)
    return buffer.getvalue()


@pytest.fixture
def tarball():
    files, expected = official_files(np.random.default_rng(8))
    return official_tarball(files), {n: md5(d) for n, d in files.items()}, expected


def test_download_installs_the_batches(server, tarball, tmp_path, capsys):
    body, md5s, expected = tarball
    url = serve(server, "/cifar-10-python.tar.gz", body)
    dest = tmp_path / "data"
    folder = download(dest, url, md5=md5(body))
    assert folder == dest / "cifar-10-batches-py"
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-batches-py"]  # no leftovers
    assert sorted(p.name for p in folder.iterdir()) == sorted(BATCH_NAMES)
    np.testing.assert_array_equal(load_CIFAR10(folder, md5s=md5s)[0], expected[0])
    assert "installed" in capsys.readouterr().out


def test_download_replaces_a_broken_folder(server, tarball, tmp_path):
    body, md5s, _ = tarball
    broken = tmp_path / "cifar-10-batches-py"
    broken.mkdir()
    (broken / "data_batch_1").write_bytes(b"half")
    download(tmp_path, serve(server, "/c.tar.gz", body), md5=md5(body), progress=False)
    assert sorted(p.name for p in broken.iterdir()) == sorted(BATCH_NAMES)
    load_CIFAR10(broken, md5s=md5s)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-batches-py"]


def assert_nothing_left(dest: Path, before: set[str]) -> None:
    assert {p.name for p in dest.iterdir()} == before


def test_download_md5_mismatch_leaves_nothing(server, tarball, tmp_path):
    body, _, _ = tarball
    with pytest.raises(DatasetError) as error:
        download(tmp_path, serve(server, "/c.tar.gz", body), progress=False)  # official md5
    assert_actionable(
        error, "c.tar.gz", "md5 mismatch", "expected c58f30108f718f92721af3b95e74349a",
        f"got {md5(body)}", "Nothing was kept", "python -m cs231n_lib.data download",
    )  # fmt: skip
    assert_nothing_left(tmp_path, set())


def test_interrupted_download_leaves_nothing(server, tarball, tmp_path):
    body, _, _ = tarball
    kept = tmp_path / "cifar-10-batches-py"
    kept.mkdir()
    (kept / "mine").write_text("an earlier copy stays untouched")
    url = serve(server, "/c.tar.gz", body, cut_short=True)
    with pytest.raises(DatasetError) as error:
        download(tmp_path, url, md5=md5(body), progress=False)
    assert_actionable(
        error, "c.tar.gz", f"received {len(body) // 2} of {len(body)} bytes", "Nothing was kept"
    )
    assert_nothing_left(tmp_path, {"cifar-10-batches-py"})
    assert [p.name for p in kept.iterdir()] == ["mine"]


def test_download_http_error(server, tmp_path):
    url = f"http://127.0.0.1:{server.server_address[1]}/absent.tar.gz"
    with pytest.raises(DatasetError, match="404") as error:
        download(tmp_path, url, progress=False)
    assert_actionable(error, "absent.tar.gz", "failed", "python -m cs231n_lib.data download")
    assert_nothing_left(tmp_path, set())


def escaping_members(tmp_path):
    outside = tmp_path / "outside.txt"
    link = tarfile.TarInfo("cifar-10-batches-py/link")
    link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path)
    absolute = tarfile.TarInfo(str(outside))
    dotdot = tarfile.TarInfo("cifar-10-batches-py/../../../../outside.txt")  # -> tmp_path
    for info in (absolute, dotdot):
        info.size = 4
    return {"absolute": (absolute, b"evil"), "dotdot": (dotdot, b"evil"), "symlink": (link, b"")}


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
def test_download_refuses_members_escaping_the_destination(server, tmp_path, kind):
    files, _ = official_files(np.random.default_rng(9))
    body = official_tarball(files, extra=[escaping_members(tmp_path)[kind]])
    dest = tmp_path / "data"
    dest.mkdir()
    with pytest.raises(DatasetError) as error:
        download(dest, serve(server, "/c.tar.gz", body), md5=md5(body), progress=False)
    assert_actionable(error, "c.tar.gz", "refusing tar member", "nothing was extracted")
    assert_nothing_left(dest, set())
    assert not (tmp_path / "outside.txt").exists()


def test_download_rejects_a_tarball_without_the_batches(server, tmp_path):
    body = official_tarball({"data_batch_1": b"x"})
    with pytest.raises(DatasetError, match="not the official") as error:
        download(tmp_path, serve(server, "/c.tar.gz", body), md5=md5(body), progress=False)
    assert_actionable(error, "c.tar.gz", "test_batch")
    assert_nothing_left(tmp_path, set())


def test_download_command_line_reports_errors(server, tarball, tmp_path, capsys):
    body, _, _ = tarball
    url = serve(server, "/c.tar.gz", body)
    assert main(["download", "--dest", str(tmp_path), "--url", url]) == 1  # official md5
    err = capsys.readouterr().err
    assert "\nerror: " in err and "md5 mismatch" in err  # after the progress bar
    assert_nothing_left(tmp_path, set())


def test_verify_command(tmp_path, monkeypatch, capsys):
    (tmp_path / EMBEDDED_NAME).symlink_to(REAL_ARCHIVE.path)
    monkeypatch.setenv("CS231N_DATA_DIR", str(tmp_path))
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "embedded JPEG-75 copy: OK" in out and "official batches" in out
    assert "load_cifar10() will use: the embedded JPEG-75 copy" in out
    (tmp_path / "cifar-10-batches-py").mkdir()  # present but broken
    assert main(["verify"]) == 1
    assert "official batches: FAILED" in capsys.readouterr().out


def test_module_entry_point(tmp_path):
    env = {**os.environ, "CS231N_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "cs231n_lib.data", "verify"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 1, done
    assert "embedded JPEG-75 copy: FAILED" in done.stdout and "git checkout -- " in done.stdout


# -------------------------------------------------------------------------------------- splits


@pytest.fixture
def loaded(monkeypatch, cifar):
    """get_cifar10_data on the real embedded arrays, without printing."""
    monkeypatch.setattr(cifar10_module, "load_cifar10", lambda: cifar)
    return cifar


@pytest.mark.parametrize("channels_first", [True, False])
def test_get_cifar10_data_splits(loaded, channels_first):
    X_all, y_all, X_test_all, y_test_all = loaded
    data = get_cifar10_data(
        num_training=300, num_validation=50, num_test=40, subtract_mean=False,
        channels_first=channels_first, dtype=np.float32,
    )  # fmt: skip
    assert set(data) == {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "mean_image"}
    image = (3, 32, 32) if channels_first else (32, 32, 3)
    for split, n, X, y in (
        ("train", 300, X_all[:300], y_all[:300]),
        ("val", 50, X_all[300:350], y_all[300:350]),
        ("test", 40, X_test_all[:40], y_test_all[:40]),
    ):
        assert data[f"X_{split}"].shape == (n, *image) and data[f"X_{split}"].dtype == np.float32
        assert data[f"y_{split}"].dtype == np.int64
        np.testing.assert_array_equal(data[f"y_{split}"], y)
        expected = X.transpose(0, 3, 1, 2) if channels_first else X
        np.testing.assert_array_equal(data[f"X_{split}"], expected)
        assert data[f"X_{split}"].flags.c_contiguous
    assert data["mean_image"].shape == (32, 32, 3)


def test_get_cifar10_data_subtracts_the_training_mean(loaded):
    X_all, _, X_test_all, _ = loaded
    data = get_cifar10_data(num_training=500, num_validation=100, num_test=100)
    mean = X_all[:500].mean(axis=0)  # (32, 32, 3)
    np.testing.assert_allclose(data["mean_image"], mean)
    assert data["X_train"].dtype == np.float64 and data["X_train"].shape == (500, 3, 32, 32)
    np.testing.assert_allclose(data["X_train"].mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(
        data["X_val"], (X_all[500:600] - mean).transpose(0, 3, 1, 2), atol=1e-9
    )
    np.testing.assert_allclose(
        data["X_test"], (X_test_all[:100] - mean).transpose(0, 3, 1, 2), atol=1e-9
    )


def test_get_cifar10_data_default_sizes(loaded):
    data = get_cifar10_data(num_dev=500, seed=0, dtype=np.float32)
    sizes = {k: v.shape[0] for k, v in data.items() if k != "mean_image"}
    assert sizes == {
        "X_train": 49000, "y_train": 49000, "X_val": 1000, "y_val": 1000,
        "X_test": 1000, "y_test": 1000, "X_dev": 500, "y_dev": 500,
    }  # fmt: skip


def test_get_cifar10_data_dev_subset(loaded):
    X_all, y_all, _, _ = loaded
    kwargs = dict(num_training=1000, num_validation=10, num_test=10, num_dev=50)
    data = get_cifar10_data(**kwargs, seed=3, subtract_mean=False, channels_first=False)
    train_rows = {row.tobytes(): i for i, row in enumerate(X_all[:1000].astype(np.float64))}
    rows = [train_rows[row.tobytes()] for row in data["X_dev"]]  # KeyError: not from train
    assert len(set(rows)) == 50  # without replacement
    np.testing.assert_array_equal(data["y_dev"], y_all[rows])
    again = get_cifar10_data(**kwargs, seed=3)
    other = get_cifar10_data(**kwargs, seed=4)
    np.testing.assert_array_equal(again["y_dev"], data["y_dev"])
    np.testing.assert_allclose(
        again["X_dev"] + again["mean_image"].transpose(2, 0, 1),
        data["X_dev"].transpose(0, 3, 1, 2),
        atol=1e-9,
    )
    assert not np.array_equal(other["y_dev"], data["y_dev"])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(num_training=49500, num_validation=1000), ValueError, "only 50000 training"),
        (dict(num_test=10001), ValueError, "only 10000 test"),
        (dict(num_training=0), ValueError, "at least 1"),
        (dict(num_validation=-1), ValueError, ">= 0"),
        (dict(num_training=100, num_dev=101), ValueError, "num_dev = 101 > num_training = 100"),
        (dict(num_training=1.5), TypeError, "must be an int"),
        (dict(dtype=np.uint8), ValueError, "floating"),
    ],
)
def test_get_cifar10_data_validates_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        get_cifar10_data(**kwargs)


def test_subsample_knn_takes_the_first_examples_by_default(cifar):
    X_train, y_train, X_test, y_test = cifar
    Xtr, ytr, Xte, yte = subsample_knn(X_train, y_train, X_test, y_test)
    assert Xtr.shape == (5000, 32, 32, 3) and Xte.shape == (500, 32, 32, 3)
    np.testing.assert_array_equal(Xtr, X_train[:5000])
    np.testing.assert_array_equal(yte, y_test[:500])
    assert not np.shares_memory(Xtr, X_train) and not np.shares_memory(Xte, X_test)


def test_subsample_knn_random(cifar):
    X_train, y_train, X_test, y_test = cifar
    small = (X_train[:2000], y_train[:2000], X_test[:300], y_test[:300])
    a = subsample_knn(*small, num_training=100, num_test=30, seed=1)
    b = subsample_knn(*small, num_training=100, num_test=30, seed=1)
    c = subsample_knn(*small, num_training=100, num_test=30, seed=2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])
    rng = np.random.default_rng(1)
    train_idx = rng.choice(2000, 100, replace=False)
    test_idx = rng.choice(300, 30, replace=False)
    np.testing.assert_array_equal(a[0], X_train[train_idx])
    np.testing.assert_array_equal(a[3], y_test[test_idx])
    assert len(set(train_idx)) == 100


def test_subsample_knn_validates_sizes(cifar):
    X_train, y_train, X_test, y_test = cifar
    with pytest.raises(ValueError, match="num_training = 50001, but X_train has only 50000"):
        subsample_knn(X_train, y_train, X_test, y_test, num_training=50001)
    with pytest.raises(ValueError, match="X_test has 10000 examples but y_test has 9999"):
        subsample_knn(X_train, y_train, X_test, y_test[:-1])
