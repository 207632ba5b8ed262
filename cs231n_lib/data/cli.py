"""``python -m cs231n_lib.data {download,verify}`` (also the ``cs231n-data`` command)."""

from __future__ import annotations

import argparse
import os
import sys

from cs231n_lib.data._common import DATA_DIR_ENV, DOWNLOAD_COMMAND, DatasetError, display_path
from cs231n_lib.data.download import OFFICIAL_URL, download
from cs231n_lib.data.embedded import EmbeddedArchive, read_cache, verify_archive
from cs231n_lib.data.official import official_dir, verify_official
from cs231n_lib.i18n import N_, _


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 OK, 1 a data problem, 130 Ctrl-C)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "download":
            download(args.dest, args.url, force=args.force)
            return 0
        return verify()
    except DatasetError as e:
        print(_("error: {error}").format(error=e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("interrupted; nothing was kept"), file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cs231n_lib.data",
        description=_("Get and check the CIFAR-10 data the course uses."),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser(
        "download",
        help=_("download the official CIFAR-10 python batches (needs internet)"),
        description=_(
            "Fetch cifar-10-python.tar.gz, check its md5 and install cifar-10-batches-py/ "
            "atomically: an interrupted download leaves nothing behind."
        ),
    )
    get.add_argument(
        "--dest",
        help=_("folder to put cifar-10-batches-py/ in (default: ${env} or datasets/)").format(
            env=DATA_DIR_ENV
        ),
    )
    get.add_argument(
        "--url", default=OFFICIAL_URL, help=_("where to fetch it (default: %(default)s)")
    )
    get.add_argument("--force", action="store_true", help=_("download even if already present"))
    verify_text = _("report which CIFAR-10 copies are present and whether they check out")
    commands.add_parser("verify", help=verify_text, description=verify_text)
    return parser


def verify() -> int:
    """Print what is present and whether it verifies; 0 when load_cifar10() will work."""
    archive = EmbeddedArchive.default()
    folder = official_dir()
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    print(_("data directory: {path}").format(path=display_path(archive.path.parent)), end="")
    print(_(" (from ${variable})").format(variable=DATA_DIR_ENV) if override else "")

    official_ok = embedded_ok = False
    if not folder.exists():
        print(
            _("official batches: {path}: not present (optional; {command})").format(
                path=display_path(folder), command=DOWNLOAD_COMMAND
            )
        )
    else:
        official_ok = _report(N_("official batches"), lambda: verify_official(folder))
    embedded_ok = _report(N_("embedded JPEG-75 copy"), lambda: verify_archive(archive))
    if embedded_ok:
        cache = archive.cache_folder(archive.path.parent / "cache")
        state = (
            _("present")
            if read_cache(cache, archive) is not None
            else _("not built yet (built on first load)")
        )
        print(_("  decoded cache: {path}: {state}").format(path=display_path(cache), state=state))

    if official_ok:
        print(_("load_cifar10() will use: the official batches"))
    elif embedded_ok:
        print(_("load_cifar10() will use: the embedded JPEG-75 copy"))
    else:
        print(_("load_cifar10() will fail: no usable copy of CIFAR-10"))
    present_but_bad = folder.exists() and not official_ok
    return 0 if (official_ok or embedded_ok) and not present_but_bad else 1


def _report(what: str, check) -> bool:
    try:
        check()
    except DatasetError as e:
        print(_("{what}: FAILED: {error}").format(what=_(what), error=e))
        return False
    print(_("{what}: OK").format(what=_(what)))
    return True
