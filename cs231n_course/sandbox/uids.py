"""The sandbox uids: claiming one per worker, and finding and killing their processes.

A grader kills every process of its uids after each run, so two graders (or two test runs)
must never share one: :func:`claim_uids` locks them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from pathlib import Path

UID_LOCKS = Path("/run/cs231n-grade") if os.access("/run", os.W_OK) else Path("/tmp/cs231n-grade")


def claim_uids(base: int, count: int) -> list[tuple[int, int]]:
    """Claim ``count`` sandbox uids from ``base`` up, skipping uids another grader holds.

    A grader kills every process of its uids after each run, so two graders (or two test
    runs) must never share one. Returns (uid, lock file descriptor) pairs; the claim lasts
    until the descriptors are closed (or the process exits).
    """
    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    claimed, uid = [], base
    while len(claimed) < count:
        fd = os.open(UID_LOCKS / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
        else:
            claimed.append((uid, fd))
        uid += 1
        if uid > base + 1000:
            raise RuntimeError(f"no free sandbox uid between {base} and {base + 1000}")
    return claimed


def processes_of(uid: int) -> list[int]:
    """PIDs of the processes whose real uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry))
                        break
        except (OSError, ValueError):
            continue
    return found


def _state_and_parent(pid: int) -> tuple[str, int | None]:
    """A process's state letter (``Z`` for a zombie) and parent PID, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, ValueError, IndexError):
        return "?", None


def kill_strays(uid: int, launcher: int, rounds: int = 40) -> int:
    """Kill the processes of sandbox ``uid`` other than the kernel (the launcher's child).

    Zombies are left alone (they hold only a PID until the kernel exits). Returns how many
    processes were killed; repeats while a fork race keeps making new ones.
    """
    killed: set[int] = set()
    for _ in range(rounds):
        strays = []
        for pid in processes_of(uid):
            state, parent = _state_and_parent(pid)
            if state != "Z" and parent != launcher and pid not in killed:
                strays.append(pid)
        if not strays:
            break
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.02)
    return len(killed)


def kill_uid(uid: int, timeout: float = 10.0) -> list[int]:
    """SIGKILL every process of the (dedicated) sandbox ``uid`` and wait until none is left.

    Returns the processes still there at the timeout (processes stuck in the kernel).
    """
    deadline = time.monotonic() + timeout
    while True:
        left = processes_of(uid)
        if not left or time.monotonic() > deadline:
            return left
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
