"""The sandbox the grader runs kernels in, tested directly with a plain Python process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_gradescope import python  # noqa: F401 - fixture: a python the sandbox uid may run

from cs231n_course import sandbox
from cs231n_course.grader.policy import make_policy
from cs231n_course.grader.types import Limits, Runtime

CAPABILITIES = sandbox.probe()
pytestmark = pytest.mark.skipif(
    CAPABILITIES.get("mount+pid namespaces") != "ok",
    reason=f"no mount/PID namespaces here: {CAPABILITIES}",
)

OBSERVE = textwrap.dedent("""
    import json, os, socket, resource
    seen = {"uid": os.getuid(), "pid": os.getpid(),
            "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
            "root": sorted(os.listdir("/"))}
    def attempt(name, fn):
        try:
            fn()
            seen[name] = "allowed"
        except BaseException as err:
            seen[name] = type(err).__name__
    attempt("read_solution", lambda: open(SOLUTION).read())
    attempt("read_secret", lambda: open(SECRET).read())
    attempt("write_course", lambda: open("/course/x.py", "w"))
    attempt("write_home", lambda: open(os.path.expanduser("~/x"), "w").write("ok"))
    attempt("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
    attempt("memory", lambda: bytearray(2 << 30))
    def forks():
        kids = []
        try:
            for _ in range(40):
                pid = os.fork()
                if pid == 0:
                    import time; time.sleep(5); os._exit(0)
                kids.append(pid)
        finally:
            seen["forked"] = len(kids)
    attempt("fork_40", forks)
    print(json.dumps(seen), flush=True)
    os._exit(0)
""")


def _policy(tmp_path: Path, repo: Path, *, cpu: int = 30):
    ws = tmp_path / "ws"
    for sub in ("course/notebooks", "course/datasets", "grading/root", "grading/export"):
        (ws / sub).mkdir(parents=True)
    (tmp_path / "home").mkdir()
    claim = sandbox.claim_uids(63000, 1)  # held until the test process exits
    rt = Runtime(
        uids=[claim[0][0]],
        seed=1,
        limits=Limits(max_processes=16, memory_bytes=1 << 30, cpu_seconds=cpu),
        cache=tmp_path,
        home_template=tmp_path / "home",
        data_dir=None,
        sanitizer=None,
        capabilities=CAPABILITIES,
    )
    policy = make_policy(rt, ws, 0, None)
    policy.namespaces.append("net")  # in grading, nbval's own network namespace does this
    path = tmp_path / "policy.json"
    policy.write(path)
    return policy, path


def _run_in_sandbox(
    policy_path, code: str, interpreter: str = sys.executable
) -> subprocess.CompletedProcess:
    """Run ``interpreter -c code`` through the sandbox launcher with the policy at
    ``policy_path``."""
    command = [sys.executable, "-m", "cs231n_course.sandbox", "run", str(policy_path)]
    command += ["--", interpreter, "-c", code]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_sandbox_hides_the_host_and_enforces_limits(tmp_path, repo):
    secret = tmp_path / "secret.txt"
    secret.write_text("reference outputs")
    policy, path = _policy(tmp_path, repo)
    script = f"SOLUTION = {str(repo / 'cs231n_lib/classifiers/knn.py')!r}\n"
    script += f"SECRET = {str(secret)!r}\n" + OBSERVE
    done = _run_in_sandbox(path, script)
    log = Path(policy.log_path).read_text()
    assert done.returncode == 0, log
    seen = json.loads(log.strip().splitlines()[-1])
    assert seen["uid"] != 0 and seen["pid"] == 1 and seen["processes"] <= 2
    # The root holds only what the sandbox binds; the Python environment's top folder
    # (/work for /work/main/.venv, /tmp for a clone in /tmp) is one of them.
    assert Path(sys.prefix).parts[1] in seen["root"]
    assert seen["read_solution"] == "FileNotFoundError"
    assert seen["read_secret"] == "FileNotFoundError"
    assert seen["write_course"] == "OSError"  # read-only file system
    assert seen["write_home"] == "allowed"
    assert seen["network"] == "OSError"  # network unreachable
    assert seen["memory"] == "MemoryError"
    assert seen["fork_40"] == "BlockingIOError" and seen["forked"] < 16


def test_cpu_limit_kills_an_endless_loop(tmp_path, repo):
    policy, path = _policy(tmp_path, repo, cpu=2)
    done = _run_in_sandbox(path, "while True: pass")
    status = json.loads(Path(policy.status_path).read_text())
    assert done.returncode == 128 + 9 and status["signal"] == 9
    assert status["cpu_seconds"] >= 1.5  # rusage rounds; the limit is checked per tick


TERMINAL = textwrap.dedent("""
    import json, os, pty
    from IPython.utils.process import getoutput, system
    seen = {"pts": sorted(os.listdir("/dev/pts")), "uid": os.getuid()}
    system("(echo from the shell; id -u; tty) > $HOME/shell.txt")  # what `!cmd` runs
    seen["shell"] = open(os.path.expanduser("~/shell.txt")).read()
    seen["captured"] = getoutput("echo captured")  # what `x = !cmd` runs
    held = []
    try:
        while len(held) < 64:
            held.append(os.openpty())
    except OSError as err:
        seen["refused"] = str(err)
    seen["held"] = len(held)
    print(json.dumps(seen), flush=True)
""")


def _terminal_run(policy, path, interpreter: str = sys.executable) -> dict:
    done = _run_in_sandbox(path, TERMINAL, interpreter)
    log = Path(policy.log_path).read_text()
    assert done.returncode == 0, log
    return json.loads(log.strip().splitlines()[-1])


def test_shell_escapes_get_a_terminal_of_the_sandboxs_own(tmp_path, repo):
    """IPython runs ``!cmd`` on a pseudo-terminal: the sandbox has a devpts of its own, which
    shows none of the host's terminals and holds at most a few at once."""
    from cs231n_course.sandbox.newroot import PTYS

    policy, path = _policy(tmp_path, repo)
    seen = _terminal_run(policy, path)
    assert seen["pts"] == ["ptmx"]  # no terminal of the host's
    lines = seen["shell"].splitlines()
    assert lines[0] == "from the shell" and lines[1] == str(seen["uid"]) != "0"
    assert lines[2].startswith("/dev/pts/")  # on the sandbox's own devpts
    assert seen["captured"].strip() == "captured"
    assert seen["held"] == PTYS and "refused" in seen  # the instance's limit, not the host's


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid-only sandbox needs root")
def test_shell_escapes_work_in_the_uid_only_sandbox(tmp_path, repo, request):
    """Without namespaces the kernel uses the host's terminals (a container's /dev/pts), as
    its own uid; what it starts is that uid's, killed with it after the run."""
    interpreter = request.getfixturevalue("python")  # one that uid may run (Gradescope's)
    policy, path = _policy(tmp_path, repo)
    policy.namespaces = []  # what --isolation uid-only writes
    policy.write(path)
    seen = _terminal_run(policy, path, interpreter)
    lines = seen["shell"].splitlines()
    assert lines[0] == "from the shell" and lines[1] == str(policy.uid)
    assert lines[2].startswith("/dev/pts/") and seen["captured"].strip() == "captured"
