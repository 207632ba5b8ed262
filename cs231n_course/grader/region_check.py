"""Whether a student region stands on its own, and whether a spliced file still holds together.

A region is used only if it compiles as a block at its own indentation (so it cannot close the
enclosing function, open a string that swallows the instructor's code after it, or otherwise
reach outside its begin/end lines) and is not too large. After splicing, the whole file or cell
must compile and, for a ``.py`` file, keep the instructor's definitions around the regions.
Compilation is bounded: deep nesting is reported, and a large source compiles in a child
process with a time limit. Everything here is a pure check returning why, or None.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from cs231n_course import markers


# -- checking one region -------------------------------------------------------------------------
def region_problem(region: markers.StudentRegion, indent: str, *, notebook: bool) -> str | None:
    """Why ``region`` cannot be used at indentation ``indent``, or None if it stands alone."""
    too_large = region_size_problem(region)
    if too_large:
        return too_large
    body = [
        indent + line[len(region.indent) :] if line.startswith(region.indent) else line
        for line in region.body
    ]
    if notebook:
        return _notebook_block_problem(body, indent)
    if not indent:
        return "the region is not inside a function"
    # Compile the body inside a function (and a loop, so break/continue work) followed by a
    # sentinel statement at the region's own indentation. The region stands alone only if the
    # sentinel is still a direct child of that block: a line indented less than the region,
    # or a block left open at its end (which would swallow the instructor's code after it),
    # moves the sentinel elsewhere.
    wrapper = ["def _student_region():"]
    if len(indent) >= 2:
        wrapper.append(indent[0] + "for _ in ():")
    sentinel = len(wrapper) + len(body) + 1
    source = "\n".join([*wrapper, *body, indent + "pass", ""])
    problem = _compile_problem(source, offset=len(wrapper))
    if problem:
        return problem
    tree = ast.parse(source)
    block = tree.body[0] if len(tree.body) == 1 else None
    if block is not None and len(wrapper) == 2:
        block = block.body[0] if len(block.body) == 1 else None
    last = block.body[-1] if block is not None else None
    if not (isinstance(last, ast.Pass) and last.lineno == sentinel):
        return (
            "the region's code does not stay inside its function (a line is indented less "
            "than the region, or a block is left open at its end)"
        )
    return None


def _notebook_block_problem(body: list[str], indent: str) -> str | None:
    lines = []
    for number, line in enumerate(body, start=1):
        if line.strip() and not line.startswith(indent):
            return f"line {number} is indented less than the region"
        lines.append(line[len(indent) :])
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell("\n".join(lines) + "\n")
    except Exception as err:  # IPython's transformers raise assorted errors on bad input
        return f"cannot be read as notebook code ({type(err).__name__}: {err})"
    return _compile_problem(source, offset=0)


MAX_REGION_CHARS = 100_000  # per region: far above any honest answer (the largest is ~3 KB)
MAX_REGION_LINES = 2_000
COMPILE_SECONDS = 10  # a region whose compilation takes longer is refused
_IN_PROCESS_CHARS = 4_000  # smaller regions compile here (fast); larger ones in a child


def region_size_problem(region: markers.StudentRegion) -> str | None:
    chars = sum(len(line) + 1 for line in region.body)
    if chars > MAX_REGION_CHARS or len(region.body) > MAX_REGION_LINES:
        return (
            f"the region is too large to grade ({len(region.body)} lines, {chars} characters; "
            f"at most {MAX_REGION_LINES} lines and {MAX_REGION_CHARS} characters per region)"
        )
    return None


_CHILD_COMPILE = """
import ast, sys
source = sys.stdin.read()
try:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    compile(source, "<student region>", "exec", flags=flags, dont_inherit=True)
except SyntaxError as err:
    print("SyntaxError", err.lineno or 0, type(err).__name__, err.msg, sep="\\t")
except (ValueError, OverflowError, RecursionError, MemoryError) as err:
    print("Other", 0, type(err).__name__, str(err)[:300], sep="\\t")
"""


def _compile_problem(source: str, *, offset: int) -> str | None:
    """Why ``source`` does not compile, or None. Compilation is bounded: deep nesting
    (RecursionError) is reported, not raised, and a large source compiles in a child
    process killed after :data:`COMPILE_SECONDS`."""
    if len(source) > _IN_PROCESS_CHARS:
        return _compile_in_child(source, offset=offset)
    try:
        compile(
            source,
            "<student region>",
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,
        )
    except SyntaxError as err:
        line = (err.lineno or offset) - offset
        return f"{type(err).__name__} on line {max(line, 1)} of the region: {err.msg}"
    except (ValueError, OverflowError) as err:  # null bytes, huge literals
        return f"cannot be compiled: {err}"
    except (RecursionError, MemoryError):
        return _TOO_DEEP
    return None


_TOO_DEEP = (
    "Python cannot compile it: it is nested too deeply or one expression is far too long "
    "(RecursionError); split it into smaller statements"
)


def _compile_in_child(source: str, *, offset: int) -> str | None:
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _CHILD_COMPILE],
            input=source,
            capture_output=True,
            text=True,
            timeout=COMPILE_SECONDS,
            env={"PYTHONDONTWRITEBYTECODE": "1"},
        )
    except subprocess.TimeoutExpired:
        return (
            f"Python takes more than {COMPILE_SECONDS} s just to compile it (the grader's "
            f"limit per region); simplify it"
        )
    if done.returncode != 0:
        return _TOO_DEEP if "Recursion" in done.stderr else "Python's compiler crashed on it"
    if not done.stdout.strip():
        return None
    kind, lineno, name, msg = (done.stdout.strip().split("\t", 3) + ["", "", ""])[:4]
    if kind == "SyntaxError":
        line = (int(lineno or 0) or offset) - offset
        return f"{name} on line {max(line, 1)} of the region: {msg}"
    if name in ("RecursionError", "MemoryError"):
        return _TOO_DEEP
    return f"cannot be compiled: {msg}"


# -- checking the spliced file or cell ----------------------------------------------------------
def whole_problem(lines: list[str], used: list[str], *, notebook: bool, skeleton=None):
    """(region, problem) if the spliced file or cell does not compile, blaming a region.

    For a ``.py`` file ``skeleton`` is the instructor file's list of definitions outside the
    regions; the spliced file must have the same, and every region must still lie in the
    function it is named after.
    """
    if not used:
        return None
    text = "\n".join(lines) + "\n"
    if notebook:
        from IPython.core.inputtransformer2 import TransformerManager

        try:
            text = TransformerManager().transform_cell(text)
        except Exception as err:  # see _notebook_block_problem
            return used[0], f"the cell cannot be read ({type(err).__name__})"
    try:
        compile(text, "<spliced>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except (RecursionError, MemoryError):
        return used[-1], _TOO_DEEP
    except SyntaxError as err:
        at = max(err.lineno or 0, 1)
        spans = markers.student_region_spans(lines).items()
        current = next((n for n, (begin, end) in spans if begin <= at <= end), None)
        name = current if current in used else used[-1]
        return name, f"makes the file invalid ({err.msg}, line {err.lineno})"
    if skeleton is not None:
        return _structure_problem(lines, used, skeleton)
    return None


def _definitions(lines: list[str]) -> list[tuple[str, int, int, int]]:
    """(qualified name, def line, first body line, last line) of every function and class."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                found.append((name, child.lineno, child.body[0].lineno, child.end_lineno))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse("\n".join(lines) + "\n"), "")
    return found


def skeleton_of(lines: list[str]) -> list[str]:
    """Names of the definitions outside student regions, in order."""
    spans = list(markers.student_region_spans(lines).values())
    return [
        name for name, line, _, _ in _definitions(lines) if not any(b < line < e for b, e in spans)
    ]


def _structure_problem(lines: list[str], used: list[str], skeleton: list[str]):
    spans = markers.student_region_spans(lines)
    definitions = _definitions(lines)
    for name in used:
        begin, end = spans[name]
        base = name.split("#")[0]
        for number in range(begin + 1, end):
            text = lines[number - 1].strip()
            if not text or text.startswith("#"):
                continue
            holders = [d for d in definitions if d[2] <= number <= d[3]]
            innermost = max(holders, key=lambda d: d[1])[0] if holders else ""
            if innermost != base and not innermost.startswith(base + "."):
                return name, "its code does not stay inside its function"
    if skeleton_of(lines) != skeleton:
        return used[-1], "it changes the definitions around it"
    return None
