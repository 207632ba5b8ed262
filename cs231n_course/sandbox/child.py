"""The one child each launcher forks (namespaces or uid-only): how it starts and how it is killed.

Both launchers fork once and stay outside as the child's parent. :func:`start_child` is the
child's first step (die with the launcher, default signal actions again), :func:`exec_child`
its last (stdin from /dev/null, stdout and stderr to the log, the policy's rlimits and uid, exec);
:func:`kill_child_on_signals` makes the launcher turn SIGTERM, SIGHUP and SIGQUIT into a SIGKILL
of the child, so a stopped launcher never leaves a kernel behind. A leaf: it imports only the
sandbox's leaves (``syscalls``, ``policy``, ``newroot``).
"""

from __future__ import annotations

import contextlib
import os
import signal

from cs231n_course.sandbox import syscalls as ss
from cs231n_course.sandbox.newroot import drop_privileges
from cs231n_course.sandbox.policy import Policy

FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)  # become SIGKILL of the child


def start_child() -> None:
    """In the forked child, first: SIGKILL when the launcher dies, and the default action for
    the signals the launcher ignores (SIGINT) or forwards."""
    ss.prctl(ss.PR_SET_PDEATHSIG, signal.SIGKILL)
    for sig in (signal.SIGINT, *FORWARDED):
        signal.signal(sig, signal.SIG_DFL)


def exec_child(
    policy: Policy, argv: list[str], env: dict[str, str], cwd: str, log_fd: int, privileged: bool
) -> None:
    """In the forked child, last: stdin from /dev/null, stdout and stderr to ``log_fd``, the
    policy's rlimits and uid (:func:`~.newroot.drop_privileges`), no other descriptor, exec."""
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    drop_privileges(policy, privileged)
    os.chdir(cwd)
    os.closerange(3, 65536)
    os.execve(argv[0], argv, env)


def kill_child_on_signals(pid: int) -> None:
    """In the launcher, after the fork: SIGTERM, SIGHUP and SIGQUIT kill child ``pid``
    (SIGKILL: in the namespace sandbox it is PID 1, so its whole tree goes with it)."""

    def kill(signum, frame):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    for sig in FORWARDED:
        signal.signal(sig, kill)
