"""Download the official CIFAR-10 python batches, all or nothing.

The tarball is fetched into a hidden staging folder beside the destination
(``.cifar-10-download-*``), its md5 is checked, it is extracted there (refusing any member
that is not a plain file or folder inside the staging folder), and only then is the finished
``cifar-10-batches-py`` renamed into place. Whatever fails — network, md5, a truncated
transfer, Ctrl-C — the staging folder is removed and the destination is left as it was.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from cs231n_lib.data._common import (
    DOWNLOAD_COMMAND,
    DatasetError,
    data_dir,
    display_path,
)
from cs231n_lib.data.official import OFFICIAL_DIRNAME, OFFICIAL_MD5S, verify_official
from cs231n_lib.i18n import N_, _

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_TGZ_MD5 = "c58f30108f718f92721af3b95e74349a"
"""md5 of ``cifar-10-python.tar.gz``."""

_CHUNK = 1 << 20  # bytes read per step
# Python's "data" extraction filter (3.11.4+) as a second guard after _check_member.
_DATA_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def download(
    dest: Path | str | None = None,
    url: str = OFFICIAL_URL,
    *,
    md5: str = OFFICIAL_TGZ_MD5,
    force: bool = False,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Fetch cifar-10-python.tar.gz and install ``cifar-10-batches-py`` in ``dest`` atomically.

    Parameters
    ----------
    dest : path, optional
        Folder that receives ``cifar-10-batches-py/``; default :func:`data_dir` (``datasets/``,
        or ``$CS231N_DATA_DIR``). Created if needed.
    url : str
        Where to fetch the tarball (a mirror must serve the same bytes).
    md5 : str
        Expected md5 of the tarball; default the official one. (Tests serve a small tarball
        and pass its md5.)
    force : bool
        Download even if ``dest/cifar-10-batches-py`` is already present and verified.
    progress : bool
        Show a tqdm progress bar.
    timeout : float
        Seconds to wait for the server on each network operation.

    Returns
    -------
    Path
        ``dest/cifar-10-batches-py``.

    Raises
    ------
    DatasetError
        The transfer failed or was cut short, the md5 does not match, or the tarball is not the
        official one (missing files, or a member that would land outside the destination).
        Nothing is left behind, and a folder that was already in place is kept.
    """
    dest = Path(dest) if dest is not None else data_dir()
    final = dest / OFFICIAL_DIRNAME
    if final.exists() and not force and _is_verified(final):
        print(
            _("{path}: already present and verified; nothing to do").format(
                path=display_path(final)
            )
        )
        return final
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".cifar-10-download-", dir=dest))
    try:
        tgz = staging / "cifar-10-python.tar.gz"
        _fetch(url, tgz, md5=md5.lower(), progress=progress, timeout=timeout)
        extracted = staging / "extracted"
        _extract(tgz, extracted, url=url)
        _check_layout(extracted / OFFICIAL_DIRNAME, url=url)
        if md5.lower() == OFFICIAL_TGZ_MD5:  # the official tarball: its files must verify too
            verify_official(extracted / OFFICIAL_DIRNAME)
        _move_into_place(extracted / OFFICIAL_DIRNAME, final, trash=staging / "previous")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(_("{path}: CIFAR-10 python batches installed").format(path=display_path(final)))
    return final


def _is_verified(folder: Path) -> bool:
    try:
        verify_official(folder)
    except DatasetError:
        return False
    return True


def _fetch(url: str, path: Path, *, md5: str, progress: bool, timeout: float) -> None:
    """Stream ``url`` into ``path``; raise DatasetError unless complete with the right md5."""
    from tqdm.auto import tqdm  # a progress bar that also works in notebooks

    again = _("Nothing was kept; run again: {command}").format(command=DOWNLOAD_COMMAND)
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
            bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc="cifar-10-python.tar.gz",
                disable=not progress,
            )
            with bar, open(path, "wb") as out:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        raise DatasetError(
            _("downloading {url} failed ({error_type}: {error}). {again}").format(
                url=url, error_type=type(e).__name__, error=e, again=again
            )
        ) from e
    # http.client does not raise when a server closes early, so count the bytes.
    if total is not None and received != total:
        raise DatasetError(
            _(
                "downloading {url} was cut short: received {received} of {total} bytes. {again}"
            ).format(url=url, received=received, total=total, again=again)
        )
    if digest.hexdigest() != md5:
        raise DatasetError(
            _(
                "{url}: md5 mismatch: expected {expected}, got {actual} ({received} bytes); the "
                "download is corrupt or not the official cifar-10-python.tar.gz. {again}"
            ).format(
                url=url, expected=md5, actual=digest.hexdigest(), received=received, again=again
            )
        )


def _extract(tgz: Path, target: Path, *, url: str) -> None:
    """Extract ``tgz`` into the new folder ``target``, refusing members that could escape it."""
    target.mkdir()
    try:
        with tarfile.open(tgz, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, target, url=url)
            tar.extractall(target, members=members, **_DATA_FILTER)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DatasetError(
            _(
                "{url}: cannot extract the tarball ({error_type}: {error}); nothing was kept. "
                "Run again: {command}"
            ).format(url=url, error_type=type(e).__name__, error=e, command=DOWNLOAD_COMMAND)
        ) from e


def _check_member(member: tarfile.TarInfo, target: Path, *, url: str) -> None:
    """Allow only plain files and folders whose path stays inside ``target``."""
    root = target.resolve()
    where = (root / member.name).resolve()
    if os.path.isabs(member.name) or not where.is_relative_to(root) or where == root:
        problem = N_("its path escapes the destination")
    elif not (member.isfile() or member.isdir()):
        problem = N_("it is a link or special file (the official tarball has none)")
    else:
        return
    raise DatasetError(
        _(
            "{url}: refusing tar member {member!r}: {problem}; nothing was extracted. This is not "
            "the official cifar-10-python.tar.gz; use the official URL: {command}"
        ).format(url=url, member=member.name, problem=_(problem), command=DOWNLOAD_COMMAND)
    )


def _check_layout(folder: Path, *, url: str) -> None:
    """The tarball must have produced ``cifar-10-batches-py/`` with the seven official files."""
    missing = [name for name in OFFICIAL_MD5S if not (folder / name).is_file()]
    if missing:
        raise DatasetError(
            _(
                "{url}: the tarball has no {folder}/{{{missing}}}; it is not the official "
                "cifar-10-python.tar.gz. Nothing was kept; run: {command}"
            ).format(
                url=url,
                folder=OFFICIAL_DIRNAME,
                missing=", ".join(missing),
                command=DOWNLOAD_COMMAND,
            )
        )


def _move_into_place(new: Path, final: Path, *, trash: Path) -> None:
    """Rename ``new`` to ``final``; an existing ``final`` is moved to ``trash`` first."""
    if final.exists():
        os.rename(final, trash)
    try:
        os.rename(new, final)
    except OSError:
        if trash.exists():
            os.rename(trash, final)  # put the old folder back
        raise
