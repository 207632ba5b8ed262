"""One control group per sandboxed process tree: a memory limit and a process limit for the tree.

Rlimits apply per process (``RLIMIT_AS``) or per user (``RLIMIT_NPROC``); a cgroup bounds the
whole tree, however many processes it forks, and can kill all of it at once. Both cgroup v2
(``memory`` and ``pids`` controllers in the unified hierarchy) and v1 (separate ``memory`` and
``pids`` hierarchies) are supported. Where neither is writable, :func:`create` returns None and
the caller relies on rlimits alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PARENT = "cs231n-grade"


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fstype, options) of every mount."""
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4:
                found.append((parts[1], parts[2], parts[3]))
    return found


def _v2_root() -> Path | None:
    for point, fstype, _ in _mounts():
        if fstype == "cgroup2":
            controllers = Path(point, "cgroup.controllers")
            with contextlib.suppress(OSError):
                if {"memory", "pids"} <= set(controllers.read_text().split()):
                    return Path(point)
    return None


def _v1_roots() -> dict[str, Path]:
    roots = {}
    for point, fstype, options in _mounts():
        if fstype == "cgroup":
            for controller in ("memory", "pids", "cpuacct"):
                if controller in options.split(","):
                    roots[controller] = Path(point)
    return roots


@dataclass
class Cgroup:
    """A created cgroup; ``dirs`` are its folders (one for v2, one per controller for v1)."""

    version: int
    dirs: dict[str, Path]

    def add(self, pid: int) -> None:
        for folder in dict.fromkeys(self.dirs.values()):
            (folder / "cgroup.procs").write_text(str(pid))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for folder in dict.fromkeys(self.dirs.values()):
            with contextlib.suppress(OSError):
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
        return found

    def kill_all(self, rounds: int = 50) -> None:
        """SIGKILL every process in the group, repeating until none is left (forks race)."""
        kill_file = self.dirs["pids"] / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        for _ in range(rounds):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def peak_memory(self) -> int | None:
        """Peak memory use of the tree in bytes, where the kernel reports it."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        with contextlib.suppress(OSError, ValueError):
            return int((self.dirs["memory"] / name).read_text())
        return None

    def cpu_seconds(self) -> float | None:
        """CPU time used by every process that ran in the group, where it is accounted."""
        with contextlib.suppress(OSError, ValueError, KeyError):
            if self.version == 2:
                stat = dict(
                    line.split()
                    for line in (self.dirs["memory"] / "cpu.stat").read_text().splitlines()
                )
                return int(stat["usage_usec"]) / 1e6
            return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        return None

    def oom_kills(self) -> int:
        """How many processes of the tree the kernel's OOM killer killed at the memory limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        with contextlib.suppress(OSError):
            for line in (self.dirs["memory"] / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def remove(self) -> None:
        self.kill_all()
        for folder in dict.fromkeys(self.dirs.values()):
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy for a moment after the last process exits
                    time.sleep(0.02)


def create(name: str, *, memory_bytes: int, pids_max: int) -> Cgroup | None:
    """Create cgroup ``cs231n-grade/<name>`` with the limits, or return None if unavailable."""
    try:
        root = _v2_root()
        if root is not None:
            return _create_v2(root, name, memory_bytes, pids_max)
        roots = _v1_roots()
        if {"memory", "pids"} <= set(roots):
            return _create_v1(roots, name, memory_bytes, pids_max)
    except OSError:
        return None
    return None


def _create_v2(root: Path, name: str, memory_bytes: int, pids_max: int) -> Cgroup:
    parent = root / PARENT
    parent.mkdir(exist_ok=True)
    for folder in (root, parent):
        (folder / "cgroup.subtree_control").write_text("+memory +pids")
        with contextlib.suppress(OSError):
            (folder / "cgroup.subtree_control").write_text("+cpu")
    folder = parent / name
    folder.mkdir(exist_ok=True)
    (folder / "memory.max").write_text(str(memory_bytes))
    with contextlib.suppress(OSError):
        (folder / "memory.swap.max").write_text("0")
    (folder / "pids.max").write_text(str(pids_max))
    return Cgroup(2, {"memory": folder, "pids": folder})


def _create_v1(roots: dict[str, Path], name: str, memory_bytes: int, pids_max: int) -> Cgroup:
    dirs = {}
    for controller in [c for c in ("memory", "pids", "cpuacct") if c in roots]:
        folder = roots[controller] / PARENT / name
        folder.mkdir(parents=True, exist_ok=True)
        dirs[controller] = folder
    (dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
    with contextlib.suppress(OSError):
        (dirs["memory"] / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
    (dirs["pids"] / "pids.max").write_text(str(pids_max))
    return Cgroup(1, dirs)


def remove_stale() -> None:
    """Remove groups left by grader processes that no longer exist (a killed batch)."""
    folders = [_v2_root()] if _v2_root() else list(_v1_roots().values())
    for root in folders:
        for folder in sorted((root / PARENT).glob("*-*")) if (root / PARENT).is_dir() else []:
            owner = folder.name.split("-", 1)[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                version = 2 if root == _v2_root() else 1
                Cgroup(version, {"memory": folder, "pids": folder}).remove()
