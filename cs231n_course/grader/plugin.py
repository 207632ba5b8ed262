"""A pytest plugin for the grader's nbval runs: one JSON line per notebook cell, as it happens.

The grader runs ``pytest -p nbval.plugin -p cs231n_course.grader.plugin --nbval
--cs231n-events FILE ...`` outside the student's kernel. nbval executes each cell in the
sandboxed kernel and compares its outputs with the reference outputs stored in the notebook;
this plugin only records what happened, so the grader can score it:

- ``{"event": "start", "nb": ..., "cell_num": n}`` before a cell runs (a pass killed midway
  leaves a start without an end: that cell was running);
- ``{"event": "end", ..., "outcome": "passed" | "failed" | "skipped", "message": ...,
  "timed_out": ..., "kernel_alive": ..., "kernel_status": ..., "outputs": [...]}`` after it;
- ``{"event": "finished"}`` when the run ends normally.

After a cell that hung (nbval's timeout) or killed the kernel, the notebook's remaining cells
are skipped: the grader runs the notebook again without that cell. After every cell, processes
of the sandbox's uid other than the kernel (what a fork loop leaves) are stopped.

It also makes nbval notice a dead kernel within a second instead of waiting for the whole cell
timeout (nbval polls the kernel's channels; a kernel that called ``os._exit`` never answers),
asks a live kernel to shut down at the end instead of killing it (so the sandbox launcher can
finish its work),
and bounds what one cell may print: past ``MAX_CELL_OUTPUT`` characters (text, data and
tracebacks together) the rest of the cell's output is dropped as it arrives, and the cell's end
event says how much it sent (``output_chars``, ``output_limit``). Without that, a cell printing
200 MB made nbval itself run out of memory, and the student read only that the run was killed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from queue import Empty

import pytest

from cs231n_course.grader.scoring import is_fatal

MAX_TEXT = 20_000  # characters kept per output text when not recording references
MAX_OUTPUTS = 50
MAX_CELL_OUTPUT = 16_000_000  # characters one cell may send (a plot is ~100 kB, a check ~1 kB)


def pytest_addoption(parser):
    group = parser.getgroup("cs231n grading")
    group.addoption("--cs231n-events", default=None, help="append per-cell events to this file")
    group.addoption(
        "--cs231n-record",
        action="store_true",
        help="keep every output whole (the reference run, whose outputs become the references)",
    )
    group.addoption("--cs231n-kernel-status", default=None, help="the sandbox's status file")
    group.addoption(
        "--cs231n-max-output",
        type=int,
        default=MAX_CELL_OUTPUT,
        help="characters of output one cell may send; the rest is dropped and the cell fails",
    )
    group.addoption(
        "--cs231n-sandbox-uid",
        type=int,
        default=None,
        help="after each cell, stop processes of this uid other than the kernel",
    )


def pytest_configure(config):
    path = config.getoption("cs231n_events", None)
    if path:
        _BUDGET.limit = config.getoption("cs231n_max_output")
        _patch_liveness()
        config.pluginmanager.register(_Recorder(config, Path(path)), "cs231n-recorder")


def _patch_liveness() -> None:
    from nbval import kernel

    original = kernel.RunningKernel.get_message
    if getattr(original, "_cs231n", False):
        return

    def get_message(self, stream, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            try:
                msg = original(self, stream, timeout=step)
                if stream == "iopub":
                    _BUDGET.take(msg)
                return msg
            except Empty:
                if not self.is_alive() or (deadline is not None and time.monotonic() >= deadline):
                    raise

    def stop(self):
        # nbval kills the kernel (SIGKILL of its launcher). A live kernel is asked to exit
        # instead, so its sandbox launcher finishes: the uid-only one copies the tuning
        # exports back out of its scratch folder and removes that folder (killed, it lost the
        # exports and left the folder in /tmp). A kernel that does not exit within
        # ``shutdown_wait_time`` seconds is killed as before.
        self.kc.stop_channels()
        self.km.shutdown_wait_time = 3.0
        self.km.shutdown_kernel(now=not self.km.is_alive())
        del self.km

    get_message._cs231n = True
    kernel.RunningKernel.get_message = get_message
    kernel.RunningKernel.stop = stop


class _OutputBudget:
    """What the running cell has sent so far; past ``limit`` characters, output is cut."""

    def __init__(self, limit: int = MAX_CELL_OUTPUT) -> None:
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        self.received = 0

    @property
    def exceeded(self) -> bool:
        return self.received > self.limit

    def take(self, msg: dict) -> None:
        """Count ``msg``'s output and cut what is over the budget, in place (before nbval
        copies, sanitises or compares it)."""
        content = msg.get("content")
        if not isinstance(content, dict):
            return
        kind = msg.get("msg_type")
        if kind == "stream" and isinstance(content.get("text"), str):
            content["text"] = self._cut(content["text"])
        elif kind in ("display_data", "execute_result", "update_display_data"):
            data = content.get("data")
            if isinstance(data, dict):
                for key, value in list(data.items()):
                    if isinstance(value, str):
                        data[key] = self._cut(value)
                    else:  # structured (application/json): counted, dropped whole if over
                        text = json.dumps(value, default=str)
                        if len(self._cut(text)) < len(text):
                            del data[key]
        elif kind == "error":
            content["evalue"] = self._cut(str(content.get("evalue", "")))
            trace = content.get("traceback")
            if isinstance(trace, list):
                content["traceback"] = [self._cut(str(line)) for line in trace]

    def _cut(self, text: str) -> str:
        room = max(0, self.limit - self.received)
        self.received += len(text)
        return text if len(text) <= room else text[:room]


_BUDGET = _OutputBudget()


class _Recorder:
    def __init__(self, config, path: Path) -> None:
        self.record = config.getoption("cs231n_record")
        self.status_path = config.getoption("cs231n_kernel_status")
        self.sandbox_uid = config.getoption("cs231n_sandbox_uid")
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run
        self.timed_out_before: dict[str, bool] = {}
        self.fatal: set[str] = set()
        self.notebook = None

    def _write(self, event: dict) -> None:
        event["time"] = round(time.time(), 3)
        self.file.write(json.dumps(event) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    @staticmethod
    def _where(item) -> dict:
        return {
            "nb": Path(str(item.fspath)).name,
            "cell_num": getattr(item, "cell_num", None),
            "cell_id": getattr(getattr(item, "cell", None), "get", lambda *_: None)("id"),
        }

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if self._where(item)["nb"] in self.fatal:
            # An earlier cell hung or killed the kernel: the grader re-runs this notebook
            # without it, so running the rest now would only waste time.
            pytest.skip("an earlier cell hung or crashed the kernel")
        if item.parent is not self.notebook:
            # A new notebook gets a new kernel: forget the last kernel's exit status, so a
            # status only ever describes the kernel it is read for.
            self.notebook = item.parent
            if self.status_path:
                Path(self.status_path).unlink(missing_ok=True)
        self.timed_out_before[item.nodeid] = bool(getattr(item.parent, "timed_out", False))
        _BUDGET.reset()
        self._write({"event": "start", **self._where(item)})

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when == "setup" and report.passed:
            return
        if call.when == "teardown":
            return
        event = self._end_event(item, call, report)
        if is_fatal(event):
            self.fatal.add(event["nb"])
        self._write(event)

    def _end_event(self, item, call, report) -> dict:
        parent = item.parent
        running = getattr(parent, "kernel", None)
        alive = bool(running is not None and running.is_alive())
        strays = self._stop_strays(running) if alive and call.when == "call" else 0
        message = ""
        if call.excinfo is not None:
            message = str(call.excinfo.value)
        elif report.skipped:
            message = "skipped"
        event = {
            "event": "end",
            **self._where(item),
            "phase": call.when,
            "outcome": "skipped" if report.skipped else report.outcome,
            "message": message[:2000],
            "timed_out": bool(getattr(parent, "timed_out", False))
            and not self.timed_out_before.get(item.nodeid, False),
            "kernel_alive": alive,
            "kernel_status": None if alive else self._kernel_status(),
            "strays": strays,
            "outputs": self._outputs(getattr(item, "test_outputs", None) or []),
        }
        if _BUDGET.exceeded:
            event["output_chars"] = _BUDGET.received
            event["output_limit"] = _BUDGET.limit
        return event

    def _stop_strays(self, running) -> int:
        """A cell must not leave processes behind (a fork loop's copies of the kernel would
        spin through every later cell): stop all but the kernel itself."""
        if self.sandbox_uid is None:
            return 0
        from cs231n_course.sandbox import kill_strays

        try:
            launcher = running.km.provisioner.process.pid
        except AttributeError:
            return 0
        return kill_strays(self.sandbox_uid, launcher)

    def _kernel_status(self):
        if not self.status_path:
            return None
        try:
            return json.loads(Path(self.status_path).read_text())
        except (OSError, ValueError):
            return None

    def _outputs(self, outputs) -> list[dict]:
        kept = []
        for out in list(outputs)[:MAX_OUTPUTS]:
            out = json.loads(json.dumps(out, default=str))  # NotebookNode -> plain dict
            if not self.record:
                if isinstance(out.get("text"), str):
                    out["text"] = out["text"][:MAX_TEXT]
                if isinstance(out.get("data"), dict):
                    out["data"] = {
                        k: v[:MAX_TEXT] if isinstance(v, str) else v
                        for k, v in out["data"].items()
                        if k.startswith("text/")
                    }
                if isinstance(out.get("traceback"), list):
                    out["traceback"] = out["traceback"][-5:]
            kept.append(out)
        return kept

    def pytest_sessionfinish(self, session, exitstatus):
        self._write({"event": "finished", "exitstatus": int(exitstatus)})
        self.file.close()
