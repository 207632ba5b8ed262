"""Scoring: what one pass's recorded events mean, exercise by exercise. Pure functions.

A graded cell earns its points when it ran without error and nbval found its outputs equal to
the reference outputs (with the course's sanitizer). A cell that hangs, crashes or kills the
kernel is *fatal* (:func:`is_fatal`, the one statement of that rule, which the nbval plugin
uses too): the graded cells after it in that notebook were not fairly tested, so the notebook
runs again with the fatal cell and the cells that need it skipped. Everything here reads only
events (as the plugin records them), templates and limits, so it is tested from recorded events.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

import nbformat

from cs231n_course.grader.types import Course, ExerciseResult, GradedCell, Limits, Runtime

# What nbval's message reader raises when the kernel's channels no longer speak Jupyter's
# protocol (a message without a header field, a replayed or forged signature).
_PROTOCOL_BROKEN = re.compile(
    r"\W*(KeyError: )?'?(msg_id|header|parent_header|content|msg_type)'?\W*"
    r"|\W*(ValueError: )?(Duplicate|Invalid) Signature\b.*",
    re.DOTALL,
)


def protocol_broken(event: dict) -> bool:
    return event.get("outcome") == "failed" and bool(
        _PROTOCOL_BROKEN.fullmatch(event.get("message", ""))
    )


def is_fatal(event: dict) -> bool:
    """Whether a cell's end event ends its notebook's pass: it hung (nbval's cell timeout),
    failed with the kernel dead, or broke the kernel's message protocol (what it left on the
    channels would fail every later cell). The plugin skips the rest of the notebook after
    such a cell, and scoring reruns the notebook without it."""
    return (
        bool(event.get("timed_out"))
        or (event.get("outcome") == "failed" and not event.get("kernel_alive"))
        or protocol_broken(event)
    )


def protocol_reason(message: str) -> str:
    return (
        f"the kernel stopped answering in Jupyter's message format (nbval read "
        f"{_short(message.strip(), 60)!r} from it); does your code write to the kernel's "
        f"sockets, or replace its session, stdout or display hooks?"
    )


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
        if is_fatal(event):
            fatal, reason = num, fatal_reason(event, rt.limits)
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


def fatal_reason(event: dict, limits: Limits) -> str:
    """Why a fatal cell (:func:`is_fatal`) ended its pass, in words for the student."""
    if protocol_broken(event) and event.get("kernel_alive"):
        return protocol_reason(event.get("message", ""))
    status = event.get("kernel_status") or {}
    # A kernel that exited or hit a limit by itself died of this cell; one that nbval
    # killed (SIGKILL, no limit reached) was stopped after a timeout.
    died = not event.get("kernel_alive") and (
        "exit_code" in status
        or status.get("oom_kills")
        or status.get("cpu_seconds", 0) >= limits.cpu_seconds - 1
        or status.get("signal") not in (None, signal.SIGKILL)
    )
    if event.get("timed_out") and not (died and event.get("outcome") == "failed"):
        return (
            f"the check cell did not finish within the {limits.cell_timeout} s time "
            f"limit per cell (an endless loop, or far too slow)"
        )
    return kernel_death_reason(status, limits)


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
                verdicts[cell.exercise] = fail(cell, run.fatal_reason)
                continue
            event = run.ends.get(cell.cell_num)
            if event is None:
                continue
            verdict = _verdict(cell, event, templates[name], refused)
            cause = _region_cell_error(templates[name], run.ends, cell.exercise)
            if not verdict.passed and cause:
                verdict.reason += f"; the cell holding your region {cell.exercise} {cause}"
            verdicts[cell.exercise] = verdict
    return verdicts, problems


def _region_cell_error(nb: nbformat.NotebookNode, ends: dict[int, dict], exercise: str) -> str:
    """What went wrong in the notebook cell holding ``exercise``'s region (named by its cell
    id), if anything: its error, or an error line it wrote to stderr (a shell escape that
    could not run, say). The check after it then fails for that reason, which it cannot see."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    num = next((i for i, c in enumerate(code) if c.get("id") == exercise), None)
    event = ends.get(num) if num is not None else None
    if not event:
        return ""
    outputs = event.get("outputs", [])
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        err = errors[-1]
        why = f"raised {err.get('ename')}: {_short(err.get('evalue', ''), 200)}"
        if "pty" in str(err.get("evalue", "")):  # IPython's !cmd needs a terminal device
            why += " (shell commands, !cmd, found no terminal on this grading machine: use Python)"
        return why
    stderr = [
        line
        for o in outputs
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
        for line in str(o.get("text", "")).splitlines()
        if re.search(r"(Error|Exception)\b", line)
    ]
    return f"wrote to stderr: {_short(stderr[-1], 160)!r}" if stderr else ""


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


def fail(cell: GradedCell, reason: str) -> ExerciseResult:
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
        return fail(cell, "the check cell was skipped")
    if event.get("output_limit"):
        return fail(cell, output_too_large(event["output_chars"], event["output_limit"]))
    message = event.get("message", "")
    outputs = event.get("outputs", [])
    errors = [o for o in outputs if o.get("output_type") == "error"]
    own = _refused_for(cell, refused)
    if errors:
        err = errors[-1]
        stub = re.match(r"(\S+): implement this in ", str(err.get("evalue", "")))
        if err.get("ename") == "NotImplementedError" and stub and stub[1] in refused:
            return fail(cell, f"your code was not used: {refused[stub[1]]}")
    if own:  # the exercise's own region was refused: that is the cause, whatever failed next
        return fail(cell, f"your code was not used: {own}")
    if errors:
        if "the instructor must run" in str(err.get("evalue", "")):
            # Under the grader a check never looks for golden values: its own state was
            # changed while it ran (code reaching into the check's frames).
            return fail(
                cell,
                "the check's own state was changed while it ran (does your code inspect the "
                "call stack or change the check's objects?); the check must run unchanged",
            )
        return fail(cell, f"raised {err.get('ename')}: {_short(err.get('evalue', ''))}")
    if "outputs differ" in message:
        reference = template.cells[_cell_index(template, cell.cell_num)].outputs
        return fail(cell, describe_mismatch(reference, outputs))
    if protocol_broken(event):
        return fail(cell, protocol_reason(message))
    return fail(cell, f"failed: {_short(message)}")


def output_too_large(chars: int, limit: int) -> str:
    """Why a cell that printed more than the grader keeps failed (the plugin cut the rest)."""
    return (
        f"output too large: the check cell printed {chars / 1e6:,.0f} MB, more than the "
        f"{limit / 1e6:g} MB a cell may print under the grader, so the rest was dropped and "
        f"its results could not be read; remove prints inside loops and print summaries "
        f"(shapes, a few values), not whole arrays"
    )


def _refused_for(cell: GradedCell, refused: dict[str, str]) -> str | None:
    """Why the region named after this exercise was not used (``knn_cross_validation``,
    ``KNearestNeighbor.predict_labels``), if it was refused."""
    for name, why in refused.items():
        if name.split("#")[0] in (cell.exercise,) or name.endswith("." + cell.exercise):
            return why
    return None


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
    stderr = [
        line
        for o in got
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
        for line in str(o.get("text", "")).splitlines()
        if line.strip()
    ]
    if stderr:  # the student's own output (a warning, a shell escape's OSError): say which
        errors = [line for line in stderr if re.search(r"(Error|Exception)\b", line)]
        extra = f"; it also wrote to stderr: {_short((errors or stderr)[-1], 160)!r}"
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
