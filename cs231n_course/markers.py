"""Solution markers and student regions: the one syntax the release and the grader share.

Instructor source (a ``.py`` file or a notebook cell)::

    # TODO: compute the L2 distance between X[i] and self.X_train[j].
    ### BEGIN SOLUTION
    dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))
    ### END SOLUTION

Student release of the same lines::

    # TODO: compute the L2 distance between X[i] and self.X_train[j].
    # >>> BEGIN STUDENT REGION KNearestNeighbor.compute_distances_two_loops (do not edit this line)
    raise NotImplementedError("KNearestNeighbor.compute_distances_two_loops: implement this in ...")
    # <<< END STUDENT REGION KNearestNeighbor.compute_distances_two_loops (do not edit this line)

A region is named by the function that holds it (its qualified name) in a ``.py`` file, or by
the cell id in a notebook; a second region in the same function gets ``#2``, and so on. The
grader finds student regions by name in a submission and splices their bodies into the
instructor's own files (:func:`splice_regions`); nothing outside them is ever used.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from cs231n_lib import submission_rules

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"

_BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[ \t]*$")
_END_RE = re.compile(r"^(?P<indent>[ \t]*)### END SOLUTION[ \t]*$")
# Anything that looks like a solution marker but is not exactly one is an error, not code.
_ANY_SOLUTION_RE = re.compile(r"#+\s*(BEGIN|END)\s+SOLUTION", re.IGNORECASE)

# Student region lines are comments in code (``# >>> ...``) and HTML comments in markdown
# (``<!-- >>> ... -->``), so they never render as headings in a notebook.
_STUDENT_BEGIN_RE = submission_rules.STUDENT_BEGIN_RE
_STUDENT_END_RE = submission_rules.STUDENT_END_RE


class MarkerError(ValueError):
    """A solution or student marker is malformed; the message starts with ``file:line``."""


@dataclass(frozen=True)
class SolutionRegion:
    """One ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block.

    ``begin`` and ``end`` are 0-based indices of the marker lines in the source's line list.
    """

    name: str
    begin: int
    end: int
    indent: str


def student_begin_line(indent: str, name: str, *, markdown: bool = False) -> str:
    text = f">>> BEGIN STUDENT REGION {name} (do not edit this line)"
    return f"{indent}<!-- {text} -->" if markdown else f"{indent}# {text}"


def student_end_line(indent: str, name: str, *, markdown: bool = False) -> str:
    text = f"<<< END STUDENT REGION {name} (do not edit this line)"
    return f"{indent}<!-- {text} -->" if markdown else f"{indent}# {text}"


MARKDOWN_ANSWER_STUB = submission_rules.MARKDOWN_ANSWER_STUB


def stub_message(name: str, where: str) -> str:
    """The text of the ``NotImplementedError`` every stub raises."""
    return f"{name}: implement this in {where} (see the TODO above)"


def find_solution_regions(
    lines: list[str], path: str, *, python_functions: bool, cell_name: str | None = None
) -> list[SolutionRegion]:
    """Find and validate the solution regions of one file or one notebook cell.

    Parameters
    ----------
    lines : list of str
        The source, one line per entry, without line endings.
    path : str
        Shown in error messages (``path:line: what is wrong``).
    python_functions : bool
        True for a ``.py`` file: every region must lie inside a function body, and is named
        after that function's qualified name.
    cell_name : str, optional
        For a notebook cell: the region name (the cell id).

    Raises
    ------
    MarkerError
        Unbalanced, nested or malformed markers, or (in ``.py`` files) a region outside any
        function body.
    """
    regions: list[SolutionRegion] = []
    open_at: int | None = None
    open_indent = ""
    for i, line in enumerate(lines):
        begin, end = _BEGIN_RE.match(line), _END_RE.match(line)
        if begin:
            if open_at is not None:
                raise MarkerError(
                    f"{path}:{i + 1}: nested '{BEGIN_SOLUTION}' (the region opened at line "
                    f"{open_at + 1} is not closed); close it with '{END_SOLUTION}' first"
                )
            open_at, open_indent = i, begin["indent"]
        elif end:
            if open_at is None:
                raise MarkerError(
                    f"{path}:{i + 1}: '{END_SOLUTION}' without a matching '{BEGIN_SOLUTION}'"
                )
            if end["indent"] != open_indent:
                raise MarkerError(
                    f"{path}:{i + 1}: '{END_SOLUTION}' is indented differently from its "
                    f"'{BEGIN_SOLUTION}' at line {open_at + 1}; align the two markers"
                )
            regions.append(SolutionRegion("", open_at, i, open_indent))
            open_at = None
        elif _ANY_SOLUTION_RE.search(line):
            raise MarkerError(
                f"{path}:{i + 1}: malformed solution marker {line.strip()!r}; write exactly "
                f"'{BEGIN_SOLUTION}' or '{END_SOLUTION}' on a line of its own"
            )
    if open_at is not None:
        raise MarkerError(
            f"{path}:{open_at + 1}: '{BEGIN_SOLUTION}' is never closed; add '{END_SOLUTION}'"
        )
    if python_functions:
        names = _function_names(lines, path, regions)
    else:
        names = [cell_name or "cell"] * len(regions)
    return _number_duplicates(regions, names)


def _number_duplicates(regions: list[SolutionRegion], names: list[str]) -> list[SolutionRegion]:
    seen: dict[str, int] = {}
    named = []
    for region, name in zip(regions, names, strict=True):
        seen[name] = seen.get(name, 0) + 1
        unique = name if seen[name] == 1 else f"{name}#{seen[name]}"
        named.append(SolutionRegion(unique, region.begin, region.end, region.indent))
    return named


def _function_names(lines: list[str], path: str, regions: list[SolutionRegion]) -> list[str]:
    """Qualified name of the innermost function whose body holds each region."""
    source = "\n".join(lines) + "\n"
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as err:
        raise MarkerError(f"{path}:{err.lineno}: not valid Python: {err.msg}") from err
    spans: list[tuple[int, int, str]] = []  # (first body line, last line, qualname), 1-based

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qualname = f"{prefix}{child.name}"
                spans.append((child.lineno + 1, _extend(child), qualname))
                visit(child, f"{qualname}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    def _extend(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
        # The AST ends a function at its last statement; comment lines after it that are still
        # indented under the def (a closing marker, say) belong to the body too.
        last = fn.end_lineno
        while last < len(lines):
            nxt = lines[last]
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= fn.col_offset:
                break
            if nxt.strip() and not nxt.lstrip().startswith("#"):
                break
            last += 1
        return last

    visit(tree, "")
    names = []
    for region in regions:
        first, last = region.begin + 1, region.end + 1
        holders = [s for s in spans if s[0] <= first and last <= s[1]]
        if not holders:
            raise MarkerError(
                f"{path}:{first}: solution region is not inside a function body; students "
                f"write code inside functions only, so move the region into one"
            )
        names.append(max(holders, key=lambda s: s[0])[2])
    return names


def strip_solutions(
    lines: list[str],
    path: str,
    where: str,
    *,
    python_functions: bool,
    cell_name: str | None = None,
    markdown: bool = False,
) -> tuple[list[str], list[str]]:
    """Replace every solution region with a student region holding a stub.

    In code the stub raises ``NotImplementedError`` (:func:`stub_message`); in a markdown
    cell it is a placeholder answer. Returns the new lines and the region names, in order.
    """
    regions = find_solution_regions(
        lines, path, python_functions=python_functions, cell_name=cell_name
    )
    out: list[str] = []
    cursor = 0
    for region in regions:
        out.extend(lines[cursor : region.begin])
        out.append(student_begin_line(region.indent, region.name, markdown=markdown))
        if markdown:
            out.append(f"{region.indent}{MARKDOWN_ANSWER_STUB}")
        else:
            message = stub_message(region.name, where)
            out.append(f"{region.indent}raise NotImplementedError({message!r})")
        out.append(student_end_line(region.indent, region.name, markdown=markdown))
        cursor = region.end + 1
    out.extend(lines[cursor:])
    return out, [r.name for r in regions]


def keep_solutions(lines: list[str]) -> list[str]:
    """The solution view of a source: marker lines removed, solution code kept."""
    return [line for line in lines if not (_BEGIN_RE.match(line) or _END_RE.match(line))]


@dataclass(frozen=True)
class StudentRegion:
    name: str
    body: list[str]  # the lines between the begin and end lines, verbatim
    indent: str


def read_student_regions(lines: list[str], path: str) -> dict[str, StudentRegion]:
    """Collect the student regions of a submitted file or cell, by name.

    Raises MarkerError when a region's begin/end lines were damaged (unbalanced, renamed,
    nested, duplicated), naming the file and line.
    """
    regions: dict[str, StudentRegion] = {}
    open_name: str | None = None
    open_at = 0
    open_indent = ""
    body: list[str] = []
    for i, line in enumerate(lines):
        begin, end = _STUDENT_BEGIN_RE.match(line), _STUDENT_END_RE.match(line)
        if begin:
            if open_name is not None:
                raise MarkerError(
                    f"{path}:{i + 1}: student region {begin['name']} starts inside region "
                    f"{open_name} (opened at line {open_at + 1}); restore the region's end line"
                )
            open_name, open_at, open_indent, body = begin["name"], i, begin["indent"], []
        elif end:
            if open_name is None:
                raise MarkerError(
                    f"{path}:{i + 1}: an end line of student region {end['name']} with no "
                    f"begin line open before it (is an end line copied into a string or a "
                    f"comment, or a begin line deleted?); keep exactly one begin and one end "
                    f"line per region, as the release had them"
                )
            if end["name"] != open_name:
                raise MarkerError(
                    f"{path}:{i + 1}: end of student region {end['name']} does not match the "
                    f"open region {open_name}; restore the original begin/end lines"
                )
            if open_name in regions:
                raise MarkerError(f"{path}:{open_at + 1}: student region {open_name} appears twice")
            regions[open_name] = StudentRegion(open_name, body, open_indent)
            open_name = None
        elif open_name is not None:
            body.append(line)
    if open_name is not None:
        raise MarkerError(
            f"{path}:{open_at + 1}: student region {open_name} has no end line; restore it"
        )
    return regions


def student_region_spans(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Region name -> (begin line, end line), 1-based, of lines holding student regions."""
    spans, open_name, open_at = {}, None, 0
    for number, line in enumerate(lines, start=1):
        if begin := _STUDENT_BEGIN_RE.match(line):
            open_name, open_at = begin["name"], number
        elif open_name is not None and _STUDENT_END_RE.match(line):
            spans[open_name] = (open_at, number)
            open_name = None
    return spans


def has_student_region(lines: list[str]) -> bool:
    """True if any of ``lines`` opens a student region."""
    return any(_STUDENT_BEGIN_RE.match(line) for line in lines)


def splice_regions(
    instructor_lines: list[str], path: str, submitted: dict[str, StudentRegion]
) -> tuple[list[str], list[str]]:
    """Put submitted region bodies into the instructor's *released* (stubbed) lines.

    ``instructor_lines`` must hold student regions (the release form). Regions missing from
    ``submitted`` keep the stub. Submitted bodies are re-indented to the instructor's
    indentation so a student who shifted a whole region still gets graded.

    Returns the spliced lines and the names of the regions that came from the submission.
    """
    own = read_student_regions(instructor_lines, path)
    out: list[str] = []
    used: list[str] = []
    skipping: str | None = None
    for line in instructor_lines:
        begin, end = _STUDENT_BEGIN_RE.match(line), _STUDENT_END_RE.match(line)
        if begin:
            out.append(line)
            name = begin["name"]
            if name in submitted:
                out.extend(_reindent(submitted[name], own[name].indent))
                used.append(name)
                skipping = name
            continue
        if end:
            skipping = None
            out.append(line)
            continue
        if skipping is None:
            out.append(line)
    return out, used


def _reindent(region: StudentRegion, indent: str) -> list[str]:
    if region.indent == indent:
        return list(region.body)
    fixed = []
    for line in region.body:
        if line.startswith(region.indent):
            fixed.append(indent + line[len(region.indent) :])
        else:
            fixed.append(line)
    return fixed


def has_any_marker(text: str) -> bool:
    """True if ``text`` holds anything that looks like a solution marker."""
    return bool(_ANY_SOLUTION_RE.search(text))
