"""The sandbox where the machine gives no namespaces (a Gradescope container, say): a uid of its
own, rlimits, and a private scratch folder, and nothing else.

Used when a policy lists no namespaces (the grader chose "uid-only" isolation, which it does
only when asked to: ``course gradescope`` autograders). Started as root, the launcher

1. makes a scratch folder (``/tmp/cs231n-kernel-*``, root-owned, mode 0711: others may pass
   through but not list it) holding a read-only copy of the spliced course (library and checks,
   no notebooks), a link to the data set, and HOME, /tmp and the working directory as folders
   owned by the sandbox uid;
2. copies the kernel's connection file there, owned by that uid;
3. rewrites the policy's in-sandbox paths (``/course``, ``/home/student``, ``/tmp``) to those
   folders in the environment, the working directory and argv;
4. forks; the child sets the rlimits, drops every group, becomes the sandbox uid with
   ``no_new_privs`` and execs the kernel.

What protects the grader's secrets then is file permissions: the reference outputs, the seed
secret and the per-submission workspaces live under the grader's ``OUT/.grader`` (mode 0700,
root), and the autograder makes the instructor's source unreadable before grading. Processes
the kernel leaves behind are killed by uid after each run, as in the namespace sandbox. What is
missing compared with it: the kernel sees the rest of the file system (world-readable system
files), has no PID namespace, and its memory is bounded by RLIMIT_AS per process only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
import traceback
from pathlib import Path

from cs231n_course.sandbox.child import exec_child, kill_child_on_signals, start_child
from cs231n_course.sandbox.policy import Policy, record_exit
from cs231n_course.sandbox.uids import processes_of

SCRATCH_PARENT = "/tmp"
# Without a cgroup, RLIMIT_AS bounds virtual memory only (an honest kernel maps about 1 GiB of
# it), so the launcher also watches the resident memory of every process of the sandbox uid
# and kills them all above this: within a 768 MB container, with room for nbval and the grader.
RSS_LIMIT = 512 << 20


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)


def _readable_copy(src: str, dst: Path) -> None:
    """A root-owned copy others may read but not write."""
    shutil.copytree(src, dst, symlinks=False)
    for folder, _dirs, files in os.walk(dst):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


COPY_BACK_BYTES = 256 << 20  # the grader reads at most this much of one export


def prepare(policy: Policy, argv: list[str]) -> tuple[Path, dict[str, str], list[str]]:
    """Build the scratch folder; return it, the path mapping and the rewritten argv."""
    scratch = Path(tempfile.mkdtemp(prefix="cs231n-kernel-", dir=SCRATCH_PARENT))
    os.chmod(scratch, 0o711)
    mapping: dict[str, str] = {}
    system = {dst for src, dst, _ in policy.binds if os.path.realpath(src) == dst}
    binds = sorted((b for b in policy.binds if b[1] not in system), key=lambda b: b[1].count("/"))
    for src, dst, writable in binds:
        if writable:  # a folder the kernel writes for the grader: empty here, copied back after
            target = scratch / dst.strip("/")
            target.mkdir(parents=True, mode=0o700)
            os.chown(target, policy.uid, policy.gid)
            mapping[dst] = str(target)
            continue
        holder = next(
            (p for p in sorted(mapping, key=len, reverse=True) if dst.startswith(p + "/")), None
        )
        if holder is None:
            target = scratch / dst.strip("/")
            _readable_copy(src, target)
        else:  # a bind inside a copied folder (the data set): a link to the real folder
            target = Path(mapping[holder]) / os.path.relpath(dst, holder)
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            target.symlink_to(os.path.realpath(src))
        mapping[dst] = str(target)
    for dst, _size in policy.tmpfs:
        target = scratch / ("tmp" if dst == "/tmp" else dst.strip("/"))
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True, mode=0o700)
        os.chown(target, policy.uid, policy.gid)
        mapping[dst] = str(target)
    for src, dst in policy.copy_in:
        target = Path(remap(dst, mapping))
        shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
        _chown_tree(target, policy.uid, policy.gid)
    run_dir = scratch / "run"
    run_dir.mkdir(mode=0o700)
    os.chown(run_dir, policy.uid, policy.gid)
    new_argv = argv[:1]
    for arg in argv[1:]:
        if policy.copy_arg_files and os.path.isabs(arg) and os.path.isfile(arg):
            inside = run_dir / os.path.basename(arg)
            shutil.copyfile(arg, inside)
            os.chown(inside, policy.uid, policy.gid)
            os.chmod(inside, 0o600)
            new_argv.append(str(inside))
        else:
            new_argv.append(remap(arg, mapping))
    return scratch, mapping, new_argv


def _copy_back(policy: Policy, mapping: dict[str, str]) -> None:
    """What the kernel wrote into a writable bind (the tuning exports), copied to the real
    folder: regular files at its top level only, never following a link the kernel made."""
    for src, dst, writable in policy.binds:
        if not writable or dst not in mapping:
            continue
        with contextlib.suppress(OSError), os.scandir(mapping[dst]) as entries:
            for entry in entries:
                if (
                    entry.is_file(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_size <= COPY_BACK_BYTES
                ):
                    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    with os.fdopen(fd, "rb") as f, open(os.path.join(src, entry.name), "wb") as g:
                        shutil.copyfileobj(f, g)


def remap(value: str, mapping: dict[str, str]) -> str:
    """``value`` with an in-sandbox path prefix (and ``:``-separated lists) replaced."""
    parts = []
    for part in value.split(":"):
        for inside in sorted(mapping, key=len, reverse=True):
            if part == inside or part.startswith(inside + "/"):
                part = mapping[inside] + part[len(inside) :]
                break
        parts.append(part)
    return ":".join(parts)


def run(policy: Policy, argv: list[str]) -> int:
    """Run ``argv`` as the policy's uid with its rlimits; the status file says "uid-only"."""
    if os.geteuid() != 0:
        raise RuntimeError("uid-only isolation needs root (to switch to the sandbox uid)")
    parent = os.getppid()
    log_fd = os.open(policy.log_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    scratch, mapping, argv = prepare(policy, argv)
    env = {k: remap(v, mapping) if k != "PATH" else v for k, v in policy.env.items()}
    cwd = remap(policy.cwd, mapping)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        try:
            start_child()
            exec_child(policy, argv, env, cwd, log_fd, True)
        except BaseException:
            with contextlib.suppress(BaseException):
                message = f"uid-only sandbox setup failed:\n{traceback.format_exc()}"
                os.write(2, message.encode())
            os._exit(125)
    os.close(log_fd)
    kill_child_on_signals(pid)  # the rest of its uid's processes: _watch and the grader
    try:
        watchdog = _watch(pid, parent, policy.uid)
        status, usage = 0, None
        with contextlib.suppress(ChildProcessError):
            _, status, usage = os.wait4(pid, 0)
    finally:
        _copy_back(policy, mapping)
        shutil.rmtree(scratch, ignore_errors=True)
    result = {"pid": pid, "isolation": "uid-only"}
    if watchdog:
        result["memory_watchdog"] = watchdog
        result["oom_kills"] = 1
    if usage is not None:
        result["peak_memory"] = usage.ru_maxrss * 1024
    return record_exit(policy, result, status, usage)


def _rss_of(uid: int) -> int:
    total = 0
    for pid in processes_of(uid):
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
    return total


def _watch(pid: int, parent: int, uid: int) -> str:
    """Wait for ``pid``; kill the uid's processes if nbval dies or they exceed RSS_LIMIT."""
    while True:
        with contextlib.suppress(ChildProcessError):
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return ""
        if os.getppid() != parent:
            _kill_all(pid, uid)
            return ""
        rss = _rss_of(uid)
        if rss > RSS_LIMIT:
            _kill_all(pid, uid)
            return f"killed at {rss >> 20} MiB resident (limit {RSS_LIMIT >> 20} MiB)"
        time.sleep(0.1)


def _kill_all(pid: int, uid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for other in processes_of(uid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(other, signal.SIGKILL)


def describe(limits) -> str:
    """The isolation line for the instructor's summary."""
    return (
        f"uid-only (no namespaces here): the kernel runs as a sandbox uid of its own with "
        f"no groups and no_new_privs, rlimits (CPU {limits.cpu_seconds} s, address space "
        f"{limits.memory_bytes >> 20} MiB per process, resident memory {RSS_LIMIT >> 20} MiB "
        f"for all its processes (watched), processes {limits.max_processes}, file "
        f"size {limits.scratch_bytes >> 20} MiB), in a private scratch folder; the reference "
        f"outputs, the seed secret and the instructor's source are unreadable to it by file "
        f"permissions; no PID, mount or network namespace"
    )
