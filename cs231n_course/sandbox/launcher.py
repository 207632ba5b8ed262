"""Run one command (a Jupyter kernel) in a sandbox that a hostile submission cannot leave.

The grader's kernelspec runs ``python -m cs231n_course.sandbox run POLICY -- CMD...``
instead of the kernel itself. Started as root, the launcher

1. watches its parent (nbval's process): if it dies, the tree is killed, so nothing
   outlives a run;
2. unshares mount, PID, IPC and UTS namespaces (and the network namespace if asked; the grader
   usually runs the whole nbval process in a fresh network namespace instead, see :mod:`.netns`)
   and forks: the child is PID 1 of the new PID namespace, so when it dies every process it
   forked dies with it, and it dies when the launcher dies (``PR_SET_PDEATHSIG``);
3. builds a new root from a whitelist (:mod:`.newroot`): system folders and the Python
   environment read-only, the submission's workspace read-only, size-limited tmpfs for HOME,
   the working directory and /tmp, a fresh /proc and a minimal /dev (with pseudo-terminals
   of its own, for a student's ``!cmd``), and pivots into it.
   Nothing else of the host exists inside: not the instructor's source, not the reference
   outputs, not other submissions;
4. sets rlimits (CPU seconds, address space, processes, file size, no core dumps), drops to an
   unprivileged uid with no groups and ``PR_SET_NO_NEW_PRIVS``, and execs the command.

The grader runs nbval itself with :mod:`.netns`: a fresh network namespace holding only a
loopback interface (kernel and nbval talk over 127.0.0.1 inside it, nothing else is reachable),
inside a cgroup that bounds the memory and process count of nbval, launcher and kernel
together and lets the grader kill all of them at once.

Note: the kernel is PID 1 of its namespace, and Linux does not deliver SIGXCPU to a namespace's
init, so the CPU limit takes effect at the hard limit, as SIGKILL.

The launcher stays outside as the parent: it ignores SIGINT (the kernel gets interrupts through
the process group, as with any kernel), turns SIGTERM into SIGKILL of the tree, and when the
child ends writes a status file (exit code or signal, OOM kills, peak memory: :func:`record_exit`)
for the grader.

Without root the launcher uses a user namespace for the same namespaces (no uid change, no
cgroup); :func:`probe` reports what this machine allows, and the grader prints it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

from cs231n_course.sandbox import cgroup as sandbox_cgroup
from cs231n_course.sandbox import syscalls as ss
from cs231n_course.sandbox.child import exec_child, kill_child_on_signals, start_child
from cs231n_course.sandbox.netns import netns_exec
from cs231n_course.sandbox.newroot import build_root
from cs231n_course.sandbox.policy import RLIMITS, Policy, record_exit
from cs231n_course.sandbox.probe import probe_here

__all__ = ["RLIMITS", "Policy", "main", "netns_exec", "record_exit", "run"]

NAMESPACE_FLAGS = {
    "mount": ss.CLONE_NEWNS,
    "pid": ss.CLONE_NEWPID,
    "ipc": ss.CLONE_NEWIPC,
    "uts": ss.CLONE_NEWUTS,
    "net": ss.CLONE_NEWNET,
}


def _child(policy: Policy, argv: list[str], log_fd: int, privileged: bool) -> None:
    """PID 1 of the new namespaces: finish the sandbox and exec. Never returns."""
    try:
        start_child()
        argv, argv_files = _rewrite_argv_files(policy, argv)
        flags = 0
        for name in policy.namespaces:
            if name != "pid":
                flags |= NAMESPACE_FLAGS[name]
        ss.unshare(flags)
        if "mount" in policy.namespaces:
            build_root(policy, argv_files, privileged)
        if "uts" in policy.namespaces:
            with contextlib.suppress(OSError):
                socket.sethostname("grading")
        if "net" in policy.namespaces:
            ss.set_loopback_up()
        exec_child(policy, argv, policy.env, policy.cwd, log_fd, privileged)
    except BaseException:
        with contextlib.suppress(BaseException):
            os.write(log_fd, f"sandbox setup failed:\n{traceback.format_exc()}".encode())
        os._exit(125)


def _rewrite_argv_files(policy: Policy, argv: list[str]) -> tuple[list[str], list[tuple]]:
    """Files named on the command line (a kernel's connection file) are copied inside."""
    if not policy.copy_arg_files:
        return argv, []
    out, files = argv[:1], []
    for arg in argv[1:]:
        if os.path.isabs(arg) and os.path.isfile(arg):
            inside = f"/run/sandbox/{os.path.basename(arg)}"
            files.append((arg, inside))
            out.append(inside)
        else:
            out.append(arg)
    return out, files


# -- the launcher, outside ---------------------------------------------------------------------
def run(policy: Policy, argv: list[str]) -> int:
    """Run ``argv`` in the sandbox described by ``policy``; return an exit status."""
    if not policy.namespaces:  # no namespaces on this machine: uid and rlimits only
        from cs231n_course.sandbox import uidonly

        return uidonly.run(policy, argv)
    parent = os.getppid()
    group = None
    if policy.cgroup_version:
        dirs = {k: Path(v) for k, v in policy.cgroup_dirs.items()}
        group = sandbox_cgroup.Cgroup(policy.cgroup_version, dirs)
    log_fd = os.open(policy.log_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    # The PID namespace applies to children, so the launcher enters it before forking; the
    # others only the child enters (pivot_root would otherwise move the launcher's root too).
    flags = ss.CLONE_NEWPID if "pid" in policy.namespaces else 0
    privileged = os.geteuid() == 0
    if not privileged:
        uid, gid = os.geteuid(), os.getegid()
        ss.unshare(flags | ss.CLONE_NEWUSER)
        ss.write_id_maps(os.getpid(), uid, gid)
    elif flags:
        ss.unshare(flags)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel gets it via the process group
    pid = os.fork()
    if pid == 0:
        _child(policy, argv, log_fd, privileged)
    os.close(log_fd)
    kill_child_on_signals(pid)  # its tree: the child is PID 1 of its namespace
    _wait_or_follow_parent(pid, parent)
    status, usage = 0, None
    with contextlib.suppress(ChildProcessError):
        _, status, usage = os.wait4(pid, 0)
    result = {"pid": pid}
    if group is not None:
        result["oom_kills"] = group.oom_kills()
        result["peak_memory"] = group.peak_memory()
    return record_exit(policy, result, status, usage)


def _wait_or_follow_parent(pid: int, parent: int) -> None:
    """Block until child ``pid`` exits; if our parent (nbval) dies first, kill the child.

    Uses pidfds (process handles), not ``PR_SET_PDEATHSIG``: that signal follows the parent
    *thread*, and jupyter_client may start kernels from a short-lived helper thread.
    """
    try:
        child_fd, parent_fd = os.pidfd_open(pid), os.pidfd_open(parent)
    except (AttributeError, OSError):
        child_fd = parent_fd = None
    if os.getppid() != parent:  # the parent died before we could watch it
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if child_fd is None:
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if os.getppid() != parent:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        return
    poller = select.poll()
    poller.register(child_fd, select.POLLIN)
    poller.register(parent_fd, select.POLLIN)
    try:
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if child_fd in ready:
                return
            if parent_fd in ready:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                poller.unregister(parent_fd)
    finally:
        os.close(child_fd)
        os.close(parent_fd)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["probe"]:
        print(json.dumps(probe_here()))
        return 0
    if argv[:1] == ["netns"] and "--" in argv:
        options = argv[1 : argv.index("--")]
        cgroups = [options[i + 1] for i, o in enumerate(options[:-1]) if o == "--cgroup"]
        netns_exec(argv[argv.index("--") + 1 :], cgroups)
    if argv[:1] == ["run"] and len(argv) >= 4 and argv[2] == "--":
        return run(Policy.read(argv[1]), argv[3:])
    print(
        "usage: python -m cs231n_course.sandbox run POLICY.json -- CMD...\n"
        "       python -m cs231n_course.sandbox netns [--cgroup DIR]... -- CMD...\n"
        "       python -m cs231n_course.sandbox probe",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
