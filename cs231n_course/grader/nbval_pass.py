"""One nbval *pass*: one ``pytest --nbval`` process over a workspace's notebooks, contained.

It starts in a new network namespace and a fresh cgroup (nbval, sandbox launcher and kernel
together), with a wall-clock limit; nbval starts one sandboxed kernel per notebook, times every
cell, and the grader's plugin (:mod:`~cs231n_course.grader.plugin`) records one event per cell.
:func:`run_pass` returns those events; scoring them is :mod:`~cs231n_course.grader.scoring`'s.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from cs231n_course.grader.policy import make_policy
from cs231n_course.grader.types import Course, RunStats, Runtime
from cs231n_course.grader.workspace import RegionSet, assemble_library
from cs231n_course.sandbox import cgroup as sandbox_cgroup
from cs231n_course.sandbox import kill_uid

KERNEL_NAME = "cs231n-grade"
PLUGIN = "cs231n_course.grader.plugin"
SANDBOX = "cs231n_course.sandbox"


def prepare_workspace(
    ws: Path, course: Course, regions: RegionSet
) -> tuple[list[str], dict[str, str]]:
    """Create ``ws`` with the spliced library; returns (regions used, {refused region: why})."""
    if ws.exists():
        shutil.rmtree(ws)
    (ws / "course").mkdir(parents=True, mode=0o755)
    os.chmod(ws, 0o700)
    used, refused = assemble_library(course.release_root, ws / "course", regions)
    for sub in ("datasets", "notebooks"):
        (ws / "course" / sub).mkdir()
    for sub in ("notebooks", "root", "runtime", "home", f"jupyter/kernels/{KERNEL_NAME}"):
        (ws / "grading" / sub).mkdir(parents=True, exist_ok=True)
    (ws / "grading" / "pytest.ini").write_text("[pytest]\n")
    return used, refused


def run_pass(
    rt: Runtime, ws: Path, slot: int, notebooks: list[str], tag: str, *, record: bool = False
) -> tuple[list[dict], RunStats]:
    """Run nbval once over ``ws/grading/notebooks/<notebooks>``; return its events."""
    grading = ws / "grading"
    stats = RunStats(passes=1)
    events_path = grading / f"events-{tag}.jsonl"
    events_path.unlink(missing_ok=True)
    export = grading / "export"  # writable by this pass's kernel only; emptied per pass
    shutil.rmtree(export, ignore_errors=True)
    export.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(export, rt.uids[slot], rt.uids[slot])
    group = (
        sandbox_cgroup.create(
            f"{os.getpid()}-{slot}-{tag}",
            memory_bytes=rt.limits.memory_bytes + (1 << 30),
            pids_max=rt.limits.max_processes + 64,
        )
        if os.geteuid() == 0
        else None
    )
    policy = make_policy(rt, ws, slot, group)
    policy.write(grading / "policy.json")
    spec = _kernel_spec(rt, grading / "policy.json")
    (grading / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec))
    lim = rt.limits
    cmd = [rt.python, "-m", SANDBOX, "netns"]
    for folder in dict.fromkeys(group.dirs.values()) if group else []:
        cmd += ["--cgroup", str(folder)]
    cmd += ["--", *_nbval_command(rt, grading, policy, events_path, record=record)]
    cmd += [str(grading / "notebooks" / name) for name in notebooks]
    netns_status = grading / "netns-status"
    env = {**_nbval_env(grading, netns_status), "CS231N_PARENT_PID": str(os.getpid())}
    deadline = lim.notebook_timeout * len(notebooks) + 120
    start = time.monotonic()
    with open(grading / f"pytest-{tag}.log", "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=grading,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            stats.notes.append(f"the run exceeded its {deadline} s time limit and was killed")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if group is not None:
                stats.peak_memory = group.peak_memory() or 0
                stats.cpu_seconds = group.cpu_seconds() or 0.0
                group.remove()
            if os.geteuid() == 0:  # the uid is this slot's alone: nothing of it may survive
                left = kill_uid(policy.uid)
                if left:
                    raise RuntimeError(
                        f"processes {left} of sandbox uid {policy.uid} do not die; the slot "
                        f"cannot be reused safely"
                    )
    stats.seconds = time.monotonic() - start
    with contextlib.suppress(OSError):
        stats.network = netns_status.read_text()
    return read_events(events_path), stats


def _kernel_spec(rt: Runtime, policy_path: Path) -> dict:
    """The kernelspec nbval starts: the sandbox launcher running ipykernel under the policy."""
    kernel = [rt.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return {
        "argv": [rt.python, "-m", SANDBOX, "run", str(policy_path), "--", *kernel],
        "display_name": "cs231n grading sandbox",
        "language": "python",
        "interrupt_mode": "signal",
    }


def _nbval_command(rt: Runtime, grading: Path, policy, events: Path, *, record: bool) -> list:
    """``pytest --nbval`` with only nbval and the grader's plugin loaded (notebooks appended
    by the caller)."""
    isolated = ["-c", str(grading / "pytest.ini"), "--rootdir", str(grading), "--noconftest"]
    # cs231n_course first, before nbval imports nbformat: see the package's __init__ (it spares
    # each pass ~1.2 s of CPU building parsers nothing uses); it defines no hooks.
    plugins = ["-p", "no:cacheprovider", "-p", "cs231n_course", "-p", "nbval.plugin", "-p", PLUGIN]
    nbval = ["--nbval", "--nbval-kernel-name", KERNEL_NAME]
    nbval += ["--nbval-cell-timeout", str(rt.limits.cell_timeout)]
    nbval += ["--nbval-kernel-startup-timeout", "120"]
    ours = ["--cs231n-events", str(events), "--cs231n-kernel-status", policy.status_path]
    ours += ["--cs231n-sandbox-uid", str(policy.uid)]
    quiet = ["-q", "--tb=line", "-W", "ignore", "-p", "no:warnings"]
    cmd = [rt.python, "-m", "pytest", *isolated, *plugins, *nbval, *ours, *quiet]
    if record:
        cmd.append("--cs231n-record")
    if rt.sanitizer:
        cmd += ["--nbval-sanitize-with", str(rt.sanitizer)]
    return cmd


def _nbval_env(grading: Path, netns_status: Path) -> dict[str, str]:
    """nbval's whole environment: nothing of the grader's own leaks in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(grading / "home"),
        "LANG": "C.UTF-8",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_PATH": str(grading / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(grading / "runtime"),
        "JUPYTER_CONFIG_DIR": str(grading / "home"),
        "JUPYTER_DATA_DIR": str(grading / "home"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "CS231N_NETNS_STATUS": str(netns_status),
    }


def read_events(path: Path) -> list[dict]:
    events = []
    with contextlib.suppress(FileNotFoundError), open(path, encoding="utf-8") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut short by a kill: the rest is lost
    return events
