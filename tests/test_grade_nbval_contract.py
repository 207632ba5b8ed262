"""The nbval internals the grader's plugin relies on, checked against the installed nbval.

``cs231n_course.grader.plugin`` wraps ``nbval.kernel.RunningKernel.get_message`` (to notice a
dead kernel within a second) and reads attributes nbval sets on its items (``cell_num``,
``cell``, ``test_outputs``, the notebook's ``timed_out`` and ``kernel``). None of that is
nbval's public API. If an nbval upgrade changes any of it, these tests fail and say what moved;
``requirements-instructor.txt`` pins nbval to the range checked here.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path

from nbval import kernel, plugin

from cs231n_course.grader import plugin as grade_plugin

CHECKED = ("0.11",)  # nbval minor versions these tests were written against


def _source(obj) -> str:
    return inspect.getsource(obj)


def test_nbval_version_is_one_this_contract_was_checked_against():
    installed = version("nbval")
    assert installed.startswith(CHECKED), (
        f"nbval {installed} is installed, but the grader's plugin was checked against "
        f"{CHECKED}; re-check the internals below and widen the pin in requirements-instructor.txt"
    )
    requirements = Path(__file__).resolve().parents[1] / "requirements-instructor.txt"
    pins = [line for line in requirements.read_text().splitlines(True) if line.startswith("nbval")]
    assert pins == ["nbval>=0.11,<0.12\n"], pins


def test_get_message_has_the_signature_the_liveness_patch_wraps():
    params = inspect.signature(kernel.RunningKernel.get_message).parameters
    assert list(params) == ["self", "stream", "timeout"], list(params)
    assert params["timeout"].default is None
    assert "raise" in _source(kernel.RunningKernel.get_message), "must re-raise Empty"
    assert callable(kernel.RunningKernel.is_alive)


def test_cell_waits_go_through_get_message():
    # The patch only shortens the wait for a dead kernel if nbval's waits call get_message.
    assert "self.get_message(" in _source(kernel.RunningKernel.await_reply)
    assert "self.kernel.get_message(" in _source(plugin.IPyNbFile.get_kernel_message)


def test_items_carry_the_attributes_the_recorder_reads():
    cell_init = _source(plugin.IPyNbCell.__init__)
    for attribute in ("self.cell_num = ", "self.cell = ", "self.test_outputs = "):
        assert attribute in cell_init, f"IPyNbCell no longer sets {attribute.strip(' =')}"
    runtest = _source(plugin.IPyNbCell.runtest)
    assert "self.parent.timed_out = True" in runtest
    assert "self.test_outputs = " in runtest
    file_source = _source(plugin.IPyNbFile)
    assert "self.timed_out = False" in file_source
    assert "self.kernel = RunningKernel(" in file_source


def test_the_liveness_patch_applies_once_and_keeps_the_signature(monkeypatch):
    monkeypatch.setattr(kernel.RunningKernel, "get_message", kernel.RunningKernel.get_message)
    original = kernel.RunningKernel.get_message
    grade_plugin._patch_liveness()
    patched = kernel.RunningKernel.get_message
    assert patched is not original and getattr(patched, "_cs231n", False)
    grade_plugin._patch_liveness()  # a second configure must not wrap the wrapper
    assert kernel.RunningKernel.get_message is patched
    assert list(inspect.signature(patched).parameters) == ["self", "stream", "timeout"]
