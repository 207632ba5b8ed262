"""A throw-away JupyterLab server for the browser tests.

The server listens on 127.0.0.1 on a free port with a random token, serves a temporary root,
and keeps every per-user file (config, settings, workspaces, runtime, HOME) in a temporary
folder, so a developer's own JupyterLab settings never leak in and no news or "build
recommended" notification appears.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 90.0  # seconds for the server to answer /api/status

# User settings written into the isolated settings dir.
# - fetchNews/checkForUpdates: no notification toasts asking about news or updates.
# - windowingMode "none": every cell stays in the DOM (JupyterLab 4 otherwise virtualises
#   cells outside the viewport), so cell i of the model is cell i of the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # scrollPastEnd false: no blank viewport-high space under the last cell in screenshots.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "scrollPastEnd": False,
    },
}


@dataclass
class LabServer:
    url: str  # http://127.0.0.1:PORT
    token: str
    root: Path
    log_path: Path
    process: subprocess.Popen

    def api(self, method: str, endpoint: str) -> object:
        request = urllib.request.Request(
            f"{self.url}/api/{endpoint}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every session and stop every kernel (one notebook's kernel must not slow the
        next one down)."""
        for kind in ("sessions", "kernels"):
            with contextlib.suppress(OSError, urllib.error.URLError):
                for item in self.api("GET", kind) or []:
                    with contextlib.suppress(OSError, urllib.error.URLError):
                        self.api("DELETE", f"{kind}/{item['id']}")

    def log_position(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, position: int) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            f.seek(position)
            return f.read()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_since(0).splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings_dir: Path) -> None:
    for rel, values in LAB_SETTINGS.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _wait_until_up(url: str, token: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {process.returncode} before answering; its log:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )
        try:
            request = urllib.request.Request(
                f"{url}/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)  # polling the server until it answers
    raise RuntimeError(
        f"JupyterLab did not answer {url}/api/status within {START_TIMEOUT:.0f} s; its log:\n"
        + log_path.read_text(errors="replace")[-4000:]
    )


def _kill_leftover_kernels(runtime_dir: Path) -> None:
    """Kernels run in their own sessions, outside the server's process group: SIGKILL any
    whose connection file is still in this server's private runtime folder."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(runtime_dir).encode() in cmdline.read_bytes():
                os.kill(int(cmdline.parent.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (the server then stops its kernels), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def running_lab(root: Path, state_dir: Path, extra_env: dict[str, str] | None = None):
    """Start JupyterLab serving ``root``; per-user state goes to ``state_dir``.

    Yields a :class:`LabServer`; the server, its kernels and its process group are always
    stopped on exit.
    """
    home = state_dir / "home"
    dirs = {
        "HOME": home,
        "JUPYTER_CONFIG_DIR": state_dir / "config",
        "JUPYTER_DATA_DIR": state_dir / "data",
        "JUPYTER_RUNTIME_DIR": state_dir / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": state_dir / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": state_dir / "workspaces",
        "IPYTHONDIR": state_dir / "ipython",
        "MPLCONFIGDIR": state_dir / "matplotlib",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    _write_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])

    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update({k: str(v) for k, v in dirs.items()})
    env.update(
        {
            "CS231N_FAST": "1",
            "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
            "PYTHONUNBUFFERED": "1",
            "JUPYTER_PLATFORM_DIRS": "1",
        }
    )
    env.pop("CS231N_GRADING_SEED", None)
    env.update(extra_env or {})

    port, token = free_port(), secrets.token_hex(24)
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # window.jupyterapp gives the tests the notebook model (output types, kernel status).
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log_path = state_dir / "jupyterlab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole
        )
    server = LabServer(url, token, root, log_path, process)
    try:
        _wait_until_up(url, token, process, log_path)
        yield server
    finally:
        server.shutdown_kernels()
        _stop(process)
        _kill_leftover_kernels(dirs["JUPYTER_RUNTIME_DIR"])


def copy_notebooks(src: Path, dest: Path, names: Iterable[str] | None = None) -> None:
    """Copy the folder ``src`` (or only the files ``names`` in it) to ``dest`` and clear
    every notebook's outputs there.

    The browser must show freshly computed outputs, never stored ones; the repository's
    notebooks are never touched.
    """
    if names is None:
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    else:
        dest.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(src / name, dest / name)
    for path in dest.rglob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
        nb.get("metadata", {}).pop("widgets", None)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def iter_lab_log_tracebacks(text: str) -> Iterator[str]:
    """Tracebacks in a stretch of the server log (kernel stderr goes there too)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            yield "\n".join(lines[max(0, i - 1) : i + 25])
