"""Scoring from recorded events alone: no kernel, no nbval, no sandbox.

The events are what ``cs231n_course.grader.plugin`` writes, one per cell; scoring turns one
pass's events into verdicts and says which cells to skip in the next pass.
"""

from __future__ import annotations

import signal
from pathlib import Path

import nbformat
import pytest

from cs231n_course.grader.scoring import fatal_reason, is_fatal, score_pass
from cs231n_course.grader.types import Course, GradedCell, Limits, Runtime

NB = "01_knn.ipynb"
LIMITS = Limits(cell_timeout=15, cpu_seconds=120)


def _template() -> nbformat.NotebookNode:
    """Code cells 0 (setup), 1 (check a), 2 (check b, needs a), 3 (check c)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("setup", id="setup")]
    for name, needs in (("a", []), ("b", ["a"]), ("c", [])):
        cell = nbformat.v4.new_code_cell(f"check({name!r})", id=f"check-{name}")
        cell.metadata = {"nbgrader": {"grade": True, "grade_id": name, "points": 2}}
        if needs:
            cell.metadata["cs231n"] = {"needs": needs}
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{name}: OK\n")]
        nb.cells.append(cell)
    return nb


GRADED = [GradedCell(NB, n, f"check-{x}", x, 2) for n, x in ((1, "a"), (2, "b"), (3, "c"))]
COURSE = Course(Path("/src"), Path("/release"), [NB], GRADED)
RT = Runtime(0, LIMITS, Path("/c"), Path("/h"), None, None, {})


def _start(num: int) -> dict:
    return {"event": "start", "nb": NB, "cell_num": num}


def _end(num: int, outcome: str = "passed", **more) -> dict:
    return {"event": "end", "nb": NB, "cell_num": num, "phase": "call", "outcome": outcome,
            "message": "", "timed_out": False, "kernel_alive": True, "kernel_status": None,
            "outputs": [], **more}  # fmt: skip


def _score(events):
    skip: dict[str, set[int]] = {}
    pending = {g.exercise: g for g in GRADED}
    verdicts, problems = score_pass(events, COURSE, {NB: _template()}, pending, RT, skip, {})
    return verdicts, problems, skip


def test_a_clean_pass_gives_every_point():
    events = [e for n in range(4) for e in (_start(n), _end(n))]
    verdicts, problems, skip = _score(events)
    assert problems == [] and skip == {}
    assert {k: v.points for k, v in verdicts.items()} == {"a": 2, "b": 2, "c": 2}


def test_a_hung_cell_costs_itself_and_what_needs_it_and_defers_the_rest():
    events = [_start(0), _end(0), _start(1), _end(1, "failed", timed_out=True)]
    verdicts, _, skip = _score(events)
    assert set(verdicts) == {"a"} and verdicts["a"].points == 0
    assert "15 s time limit per cell" in verdicts["a"].reason
    assert skip == {NB: {1, 2}}  # b declares it needs a; c is graded in the next pass


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ({"exit_code": 3}, "exit status 3"),
        ({"signal": int(signal.SIGKILL), "oom_kills": 1}, "memory limit"),
        ({"signal": int(signal.SIGKILL), "cpu_seconds": 119.5}, "120 s of CPU time"),
        ({"signal": int(signal.SIGSEGV)}, "killed by SIGSEGV"),
    ],
)
def test_a_dead_kernel_says_why(status, words):
    event = _end(1, "failed", kernel_alive=False, kernel_status=status)
    assert is_fatal(event)
    assert words in fatal_reason(event, LIMITS)
    verdicts, _, _ = _score([_start(0), _end(0), _start(1), event])
    assert words in verdicts["a"].reason


def test_a_dead_kernel_outranks_a_timeout_but_a_timeout_kill_is_a_timeout():
    died = _end(1, "failed", timed_out=True, kernel_alive=False, kernel_status={"exit_code": 1})
    assert "exit status 1" in fatal_reason(died, LIMITS)
    killed = _end(1, "failed", timed_out=True, kernel_alive=False,
                  kernel_status={"signal": int(signal.SIGKILL)})  # fmt: skip
    assert "time limit per cell" in fatal_reason(killed, LIMITS)


def test_a_failed_cell_with_a_live_kernel_is_not_fatal():
    assert not is_fatal(_end(1, "failed"))
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad shape"}
    events = [_start(n) for n in range(4)] + [_end(0), _end(1, "failed", outputs=[error])]
    events += [_end(2), _end(3)]
    verdicts, _, skip = _score(events)
    assert verdicts["a"].reason == "raised ValueError: bad shape" and skip == {}
    assert verdicts["b"].passed and verdicts["c"].passed


def test_a_cell_still_running_when_the_pass_was_killed_is_fatal():
    verdicts, _, skip = _score([_start(0), _end(0), _start(1)])
    assert "was running when" in verdicts["a"].reason and skip == {NB: {1, 2}}


def test_a_kernel_that_never_started_is_a_grader_problem():
    setup = _end(0, "failed", phase="setup", message="kernel died before replying")
    verdicts, problems, _ = _score([_start(0), setup])
    assert verdicts == {} and "the kernel did not start" in problems[0]


# -- issue 17: causes a check cannot see, named -------------------------------------------------
def test_an_output_flood_is_named_with_its_limit():
    events = [_start(0), _end(0), _start(1)]
    events.append(_end(1, "failed", output_chars=210_000_000, output_limit=16_000_000))
    verdicts, _, skip = _score(events + [_start(2), _end(2), _start(3), _end(3)])
    reason = verdicts["a"].reason
    assert reason.startswith("output too large") and "210 MB" in reason and "16 MB" in reason
    assert verdicts["b"].passed and skip == {}


@pytest.mark.parametrize(
    "message", ["'msg_id'", "KeyError: 'header'", "Duplicate Signature: b'9f'"]
)
def test_a_broken_message_protocol_costs_only_its_cell(message):
    broken = _end(1, "failed", message=message)
    assert is_fatal(broken)
    assert "message format" in fatal_reason(broken, LIMITS)
    verdicts, _, skip = _score([_start(0), _end(0), _start(1), broken])
    assert "message format" in verdicts["a"].reason
    assert skip == {NB: {1, 2}}  # the rest is graded in a pass without it
    assert not is_fatal(_end(1, "failed", message="Cell outputs differ"))


def test_the_error_of_an_exercises_region_cell_is_named_at_its_check():
    nb = _template()
    nb.cells[0].id = "a"  # the notebook cell holding region a, before a's check
    shell = {"output_type": "error", "ename": "OSError", "evalue": "out of pty devices"}
    stub = {"output_type": "error", "ename": "NotImplementedError", "evalue": "a: empty"}
    events = [_start(0), _end(0, "failed", outputs=[shell]), _start(1)]
    events += [_end(1, "failed", outputs=[stub]), _start(2), _end(2), _start(3), _end(3)]
    pending = {g.exercise: g for g in GRADED}
    verdicts, _ = score_pass(events, COURSE, {NB: nb}, pending, RT, {}, {})
    reason = verdicts["a"].reason
    assert "raised NotImplementedError" in reason
    assert "region a raised OSError: out of pty devices" in reason and "!cmd" in reason
    assert verdicts["b"].passed  # a passing check is never blamed on another cell
