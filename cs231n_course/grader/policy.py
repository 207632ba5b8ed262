"""The sandbox policy of one submission's kernels: what exists inside, and the limits.

System folders and the Python environment read-only, the spliced workspace read-only at
``/course``, tmpfs HOME, working directory and /tmp, the grading seed in the environment, and
rlimits from :class:`~cs231n_course.grader.types.Limits`. The sandbox itself
(:mod:`cs231n_course.sandbox`) enforces it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cs231n_course.grader.types import Runtime
from cs231n_course.sandbox import Policy

SANDBOX_HOME = "/home/student"
SANDBOX_COURSE = "/course"
SANDBOX_EXPORT = "/grading-export"  # where tuning checks hand the grader their weights


def _system_binds() -> tuple[list, list]:
    binds, links = [("/usr", "/usr", False), ("/etc", "/etc", False)], []
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            links.append((top, os.readlink(top)))
        elif os.path.isdir(top):
            binds.append((top, top, False))
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    prefixes.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    for prefix in sorted(prefixes):
        if not prefix.startswith("/usr/"):
            binds.append((prefix, prefix, False))
    if os.path.realpath(sys.prefix) != sys.prefix:
        binds.append((os.path.realpath(sys.prefix), sys.prefix, False))
    return binds, links


def make_policy(rt: Runtime, ws: Path, slot: int, group) -> Policy:
    """The sandbox of one submission's kernels (see :mod:`cs231n_course.sandbox`)."""
    lim = rt.limits
    binds, links = _system_binds()
    binds.append((str(ws / "course"), SANDBOX_COURSE, False))
    if rt.data_dir is not None:
        binds.append((str(rt.data_dir), f"{SANDBOX_COURSE}/datasets", False))
    binds.append((str(ws / "grading" / "export"), SANDBOX_EXPORT, True))
    root = os.geteuid() == 0
    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "PYTHONPATH": SANDBOX_COURSE,
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CS231N_GRADING_SEED": str(rt.seed),
        "CS231N_FAST": "1" if rt.fast else "0",
        "CS231N_GRADING_EXPORT": SANDBOX_EXPORT,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": f"{SANDBOX_HOME}/.config/matplotlib",
        "IPYTHONDIR": f"{SANDBOX_HOME}/.ipython",
        "JUPYTER_CONFIG_DIR": f"{SANDBOX_HOME}/.jupyter",
        "JUPYTER_DATA_DIR": f"{SANDBOX_HOME}/.local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": f"{SANDBOX_HOME}/.local/share/jupyter/runtime",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    rlimits = {
        "CPU": (lim.cpu_seconds, lim.cpu_seconds),
        "AS": (lim.memory_bytes, lim.memory_bytes),
        "FSIZE": (lim.scratch_bytes, lim.scratch_bytes),
        "NOFILE": (1024, 1024),
    }
    if root:  # RLIMIT_NPROC counts per uid; only a uid of its own makes it a per-sandbox limit
        rlimits["NPROC"] = (lim.max_processes, lim.max_processes)
    grading = ws / "grading"
    return Policy(
        root=str(grading / "root"),
        uid=rt.uids[slot],
        gid=rt.uids[slot],
        binds=binds,
        symlinks=links,
        tmpfs=[
            (SANDBOX_HOME, lim.scratch_bytes),
            ("/tmp", lim.scratch_bytes),
            (f"{SANDBOX_COURSE}/notebooks", lim.scratch_bytes),
        ],
        copy_in=[(str(rt.home_template), SANDBOX_HOME)],
        copy_arg_files=True,
        env=env,
        cwd=f"{SANDBOX_COURSE}/notebooks",
        rlimits=rlimits,
        namespaces=[] if rt.capabilities.get("isolation") else ["mount", "pid", "ipc", "uts"],
        cgroup_version=group.version if group else 0,
        cgroup_dirs={k: str(v) for k, v in group.dirs.items()} if group else {},
        status_path=str(grading / "kernel-status.json"),
        log_path=str(grading / "kernel.log"),
    )
