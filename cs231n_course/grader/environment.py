"""The grading environment every kernel of a batch shares, prepared once per batch.

- :func:`require_isolation`: what this machine's sandbox can do; refuses to grade without mount
  and PID namespaces (a submission could read the solutions);
- :func:`grading_seed`: from ``--seed`` or from a secret created once in ``OUT/.grader``;
- :func:`home_template`: the sandbox HOME, with matplotlib's font cache built and the kernel
  startup file (:mod:`~cs231n_course.grader.kernel_startup`) installed;
- :func:`data_dir`: the course's data folder, decoded so kernels only read it;
- :func:`sanitizer_path`: the nbval sanitizer the comparisons use.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from cs231n_course import sandbox
from cs231n_course.grader.types import GradingError, Limits

# Copied into every sandbox HOME as an IPython startup file. A real module file (so ruff and
# the tests read it as code), never imported here: it runs only inside a kernel.
STARTUP_FILE = Path(__file__).with_name("kernel_startup.py")


def require_isolation(mode: str = "namespaces", limits: Limits | None = None) -> dict[str, str]:
    """What this machine gives the sandbox; refuses without namespaces unless ``mode`` allows
    the uid-only fallback (a hosted autograder's container): then ``isolation`` says so."""
    capabilities = sandbox.probe()
    mount = capabilities.get("mount+pid namespaces", "")
    if mode == "uid-only" or (mode == "uid-only-fallback" and mount != "ok"):
        if os.geteuid() != 0:
            raise GradingError("uid-only isolation needs root (to run kernels as another uid)")
        from cs231n_course.sandbox.uidonly import describe

        return {**capabilities, "isolation": describe(limits or Limits())}
    if mount != "ok":
        raise GradingError(
            f"this machine gives no mount and PID namespaces ({mount}); without them a "
            f"submission could read the solutions. Run the grader as root (e.g. in a "
            f"container) or enable unprivileged user namespaces "
            f"(sysctl kernel.unprivileged_userns_clone=1)"
        )
    return capabilities


def grading_seed(seed: int | None, private: Path) -> tuple[int, str]:
    if seed is not None:
        return seed, "given with --seed"
    path = private / "secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    digest = hashlib.sha256(path.read_bytes().strip()).hexdigest()
    return int(digest[:8], 16) % (2**31 - 1), f"derived from the secret in {path}"


def home_template(cache: Path) -> Path:
    """A HOME with matplotlib's font cache built and the kernel startup file, for every
    sandbox."""
    startup_code = STARTUP_FILE.read_text(encoding="utf-8")
    version = hashlib.sha256(startup_code.encode()).hexdigest()[:12]
    home = cache / f"home-template-{version}"
    if (home / ".ready").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    config = home / ".config" / "matplotlib"
    config.mkdir(parents=True)
    startup = home / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-cs231n-grading.py").write_text(startup_code)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import matplotlib; matplotlib.use('agg'); import matplotlib.pyplot",
        ],
        env={**os.environ, "MPLCONFIGDIR": str(config), "HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    (home / ".ready").write_text("")
    return home


def data_dir(source: Path) -> Path | None:
    """The course's data folder, with the decoded cache built so kernels only read it."""
    folder = source / "datasets"
    if not folder.is_dir():
        return None
    if list(folder.glob("cache/*/X_train.npy")) or (folder / "cifar-10-batches-py").is_dir():
        return folder  # decoded already (or the official batches, which need no decoding)
    code = "from cs231n_lib.data import load_cifar10; load_cifar10(verbose=False)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(source), "CS231N_DATA_DIR": str(folder)},
    )
    if done.returncode != 0:
        raise GradingError(f"cannot prepare the data in {folder}: {done.stderr.strip()[-800:]}")
    return folder


def sanitizer_path(given: Path | None, source: Path) -> Path | None:
    if given is not None:
        return Path(given).resolve()
    default = source / "tests" / "sanitize.cfg"
    return default if default.is_file() else None
