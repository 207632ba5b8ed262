"""Open the course in JupyterLab: ``python -m cs231n_lib.lab`` (or ``cs231n-lab``).

The same command works for an ordinary user and for root (Docker, cloud VMs): JupyterLab
refuses to start as root unless it is given ``--allow-root``, so this launcher adds that flag
only when it runs as root. It starts JupyterLab from the Python environment it runs in (so the
command works without activating the venv) in the release's ``notebooks/`` folder.

Usage::

    .venv/bin/python -m cs231n_lib.lab            # full data
    .venv/bin/python -m cs231n_lib.lab --fast     # a small slice: every notebook in seconds
    .venv/bin/python -m cs231n_lib.lab -- --port 8890 --no-browser   # more JupyterLab options
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cs231n_lib.i18n import _

RELEASE_ROOT = Path(__file__).resolve().parents[1]


def lab_command(extra: list[str], *, euid: int | None = None) -> list[str]:
    """The ``jupyter lab`` command line this launcher runs (``--allow-root`` only for root)."""
    euid = os.geteuid() if euid is None else euid
    command = [sys.executable, "-m", "jupyterlab"]
    if euid == 0 and "--allow-root" not in extra:
        command.append("--allow-root")
    return command + extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cs231n_lib.lab",
        description=_(
            "Open the course in JupyterLab: ``python -m cs231n_lib.lab`` (or ``cs231n-lab``)."
        ),
    )
    parser.add_argument(
        "--fast", action="store_true", help=_("small data slice (sets CS231N_FAST=1)")
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=RELEASE_ROOT / "notebooks",
        help=_("folder to open (default: the course's notebooks/)"),
    )
    parser.add_argument("extra", nargs="*", help=_("options passed on to JupyterLab (after --)"))
    args = parser.parse_args(argv)
    if not args.notebooks.is_dir():
        print(
            _(
                "error: {path} is not a folder; run this from the course folder or pass "
                "--notebooks PATH"
            ).format(path=args.notebooks),
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    if args.fast:
        env["CS231N_FAST"] = "1"
    command = lab_command([*args.extra, str(args.notebooks)])
    print("starting:", " ".join(command), flush=True)
    os.execve(sys.executable, command, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
