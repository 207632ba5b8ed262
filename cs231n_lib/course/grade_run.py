"""Run nbval on one workspace, contained, and turn what happened into points per exercise.

One *pass* is one ``pytest --nbval`` process over the workspace's notebooks, started in a new
network namespace and in a fresh cgroup (nbval, sandbox launcher and kernel together), with a
wall-clock limit; nbval starts one sandboxed kernel per notebook and times every cell.

A graded cell earns its points when it ran without error and nbval found its outputs equal to
the reference outputs (with the course's sanitizer). A cell that hangs, crashes or kills the
kernel is *fatal*: the graded cells after it in that notebook were not fairly tested, so the
notebook runs again in a new pass with the fatal cells skipped (tagged ``nbval-skip``), until
every graded cell has a verdict or the pass limit is reached. A timeout, crash or kill so costs
the exercises it touches, not the ones after it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from cs231n_lib.course import sandbox_cgroup
from cs231n_lib.course.grade_reference import Course, GradedCell
from cs231n_lib.course.grade_workspace import RegionSet, assemble_library, assemble_notebook
from cs231n_lib.course.sandbox import Policy, kill_uid

KERNEL_NAME = "cs231n-grade"
SANDBOX_HOME = "/home/student"
SANDBOX_COURSE = "/course"


@dataclass(frozen=True)
class Limits:
    """Containment limits for one submission (per kernel unless said otherwise)."""

    cell_timeout: int = 120  # wall seconds per cell (nbval)
    notebook_timeout: int = 900  # wall seconds per notebook per pass
    cpu_seconds: int = 900  # CPU seconds per kernel (RLIMIT_CPU)
    memory_bytes: int = 3 << 30  # address space per process (RLIMIT_AS); cgroup adds 1 GiB
    max_processes: int = 64  # processes + threads of the sandbox uid (RLIMIT_NPROC, pids cgroup)
    scratch_bytes: int = 512 << 20  # each tmpfs (HOME, cwd, /tmp) and RLIMIT_FSIZE
    max_passes: int = 3  # runs of a notebook whose cells keep crashing the kernel


@dataclass
class Runtime:
    """Batch-wide settings, the same for every submission."""

    seed: int
    limits: Limits
    cache: Path
    home_template: Path
    data_dir: Path | None
    sanitizer: Path | None
    capabilities: dict[str, str]
    uids: list[int] = field(default_factory=lambda: [61000])  # one per worker slot, claimed
    fast: bool = True
    python: str = sys.executable

    def settings(self) -> dict:
        """What changes grades, for the cache key."""
        return {
            "home": self.home_template.name,
            "limits": asdict(self.limits),
            "fast": self.fast,
            "sanitizer": self.sanitizer.read_text() if self.sanitizer else None,
        }


@dataclass
class ExerciseResult:
    exercise: str
    notebook: str
    points: float
    max_points: float
    passed: bool
    reason: str


@dataclass
class RunStats:
    passes: int = 0
    seconds: float = 0.0
    peak_memory: int = 0
    cpu_seconds: float = 0.0  # nbval + launcher + kernel, from the run's cgroup
    network: str = ""
    notes: list[str] = field(default_factory=list)


# -- sandbox policy ------------------------------------------------------------------------------
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
    """The sandbox of one submission's kernels (see :mod:`cs231n_lib.course.sandbox`)."""
    lim = rt.limits
    binds, links = _system_binds()
    binds.append((str(ws / "course"), SANDBOX_COURSE, False))
    if rt.data_dir is not None:
        binds.append((str(rt.data_dir), f"{SANDBOX_COURSE}/datasets", False))
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


# -- one pass ------------------------------------------------------------------------------------
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
    spec = {
        "argv": [
            rt.python,
            "-m",
            "cs231n_lib.course.sandbox",
            "run",
            str(grading / "policy.json"),
            "--",
            rt.python,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ],
        "display_name": "cs231n grading sandbox",
        "language": "python",
        "interrupt_mode": "signal",
    }
    (grading / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec))
    lim = rt.limits
    cmd = [rt.python, "-m", "cs231n_lib.course.sandbox", "netns"]
    for folder in dict.fromkeys(group.dirs.values()) if group else []:
        cmd += ["--cgroup", str(folder)]
    cmd += [
        "--",
        rt.python,
        "-m",
        "pytest",
        "-c",
        str(grading / "pytest.ini"),
        "--rootdir",
        str(grading),
        "--noconftest",
        "-p",
        "no:cacheprovider",
        "-p",
        "nbval.plugin",
        "-p",
        "cs231n_lib.course.grade_plugin",
        "--nbval",
        "--nbval-kernel-name",
        KERNEL_NAME,
        "--nbval-cell-timeout",
        str(lim.cell_timeout),
        "--nbval-kernel-startup-timeout",
        "120",
        "--cs231n-events",
        str(events_path),
        "--cs231n-kernel-status",
        policy.status_path,
        "--cs231n-sandbox-uid",
        str(policy.uid),
        "-q",
        "--tb=line",
        "-W",
        "ignore",
        "-p",
        "no:warnings",
    ]
    if record:
        cmd.append("--cs231n-record")
    if rt.sanitizer:
        cmd += ["--nbval-sanitize-with", str(rt.sanitizer)]
    cmd += [str(grading / "notebooks" / name) for name in notebooks]
    netns_status = grading / "netns-status"
    env = {
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


def read_events(path: Path) -> list[dict]:
    events = []
    with contextlib.suppress(FileNotFoundError), open(path, encoding="utf-8") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut short by a kill: the rest is lost
    return events


# -- scoring -------------------------------------------------------------------------------------
@dataclass
class _NotebookRun:
    ends: dict[int, dict]
    fatal: int | None
    fatal_reason: str
    setup_error: str | None


def _notebook_run(events: list[dict], name: str, rt: Runtime) -> _NotebookRun:
    ends: dict[int, dict] = {}
    started: list[int] = []
    fatal, reason, setup_error = None, "", None
    for event in events:
        if event.get("nb") != name:
            continue
        num = event.get("cell_num")
        if event["event"] == "start":
            started.append(num)
            continue
        ends[num] = event
        if fatal is not None:
            continue
        if event.get("phase") == "setup" and event.get("outcome") == "failed":
            setup_error = event.get("message", "")
            continue
        status = event.get("kernel_status") or {}
        # A kernel that exited or hit a limit by itself died of this cell; one that nbval
        # killed (SIGKILL, no limit reached) was stopped after a timeout.
        died = not event.get("kernel_alive") and (
            "exit_code" in status
            or status.get("oom_kills")
            or status.get("cpu_seconds", 0) >= rt.limits.cpu_seconds - 1
            or status.get("signal") not in (None, signal.SIGKILL)
        )
        if died and event.get("outcome") == "failed":
            fatal, reason = num, kernel_death_reason(status, rt.limits)
        elif event.get("timed_out"):
            fatal = num
            reason = (
                f"the check cell did not finish within the {rt.limits.cell_timeout} s time "
                f"limit per cell (an endless loop, or far too slow)"
            )
        elif not event.get("kernel_alive") and event.get("outcome") == "failed":
            fatal, reason = num, kernel_death_reason(status, rt.limits)
    if fatal is None and setup_error is None:
        unfinished = [n for n in started if n not in ends]
        if unfinished:
            fatal, reason = (
                unfinished[0],
                (
                    "the check cell was running when the notebook's time limit or a resource "
                    "limit stopped the run (the kernel or nbval was killed)"
                ),
            )
    return _NotebookRun(ends, fatal, reason, setup_error)


def kernel_death_reason(status: dict | None, limits: Limits) -> str:
    status = status or {}
    sig = status.get("signal")
    if status.get("oom_kills"):
        return (
            f"the kernel was killed for using more than the memory limit "
            f"({limits.memory_bytes >> 20} MiB)"
        )
    if sig == signal.SIGKILL and status.get("cpu_seconds", 0) >= limits.cpu_seconds - 1:
        return f"the kernel was killed for using more than {limits.cpu_seconds} s of CPU time"
    if sig:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        return f"the kernel died (killed by {name}) while running this cell"
    if "exit_code" in status:
        return (
            f"the kernel exited (exit status {status['exit_code']}) while running this cell; "
            f"does your code call exit(), sys.exit() or os._exit()?"
        )
    return "the kernel died while running this cell"


def score_pass(
    events: list[dict],
    course: Course,
    templates: dict,
    pending: dict[str, GradedCell],
    rt: Runtime,
    skip: dict[str, set[int]],
    refused: dict[str, str],
) -> tuple[dict[str, ExerciseResult], list[str]]:
    """Verdicts this pass gives for ``pending`` exercises; adds fatal cells to ``skip``.

    Returns the verdicts and grader-side problems (a kernel that would not start).
    """
    verdicts, problems = {}, []
    by_notebook: dict[str, list[GradedCell]] = {}
    for cell in pending.values():
        by_notebook.setdefault(cell.notebook, []).append(cell)
    for name, cells in by_notebook.items():
        run = _notebook_run(events, name, rt)
        if run.setup_error is not None:
            problems.append(f"{name}: the kernel did not start: {run.setup_error[:500]}")
            continue
        if run.fatal is not None:
            skip.setdefault(name, set()).update(_dependents(templates[name], run.fatal))
        for cell in cells:
            if run.fatal is not None and cell.cell_num > run.fatal:
                continue  # not fairly tested in this pass: run again without the fatal cell
            if cell.cell_num == run.fatal:
                verdicts[cell.exercise] = _fail(cell, run.fatal_reason)
                continue
            event = run.ends.get(cell.cell_num)
            if event is None:
                continue
            verdicts[cell.exercise] = _verdict(cell, event, templates[name], refused)
    return verdicts, problems


def _dependents(nb: nbformat.NotebookNode, fatal: int) -> set[int]:
    """The fatal cell and the cells that declare they need what it exercises.

    A check cell exercises its ``grade_id``; a cell holding a student region exercises that
    region (named by the cell id). Cells say what they need in ``{"cs231n": {"needs": [...]}}``
    metadata; skipping them too keeps one endless loop from hanging every later cell that
    calls the same function.
    """
    cells = [c for c in nb.cells if c.cell_type == "code"]
    bad = cells[fatal]
    keys = {bad.get("id")}
    grade_id = bad.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        keys.add(grade_id)
    found = {fatal}
    for num, cell in enumerate(cells):
        needs = cell.metadata.get("cs231n", {}).get("needs", [])
        if num > fatal and keys & set(needs):
            found.add(num)
    return found


def _fail(cell: GradedCell, reason: str) -> ExerciseResult:
    return ExerciseResult(cell.exercise, cell.notebook, 0, cell.points, False, reason)


def _verdict(cell, event, template, refused: dict[str, str]) -> ExerciseResult:
    if event["outcome"] == "passed":
        return ExerciseResult(
            cell.exercise,
            cell.notebook,
            cell.points,
            cell.points,
            True,
            "passed on the hidden grading inputs",
        )
    if event["outcome"] == "skipped":
        return _fail(cell, "the check cell was skipped")
    message = event.get("message", "")
    outputs = event.get("outputs", [])
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        err = errors[-1]
        stub = re.match(r"(\S+): implement this in ", str(err.get("evalue", "")))
        if err.get("ename") == "NotImplementedError" and stub and stub[1] in refused:
            return _fail(cell, f"your code was not used: {refused[stub[1]]}")
        return _fail(cell, f"raised {err.get('ename')}: {_short(err.get('evalue', ''))}")
    if "outputs differ" in message:
        reference = template.cells[_cell_index(template, cell.cell_num)].outputs
        return _fail(cell, describe_mismatch(reference, outputs))
    return _fail(cell, f"failed: {_short(message)}")


def _cell_index(nb: nbformat.NotebookNode, cell_num: int) -> int:
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    return code[cell_num]


def _short(text: str, n: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return text if len(text) <= n else text[: n - 3] + "..."


_RESULT_LINE = re.compile(r"^  (?P<key>.+?): (?P<value>\S.*)$")


def _stdout(outputs) -> str:
    return "".join(
        o.get("text", "")
        for o in outputs
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )


def describe_mismatch(reference, got) -> str:
    """Say how the check's printed results differ, without revealing the reference values."""
    ref_lines, got_lines = _stdout(reference).splitlines(), _stdout(got).splitlines()
    if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in got):
        extra = "; it also wrote to stderr (warnings?)"
    else:
        extra = ""
    header = ref_lines[0] if ref_lines else ""
    if header and header not in got_lines:
        first = _short(got_lines[0], 80) if got_lines else "nothing"
        return (
            f"the check did not print its results (printed {first!r}); the check must run "
            f"unchanged, do not replace check() or print{extra}"
        )
    ref = {m["key"]: m["value"] for m in map(_RESULT_LINE.match, ref_lines) if m}
    mine = {m["key"]: m["value"] for m in map(_RESULT_LINE.match, got_lines) if m}
    wrong = [k for k in ref if mine.get(k) != ref[k] and ref[k] not in ("holds", "fails")]
    broken = [k for k in ref if mine.get(k) != ref[k] and ref[k] in ("holds", "fails")]
    stray = [line for line in got_lines if line not in ref_lines]
    parts = []
    if wrong:
        parts.append("wrong results on the hidden grading inputs: " + ", ".join(wrong))
    if broken:
        parts.append("does not hold on the hidden grading inputs: " + ", ".join(broken))
    if stray and not wrong and not broken:
        parts.append(f"printed extra output ({_short(stray[0], 80)!r}); remove debugging prints")
    return ("; ".join(parts) or "output differs from the reference solution's") + extra


# -- a whole submission --------------------------------------------------------------------------
def run_submission(
    rt: Runtime, course: Course, templates: dict, regions: RegionSet, ws: Path, slot: int
) -> tuple[dict[str, ExerciseResult], RunStats, list[str]]:
    """Grade one submission's regions in workspace ``ws``.

    Returns verdicts per exercise, run statistics and notes for the student; raises
    RuntimeError when grading itself failed (a kernel that would not start), so the result is
    not stored and a re-run tries again.
    """
    used, refused = prepare_workspace(ws, course, regions)
    total = RunStats()
    pending = {g.exercise: g for g in course.graded}
    verdicts: dict[str, ExerciseResult] = {}
    skip: dict[str, set[int]] = {}
    strays: set[tuple] = set()
    for number in range(1, rt.limits.max_passes + 1):
        notebooks = sorted({g.notebook for g in pending.values()})
        if not notebooks:
            break
        for name in notebooks:
            nb, nb_used, nb_notes = assemble_notebook(
                templates[name], name, regions.nb.get(name, {}), skip.get(name, set())
            )
            refused.update(nb_notes)
            nbformat.write(nb, ws / "grading" / "notebooks" / name)
        events, stats = run_pass(rt, ws, slot, notebooks, f"pass{number}")
        total.passes += 1
        total.seconds += stats.seconds
        total.peak_memory = max(total.peak_memory, stats.peak_memory)
        total.cpu_seconds += stats.cpu_seconds
        total.network = stats.network
        found, problems = score_pass(events, course, templates, pending, rt, skip, refused)
        strays.update((e["nb"], e.get("cell_id"), e["strays"]) for e in events if e.get("strays"))
        if problems:
            raise RuntimeError("; ".join(problems) + " (logs kept in OUT/.grader/errors/)")
        verdicts.update(found)
        for name in found:
            pending.pop(name, None)
    for name, cell in pending.items():
        verdicts[name] = _fail(
            cell,
            f"not graded: the kernel crashed or hung before this check "
            f"in each of {rt.limits.max_passes} runs",
        )
    ordered = {g.exercise: verdicts[g.exercise] for g in course.graded}
    notes = list(refused.values())
    notes += [
        f"{name} cell {cell}: your code left {count} processes running (a fork?); they were "
        f"stopped when the cell ended"
        for name, cell, count in sorted(strays)
    ]
    return ordered, total, notes
