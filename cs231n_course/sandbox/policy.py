"""The files the grader and the sandbox exchange: the policy in, the exit status out.

The grader writes one :class:`Policy` per submission (``grader/policy.py`` decides what goes
in it) as JSON; the launcher (namespaces or uid-only) reads it back in the process it starts,
and :func:`record_exit` writes how the command ended to the status file the policy names.
"""

from __future__ import annotations

import json
import os
import resource
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cs231n_lib.atomic import write_atomic

RLIMITS = {
    "CPU": resource.RLIMIT_CPU,
    "AS": resource.RLIMIT_AS,
    "NPROC": resource.RLIMIT_NPROC,
    "FSIZE": resource.RLIMIT_FSIZE,
    "NOFILE": resource.RLIMIT_NOFILE,
    "CORE": resource.RLIMIT_CORE,
}


@dataclass
class Policy:
    """Everything the launcher needs, written as JSON by the grader (one per submission).

    Paths in ``binds``/``tmpfs``/``symlinks``/``cwd`` are as seen inside the sandbox.
    """

    root: str  # an empty folder the new root is mounted on (outside, root-only)
    uid: int = 65534
    gid: int = 65534
    binds: list[tuple[str, str, bool]] = field(default_factory=list)  # (source, target, rw)
    symlinks: list[tuple[str, str]] = field(default_factory=list)  # (link path, points to)
    tmpfs: list[tuple[str, int]] = field(default_factory=list)  # (target, size in bytes)
    copy_in: list[tuple[str, str]] = field(default_factory=list)  # (source outside, target)
    copy_arg_files: bool = False  # copy files named in argv (a connection file) to /run/sandbox
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/"
    rlimits: dict[str, tuple[int, int]] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=lambda: ["mount", "pid", "ipc", "uts"])
    cgroup_version: int = 0  # the cgroup the grader put this run in (0: none), for reports
    cgroup_dirs: dict[str, str] = field(default_factory=dict)
    status_path: str | None = None
    log_path: str | None = None

    def write(self, path: Path) -> None:
        write_atomic(path, json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, path: str | Path) -> Policy:
        return cls(**json.loads(Path(path).read_text()))


def record_exit(policy: Policy, result: dict, status: int, usage) -> int:
    """Add the child's CPU time and exit (code or signal) to ``result``, write it to the
    policy's status file, and return the launcher's own exit status (128 + signal if killed)."""
    if usage is not None:
        result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    if os.WIFSIGNALED(status):
        result["signal"] = os.WTERMSIG(status)
        code = 128 + result["signal"]
    else:
        result["exit_code"] = code = os.WEXITSTATUS(status)
    if policy.status_path:
        write_atomic(policy.status_path, json.dumps(result))
    return code
