"""Inside the new namespaces, as root, before exec: the new root and the dropped privileges.

:func:`build_root` mounts a new root from the policy's whitelist (system folders and the
Python environment read-only, the workspace read-only, size-limited tmpfs for HOME, the working
directory and /tmp, a fresh /proc and a minimal /dev with pseudo-terminals of its own) and
pivots into it; nothing else of the host exists inside. :func:`drop_privileges` sets the
rlimits, no core dumps, the sandbox uid with no groups and ``PR_SET_NO_NEW_PRIVS``.
"""

from __future__ import annotations

import os
import resource
import shutil

from cs231n_course.sandbox import syscalls as ss
from cs231n_course.sandbox.policy import RLIMITS, Policy

DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
PTYS = 16  # pseudo-terminals the sandbox may hold at once (each running `!cmd` takes one)
_STATVFS_TO_MS = {  # flags a bind remount must keep (the kernel refuses to drop locked ones)
    os.ST_NOSUID: ss.MS_NOSUID,
    os.ST_NODEV: ss.MS_NODEV,
    os.ST_NOEXEC: ss.MS_NOEXEC,
    os.ST_NOATIME: 1024,
    os.ST_NODIRATIME: 2048,
    os.ST_RELATIME: 1 << 21,
}


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


def build_root(policy: Policy, argv_files: list[tuple[str, str]], privileged: bool) -> None:
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
    _mount_ptys(root)
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


def _mount_ptys(root: str) -> None:
    """A devpts of the sandbox's own at /dev/pts, and /dev/ptmx pointing into it.

    IPython runs a student's ``!cmd`` on a pseudo-terminal (pexpect), so without one every
    shell escape fails with "out of pty devices". A new instance holds only the sandbox's own
    terminals (the host's are not visible), at most :data:`PTYS` at once, never counted
    against the host's. Where the machine refuses the mount, the sandbox goes on without
    terminals, as before (the probe reports it).
    """
    pts = root + "/dev/pts"
    _makedirs(pts)
    options = f"newinstance,ptmxmode=0666,mode=0620,max={PTYS}"
    try:
        ss.mount("devpts", pts, "devpts", ss.MS_NOSUID | ss.MS_NOEXEC, options)
    except OSError:
        os.rmdir(pts)
        return
    os.symlink("pts/ptmx", root + "/dev/ptmx")


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


def drop_privileges(policy: Policy, privileged: bool) -> None:
    for name, (soft, hard) in policy.rlimits.items():
        resource.setrlimit(RLIMITS[name], (soft, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if privileged:  # real root: become the sandbox uid (in a user namespace, stay as mapped)
        os.setgroups([])
        os.setresgid(policy.gid, policy.gid, policy.gid)
        os.setresuid(policy.uid, policy.uid, policy.uid)
    ss.prctl(ss.PR_SET_NO_NEW_PRIVS, 1)
