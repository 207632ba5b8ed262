"""Solution markers: parsing, validation errors with file:line, stubs, splicing."""

from __future__ import annotations

import pytest

from cs231n_course import markers

SOURCE = '''\
class Model:
    def loss(self, x):
        """Docstring."""
        y = x + 1
        # TODO: square y.
        ### BEGIN SOLUTION
        y = y ** 2
        ### END SOLUTION
        # TODO: halve y.
        ### BEGIN SOLUTION
        y = y / 2
        ### END SOLUTION
        return y


def helper(a):
    ### BEGIN SOLUTION
    return a * 3
    ### END SOLUTION
'''


def strip(text: str, path: str = "lib/m.py"):
    return markers.strip_solutions(text.splitlines(), path, path, python_functions=True)


def test_regions_are_named_by_function_and_numbered():
    _, names = strip(SOURCE)
    assert names == ["Model.loss", "Model.loss#2", "helper"]


def test_stub_replaces_solution_and_keeps_todo():
    lines, _ = strip(SOURCE)
    text = "\n".join(lines)
    assert "y ** 2" not in text and "a * 3" not in text
    assert "# TODO: square y." in text
    assert (
        "        raise NotImplementedError('Model.loss: implement this in lib/m.py "
        "(see the TODO above)')" in lines
    )
    compile(text, "m.py", "exec")
    namespace: dict = {}
    exec(text, namespace)
    with pytest.raises(NotImplementedError, match=r"^helper: implement this in lib/m.py"):
        namespace["helper"](1)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("def f():\n    ### BEGIN SOLUTION\n    x = 1\n", r"m.py:2: .*never closed"),
        ("def f():\n    x = 1\n    ### END SOLUTION\n", r"m.py:3: .*without a matching"),
        (
            "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n",
            r"m.py:3: nested",
        ),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", r"m.py:1: .*not inside a function"),
        ("def f():\n    ## BEGIN SOLUTION\n    pass\n", r"m.py:2: malformed solution marker"),
        ("def f():\n    ### begin solution\n    pass\n", r"m.py:2: malformed solution marker"),
        (
            "def f():\n    if x:\n        ### BEGIN SOLUTION\n        pass\n    ### END SOLUTION\n",
            r"m.py:5: .*indented differently",
        ),
    ],
)
def test_malformed_markers_are_rejected_with_file_and_line(text, problem):
    with pytest.raises(markers.MarkerError, match=problem):
        strip(text, "m.py")


def test_splice_takes_only_region_bodies_and_reindents():
    released, _ = strip(SOURCE)
    submitted = list(released)
    # The student writes the regions (shifted by 4 spaces) and also edits code outside them.
    i = submitted.index(next(x for x in submitted if "Model.loss: implement" in x))
    submitted[i] = "            y = y * y"
    submitted = [s.replace("y = x + 1", "y = 1000") for s in submitted]
    begin = submitted[i - 1]
    end = submitted[i + 1]
    submitted[i - 1] = "    " + begin
    submitted[i + 1] = "    " + end
    regions = markers.read_student_regions(submitted, "sub.py")
    spliced, used = markers.splice_regions(released, "m.py", {"Model.loss": regions["Model.loss"]})
    assert used == ["Model.loss"]
    text = "\n".join(spliced)
    assert "        y = y * y" in spliced
    assert "y = 1000" not in text and "y = x + 1" in text  # outside edits never travel
    namespace: dict = {}
    exec(text, namespace)
    with pytest.raises(NotImplementedError, match="Model.loss#2"):
        namespace["Model"]().loss(2)


def test_damaged_student_regions_are_reported():
    released, _ = strip(SOURCE)
    broken = [x for x in released if "END STUDENT REGION helper" not in x]
    with pytest.raises(markers.MarkerError, match="student region helper has no end line"):
        markers.read_student_regions(broken, "sub.py")
    renamed = [
        x.replace("END STUDENT REGION Model.loss ", "END STUDENT REGION other ") for x in released
    ]
    with pytest.raises(markers.MarkerError, match="does not match"):
        markers.read_student_regions(renamed, "sub.py")


def test_markdown_regions_use_html_comments():
    lines = ["Answer:", "### BEGIN SOLUTION", "Because.", "### END SOLUTION"]
    out, names = markers.strip_solutions(
        lines, "nb", "nb", python_functions=False, cell_name="q1", markdown=True
    )
    assert names == ["q1"]
    assert out[1].startswith("<!-- >>> BEGIN STUDENT REGION q1") and out[1].endswith("-->")
    assert out[2] == markers.MARKDOWN_ANSWER_STUB
    assert markers.read_student_regions(out, "nb")["q1"].body == [markers.MARKDOWN_ANSWER_STUB]


def test_keep_solutions_drops_only_marker_lines():
    kept = markers.keep_solutions(SOURCE.splitlines())
    assert "        y = y ** 2" in kept and not any("SOLUTION" in k for k in kept)
