"""Build the workspace one submission is graded in: the instructor's files plus the student's
regions, and nothing else from the submission.

``lift_regions`` reads the named student regions out of a submission's ``.py`` files and
notebook code cells. ``assemble_library`` copies the instructor's release of the library and
splices those regions in (regions a student did not write keep their stubs).
``assemble_notebook`` takes the instructor's notebook *template* (release cells, reference
outputs, nbgrader metadata, nbval tags) and splices the notebook regions into its code cells.

A region is used only if it stands on its own: it must compile as a block at its own
indentation (so it cannot close the enclosing function, open a string that swallows the
instructor's code after it, or otherwise reach outside its begin/end lines), and nbval comment
markers (``# NBVAL_SKIP`` ...) inside it are removed. A region that fails is replaced by its
stub and the feedback says why. A damaged file (bad JSON, broken marker lines) costs only the
regions in that file.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cs231n_course import markers

_NBVAL_MARKER = re.compile(r"^\s*#+\s*(NBVAL_|PYTEST_VALIDATE_)", re.IGNORECASE)
NBVAL_MARKER_REMOVED = "# (an nbval marker was removed here by the grader)"
SKIP_TAG = "nbval-skip"
REAL_CHECK = "from cs231n_lib.checks import check  # (added by the grader)"


@dataclass
class RegionSet:
    """Student regions by file: ``py["cs231n_lib/x.py"][name]``, ``nb["01_knn.ipynb"][name]``."""

    py: dict[str, dict[str, markers.StudentRegion]] = field(default_factory=dict)
    nb: dict[str, dict[str, markers.StudentRegion]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Regions that could not be read at all (damaged marker lines, an unreadable file), with
    # why: an exercise that needs one says so instead of "implement this".
    lost: dict[str, str] = field(default_factory=dict)
    broken_notebooks: dict[str, str] = field(default_factory=dict)  # name -> why


def lift_regions(
    root: Path, files: list[str], py_regions: dict[str, list[str]], notebooks: list[str]
) -> RegionSet:
    """Read the student regions of the submission unpacked in ``root``.

    Parameters
    ----------
    root : Path
        Staging folder of the unpacked submission.
    files : list of str
        The files it holds, relative to ``root``.
    py_regions : dict
        Library files of the release and the region names each holds.
    notebooks : list of str
        File names of the graded notebooks (``01_knn.ipynb``).
    """
    out = RegionSet()
    present = set(files)
    for rel, names in sorted(py_regions.items()):
        if rel not in present:
            out.notes.append(f"{rel} is missing from the submission: its functions keep the stubs")
            continue
        try:
            text = (root / rel).read_bytes().decode("utf-8")
            found = markers.read_student_regions(text.splitlines(), rel)
        except UnicodeDecodeError:
            why = f"{rel} is not UTF-8 text, so none of its regions could be read"
            out.notes.append(f"{why}; its regions are graded as not written")
            out.lost.update(dict.fromkeys(names, why))
            continue
        except markers.MarkerError as err:
            why = f"the marker lines of {rel} are damaged ({err}): none of its regions were read"
            out.notes.append(f"{why}; restore the begin/end lines from the release")
            out.lost.update(dict.fromkeys(names, why))
            continue
        out.py[rel] = {n: normalized(r) for n, r in found.items() if n in names}
        for name in names:
            if name not in found:
                out.lost[name] = (
                    f"no region {name} in {rel}: its begin/end lines were not found (edited, "
                    f"removed, or typed with look-alike characters); restore them from the release"
                )
    for name in notebooks:
        rel = f"notebooks/{name}"
        if rel not in present:
            out.notes.append(f"{rel} is missing from the submission: its cells keep the stubs")
            continue
        try:
            out.nb[name] = {n: normalized(r) for n, r in _notebook_regions(root / rel, rel).items()}
        except ValueError as err:
            out.notes.append(f"{err}; the notebook's own regions are graded as not written")
            out.broken_notebooks[name] = str(err)
    return out


def normalized(region: markers.StudentRegion) -> markers.StudentRegion:
    """``region`` with its body dedented to its own indentation when that is deeper than the
    marker lines' (valid Python: the markers are comments), so it is checked and spliced as
    the student wrote it instead of failing on a line the student never wrote."""
    lines = [line for line in region.body if line.strip()]
    if not lines:
        return region
    common = lines[0][: len(lines[0]) - len(lines[0].lstrip(" \t"))]
    for line in lines[1:]:
        while not line.startswith(common):
            common = common[:-1]
    if len(common) > len(region.indent) and common.startswith(region.indent):
        return markers.StudentRegion(region.name, region.body, common)
    return region


def _notebook_regions(path: Path, rel: str) -> dict[str, markers.StudentRegion]:
    """Student regions of every code cell; only the cells' source is read, nothing else."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{rel} is not UTF-8 text ({err})") from err
    except RecursionError as err:
        raise ValueError(
            f"{rel} is JSON nested too deeply to be a notebook (thousands of levels); restore "
            f"it from the release or save it again from JupyterLab"
        ) from err
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{rel} is not valid notebook JSON (line {err.lineno}, column {err.colno}: "
            f"{err.msg}); open it in JupyterLab and save it again, or restore it from git"
        ) from err
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        if isinstance(data, dict) and isinstance(data.get("worksheets"), list):
            raise ValueError(
                f"{rel} is an old-format notebook (nbformat {data.get('nbformat')}, with "
                f"worksheets); the course uses nbformat 4: open it in JupyterLab and save it, "
                f"or start again from the release notebook"
            )
        raise ValueError(f"{rel} is JSON but not a notebook (no list of cells)")
    found: dict[str, markers.StudentRegion] = {}
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            continue
        try:
            regions = markers.read_student_regions(source.splitlines(), f"{rel} cell {index}")
        except markers.MarkerError as err:
            raise ValueError(str(err)) from err
        for region_name, region in regions.items():
            if region_name in found:
                raise ValueError(
                    f"{rel}: student region {region_name} appears in two cells (a duplicated "
                    f"cell?); delete the copy you do not want graded"
                )
            found[region_name] = region
    return found


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


def _strip_nbval_markers(region: markers.StudentRegion) -> markers.StudentRegion:
    body = [NBVAL_MARKER_REMOVED if _NBVAL_MARKER.match(line) else line for line in region.body]
    return markers.StudentRegion(region.name, body, region.indent)


# -- splicing ------------------------------------------------------------------------------------
def _region_indents(lines: list[str], path: str) -> dict[str, str]:
    return {name: r.indent for name, r in markers.read_student_regions(lines, path).items()}


def splice_checked(
    lines: list[str], path: str, submitted: dict[str, markers.StudentRegion], *, notebook: bool
) -> tuple[list[str], list[str], dict[str, str]]:
    """Splice the usable regions of ``submitted`` into instructor lines ``lines``.

    Returns the new lines, the names used, and {region: why it was refused} for the others.
    """
    indents = _region_indents(lines, path)
    usable, refused = {}, {}
    for name, region in submitted.items():
        if name not in indents:
            continue
        if notebook:
            region = _strip_nbval_markers(region)
        problem = region_problem(region, indents[name], notebook=notebook)
        if problem:
            refused[name] = f"{name} ({path}): {problem}; graded as not written"
        else:
            usable[name] = region
    skeleton = None if notebook else skeleton_of(lines)
    while True:
        out, used = markers.splice_regions(lines, path, usable)
        culprit = _whole_problem(out, used, notebook=notebook, skeleton=skeleton)
        if culprit is None:
            return out, used, refused
        name, problem = culprit
        refused[name] = f"{name} ({path}): {problem}; graded as not written"
        del usable[name]


def _whole_problem(lines: list[str], used: list[str], *, notebook: bool, skeleton=None):
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


def assemble_library(
    release_root: Path, dest: Path, regions: RegionSet
) -> tuple[list[str], dict[str, str]]:
    """Copy the release's ``cs231n_lib`` to ``dest/cs231n_lib`` and splice the regions in.

    Returns the regions used and {region: why it was refused}.
    """
    shutil.copytree(
        release_root / "cs231n_lib",
        dest / "cs231n_lib",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    used, refused = [], {}
    for rel, submitted in sorted(regions.py.items()):
        path = dest / rel
        lines = path.read_text(encoding="utf-8").splitlines()
        new, names, bad = splice_checked(lines, rel, submitted, notebook=False)
        path.write_text("\n".join(new) + "\n", encoding="utf-8")
        used += names
        refused.update(bad)
    return used, refused


def assemble_notebook(
    template: nbformat.NotebookNode,
    name: str,
    submitted: dict[str, markers.StudentRegion],
    skip: set[int] = frozenset(),
) -> tuple[nbformat.NotebookNode, list[str], list[str]]:
    """The notebook nbval runs: ``template`` with the notebook regions spliced in.

    ``skip`` holds code-cell numbers (nbval's numbering) that get the ``nbval-skip`` tag: cells
    that crashed or hung the kernel in an earlier run of this submission.
    Returns the notebook, the regions used, and {region: why it was refused}.
    """
    nb = nbformat.from_dict(template)
    used, refused = [], {}
    code_num = -1
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_num += 1
        lines = cell.source.splitlines()
        if submitted and markers.has_student_region(lines):
            new, names, bad = splice_checked(
                lines, f"notebooks/{name} ({cell.get('id')})", submitted, notebook=True
            )
            cell.source = "\n".join(new)
            used += names
            refused.update(bad)
        if cell.metadata.get("nbgrader", {}).get("grade") and "check(" in cell.source:
            # A region may have bound the name ``check`` to anything: the graded cell calls
            # the course's own, whatever the notebook's namespace holds.
            cell.source = REAL_CHECK + "\n" + cell.source
        if code_num in skip:
            tags = list(cell.metadata.get("tags", []))
            cell.metadata["tags"] = [*tags, SKIP_TAG]
    return nb, used, refused


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells in nbval's numbering (``Cell 0`` is the first code cell)."""
    return [cell for cell in nb.cells if cell.cell_type == "code"]
