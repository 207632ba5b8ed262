"""Run one command (a Jupyter kernel) in a sandbox that a hostile submission cannot leave.

The grader's kernelspec runs ``python -m cs231n_course.sandbox run POLICY -- CMD...``
instead of the kernel itself. Started as root, the launcher

1. watches its parent (nbval's process): if it dies, the tree is killed, so nothing
   outlives a run;
2. unshares mount, PID, IPC and UTS namespaces (and the network namespace if asked; the grader
   usually runs the whole nbval process in a fresh network namespace instead, see ``netns``)
   and forks: the child is PID 1 of the new PID namespace, so when it dies every process it
   forked dies with it, and it dies when the launcher dies (``PR_SET_PDEATHSIG``);
3. builds a new root from a whitelist: system folders and the Python environment read-only,
   the submission's workspace read-only, size-limited tmpfs for HOME, the working directory
   and /tmp, a fresh /proc and a minimal /dev, and pivots into it. Nothing else of the host
   exists inside: not the instructor's source, not the reference outputs, not other
   submissions;
4. sets rlimits (CPU seconds, address space, processes, file size, no core dumps), drops to an
   unprivileged uid with no groups and ``PR_SET_NO_NEW_PRIVS``, and execs the command.

The grader runs nbval itself with ``netns`` below: a fresh network namespace holding only a
loopback interface (kernel and nbval talk over 127.0.0.1 inside it, nothing else is reachable),
inside a cgroup that bounds the memory and process count of nbval, launcher and kernel
together and lets the grader kill all of them at once.

Note: the kernel is PID 1 of its namespace, and Linux does not deliver SIGXCPU to a namespace's
init, so the CPU limit takes effect at the hard limit, as SIGKILL.

The launcher stays outside as the parent: it ignores SIGINT (the kernel gets interrupts through
the process group, as with any kernel), turns SIGTERM into SIGKILL of the tree, and when the
child ends writes a status file (exit code or signal, OOM kills, peak memory) for the grader.

Without root the launcher uses a user namespace for the same namespaces (no uid change, no
cgroup); :func:`probe` reports what this machine allows, and the grader prints it.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cs231n_course.sandbox import cgroup as sandbox_cgroup
from cs231n_course.sandbox import syscalls as ss
from cs231n_course.sandbox.probe import probe_here
from cs231n_lib.atomic import write_atomic

RLIMITS = {
    "CPU": resource.RLIMIT_CPU,
    "AS": resource.RLIMIT_AS,
    "NPROC": resource.RLIMIT_NPROC,
    "FSIZE": resource.RLIMIT_FSIZE,
    "NOFILE": resource.RLIMIT_NOFILE,
    "CORE": resource.RLIMIT_CORE,
}
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
NAMESPACE_FLAGS = {
    "mount": ss.CLONE_NEWNS,
    "pid": ss.CLONE_NEWPID,
    "ipc": ss.CLONE_NEWIPC,
    "uts": ss.CLONE_NEWUTS,
    "net": ss.CLONE_NEWNET,
}
_STATVFS_TO_MS = {  # flags a bind remount must keep (the kernel refuses to drop locked ones)
    os.ST_NOSUID: ss.MS_NOSUID,
    os.ST_NODEV: ss.MS_NODEV,
    os.ST_NOEXEC: ss.MS_NOEXEC,
    os.ST_NOATIME: 1024,
    os.ST_NODIRATIME: 2048,
    os.ST_RELATIME: 1 << 21,
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


# -- inside the new namespaces, as root, before exec -------------------------------------------
def _makedirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _bind(src: str, dst: str, writable: bool, *, devices: bool = False) -> None:
    if os.path.isdir(src):
        _makedirs(dst)
    else:
        _makedirs(os.path.dirname(dst))
        if not os.path.exists(dst):
            with open(dst, "w"):
                pass
    ss.mount(src, dst, None, ss.MS_BIND | ss.MS_REC)
    keep = 0
    vfs = os.statvfs(src).f_flag
    for st_flag, ms_flag in _STATVFS_TO_MS.items():
        if vfs & st_flag:
            keep |= ms_flag
    flags = ss.MS_BIND | ss.MS_REMOUNT | ss.MS_NOSUID | keep
    if not devices:
        flags |= ss.MS_NODEV
    if not writable:
        flags |= ss.MS_RDONLY
    ss.mount(None, dst, None, flags)


def _build_root(policy: Policy, argv_files: list[tuple[str, str]], privileged: bool) -> None:
    root = policy.root
    ss.mount(None, "/", None, ss.MS_REC | ss.MS_PRIVATE)
    ss.mount("tmpfs", root, "tmpfs", ss.MS_NOSUID | ss.MS_NODEV, "size=1m,mode=755")
    owner = f"uid={policy.uid},gid={policy.gid}" if privileged else ""
    # Mount parents before children: "/course" before "/course/notebooks".
    mounts = [(dst, "bind", (src, rw)) for src, dst, rw in policy.binds]
    mounts += [(dst, "tmpfs", size) for dst, size in policy.tmpfs]
    mounts += [("/run/sandbox", "tmpfs", 1 << 20)] if argv_files else []
    for dst, kind, arg in sorted(mounts, key=lambda m: m[0].count("/")):
        target = root + dst
        if kind == "bind":
            _bind(arg[0], target, arg[1])
        else:
            _makedirs(target)
            options = ",".join(filter(None, [f"size={arg}", "mode=700", owner]))
            ss.mount("tmpfs", target, "tmpfs", ss.MS_NOSUID | ss.MS_NODEV, options)
    for link, points_to in policy.symlinks:
        _makedirs(os.path.dirname(root + link))
        os.symlink(points_to, root + link)
    if "pid" in policy.namespaces:
        _makedirs(root + "/proc")
        ss.mount("proc", root + "/proc", "proc", ss.MS_NOSUID | ss.MS_NODEV | ss.MS_NOEXEC)
    _makedirs(root + "/dev")
    ss.mount("tmpfs", root + "/dev", "tmpfs", ss.MS_NOSUID | ss.MS_NOEXEC, "size=64k,mode=755")
    for dev in DEVICES:
        if os.path.exists(dev):
            _bind(dev, root + dev, True, devices=True)
    for name, fd in (("stdin", 0), ("stdout", 1), ("stderr", 2)):
        os.symlink(f"/proc/self/fd/{fd}", f"{root}/dev/{name}")
    os.symlink("/proc/self/fd", f"{root}/dev/fd")
    _makedirs(root + "/dev/shm")
    ss.mount(
        "tmpfs",
        root + "/dev/shm",
        "tmpfs",
        ss.MS_NOSUID | ss.MS_NODEV,
        ",".join(filter(None, ["size=64m", "mode=700", owner])),
    )
    for src, dst in [*policy.copy_in, *argv_files]:
        _copy_owned(src, root + dst, policy.uid, policy.gid, privileged)
    os.chdir(root)
    ss.pivot_root(".", ".")  # stack the new root on the old one, then detach the old one
    ss.umount(".", ss.MNT_DETACH)
    os.chdir("/")
    ss.mount(None, "/", None, ss.MS_REMOUNT | ss.MS_RDONLY | ss.MS_NOSUID | ss.MS_NODEV, None)


def _copy_owned(src: str, dst: str, uid: int, gid: int, privileged: bool) -> None:
    _makedirs(os.path.dirname(dst))
    if os.path.isdir(src):
        shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copyfile(src, dst)
    if not privileged:
        return
    for folder, dirs, files in os.walk(dst):
        os.chown(folder, uid, gid)
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)


def _drop_privileges(policy: Policy, privileged: bool) -> None:
    for name, (soft, hard) in policy.rlimits.items():
        resource.setrlimit(RLIMITS[name], (soft, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if privileged:  # real root: become the sandbox uid (in a user namespace, stay as mapped)
        os.setgroups([])
        os.setresgid(policy.gid, policy.gid, policy.gid)
        os.setresuid(policy.uid, policy.uid, policy.uid)
    ss.prctl(ss.PR_SET_NO_NEW_PRIVS, 1)


def _child(policy: Policy, argv: list[str], log_fd: int, privileged: bool) -> None:
    """PID 1 of the new namespaces: finish the sandbox and exec. Never returns."""
    try:
        ss.prctl(ss.PR_SET_PDEATHSIG, signal.SIGKILL)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)
        argv, argv_files = _rewrite_argv_files(policy, argv)
        flags = 0
        for name in policy.namespaces:
            if name != "pid":
                flags |= NAMESPACE_FLAGS[name]
        ss.unshare(flags)
        if "mount" in policy.namespaces:
            _build_root(policy, argv_files, privileged)
        if "uts" in policy.namespaces:
            with contextlib.suppress(OSError):
                socket.sethostname("grading")
        if "net" in policy.namespaces:
            ss.set_loopback_up()
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        _drop_privileges(policy, privileged)
        os.chdir(policy.cwd)
        os.closerange(3, 65536)
        os.execve(argv[0], argv, policy.env)
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

    def kill_tree(signum, frame):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, kill_tree)
    _wait_or_follow_parent(pid, parent)
    status, usage = 0, None
    with contextlib.suppress(ChildProcessError):
        _, status, usage = os.wait4(pid, 0)
    result = {"pid": pid}
    if group is not None:
        result["oom_kills"] = group.oom_kills()
        result["peak_memory"] = group.peak_memory()
    return record_exit(policy, result, status, usage)


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


def netns_exec(argv: list[str], cgroup_dirs: list[str] = ()) -> None:
    """Exec ``argv`` in a new network namespace with only a loopback interface.

    The process first joins the cgroup folders given (so the grader can kill the whole run,
    kernel included, at once) and asks to be killed when its parent dies. If the machine
    refuses a network namespace (no root, no user namespaces), it execs anyway and says so on
    stderr and in the file ``$CS231N_NETNS_STATUS`` (which the grader reads).
    """
    ss.prctl(ss.PR_SET_PDEATHSIG, signal.SIGKILL)
    for folder in cgroup_dirs:
        Path(folder, "cgroup.procs").write_text("0")
    status = "isolated"
    try:
        if os.geteuid() == 0:
            ss.unshare(ss.CLONE_NEWNET)
        else:
            uid, gid = os.geteuid(), os.getegid()
            ss.unshare(ss.CLONE_NEWUSER | ss.CLONE_NEWNET)
            ss.write_id_maps(os.getpid(), uid, gid)
        ss.set_loopback_up()
    except OSError as err:
        status = f"not isolated: {err}"
        print(f"cs231n sandbox: network NOT isolated ({err})", file=sys.stderr)
    report = os.environ.pop("CS231N_NETNS_STATUS", "")
    if report:
        Path(report).write_text(status)
    os.execvp(argv[0], argv)


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
