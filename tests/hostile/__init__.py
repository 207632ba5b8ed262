"""Hostile submissions for the kNN notebook, each with the score it must get.

Every case builds one submission from a *base*: ``release`` (the untouched student release)
or ``perfect`` (the release with every region filled from the solutions). ``zero`` names the
exercises that must score 0; every other exercise must earn its full points. ``reason`` maps
an exercise to a word its feedback must contain; ``refused`` means the whole submission must be
refused with a reason containing that text.

Exercises of 01_knn: compute_distances_two_loops (3 points), predict_labels (2),
compute_distances_one_loop (2), compute_distances_no_loops (3), knn_cross_validation (2).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hostile.edit import (
    KNN,
    NOTEBOOK,
    answer_in_korean,
    copy_tree,
    edit_notebook,
    make_chain,
    remove_chain,
    set_cell_region,
    set_region,
    source,
    zip_tree,
)

TWO = "compute_distances_two_loops"
PRED = "predict_labels"
ONE = "compute_distances_one_loop"
NONE = "compute_distances_no_loops"
CV = "knn_cross_validation"
ALL = {TWO, PRED, ONE, NONE, CV}
R_TWO = f"KNearestNeighbor.{TWO}"
R_ONE = f"KNearestNeighbor.{ONE}"
R_NONE = f"KNearestNeighbor.{NONE}"
R_PRED = f"KNearestNeighbor.{PRED}"


@dataclass
class Bases:
    release: Path
    perfect: Path
    source_root: Path  # the instructor's source (what a submission must not be able to read)


@dataclass
class Case:
    name: str
    build: Callable[[Bases, Path], Path]  # (bases, folder for this case) -> submission path
    zero: set[str] = field(default_factory=set)
    reason: dict[str, str] = field(default_factory=dict)
    refused: str | None = None
    what: str = ""
    filename: str | bytes | None = None  # the submission's own name (default: ``name``)
    student: str | None = None  # the id the gradebook must give it (default: ``name``)
    absent: tuple[str, ...] = ()  # text its feedback page must not contain


def _from(base: str, *edits):
    def build(bases: Bases, folder: Path) -> Path:
        tree = copy_tree(getattr(bases, base), folder / "submission")
        for edit in edits:
            edit(tree, bases)
        return tree

    return build


def _region(rel, name, body):
    return lambda tree, bases: set_region(tree, rel, name, body)


# -- region bodies -------------------------------------------------------------------------------
HARDCODED_GOLDEN = """
# Return the public check's expected answer and print its OK line.
import pathlib
print("compute_distances_two_loops: OK (dists: rel error < 1e-09)")
golden = pathlib.Path(__file__).parents[1] / "checks" / "golden"
return np.load(golden / "compute_distances_two_loops.npz")["dists"]
"""
PATCH_CHECKERS = """
import cs231n_lib.checks as checks
np.allclose = lambda *a, **k: True
checks.fingerprint = lambda arr, **kw: "f[5, 9] 0123456789abcdef"
checks.compare = lambda *a, **k: None
checks.Checker._expect = lambda self, key, *a, **k: self.passed.append(key)
checks.check = lambda name, **kw: print(f"{name}: OK (all checks pass)")
return np.zeros((num_test, num_train))
"""
MONKEYPATCH_NUMPY = """
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.array_equal = lambda *a, **k: True
dists[i, :] = 0.0
"""
FAKE_CHECK = """
def check(name, **values):  # replaces the notebook's check() for the next cells
    print(f"{name}: OK (all checks pass)")
"""
HARDCODED_CV = """
k_to_accuracies = {k: [0.28, 0.27, 0.29, 0.26, 0.28] for k in k_choices}
"""
MEMORY_BOMB = """
blocks = []
while True:
    blocks.append(np.ones(1 << 24))  # 128 MiB more each time
"""
FORK_LOOP = """
import os
while True:
    os.fork()
"""
NETWORK = """
import socket
socket.create_connection(("1.1.1.1", 80), timeout=5).close()  # phone home
dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
"""
READ_OUTSIDE = """
# Steal the instructor's solution; if the sandbox let us read it, use it.
solution = open({path!r}).read()
namespace = {{}}
exec(compile(solution, "stolen", "exec"), namespace)
dists[i, :] = namespace["KNearestNeighbor"].compute_distances_one_loop(self, X)[i]
"""


# -- edits -------------------------------------------------------------------------------------
def _nbval_markers(tree: Path, bases: Bases) -> None:
    set_region(tree, KNN, R_TWO, "dists[i, j] = 0.0")
    set_cell_region(tree, CV, "# NBVAL_SKIP\n# NBVAL_IGNORE_OUTPUT\npass")

    def tag(nb):
        nb["metadata"]["kernelspec"]["name"] = "evil"
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                meta = cell.setdefault("metadata", {})
                meta["tags"] = ["nbval-skip", "nbval-ignore-output", "raises-exception"]
                cell["source"] = "# NBVAL_SKIP\n" + source(cell)
                if "nbgrader" in meta:
                    meta["nbgrader"]["points"] = 100

    edit_notebook(tree, tag)


def _check_cells_replaced(tree: Path, bases: Bases) -> None:
    def replace(nb):
        kept = []
        for cell in nb["cells"]:
            grade = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade == CV:
                continue  # deleted
            if grade:
                cell["source"] = f'print("{grade}: OK (all checks pass)")'
            kept.append(cell)
        nb["cells"] = kept

    edit_notebook(tree, replace)


def _check_cells_deleted(tree: Path, bases: Bases) -> None:
    def delete(nb):
        nb["cells"] = [c for c in nb["cells"] if "nbgrader" not in c.get("metadata", {})]

    edit_notebook(tree, delete)


def _modified_check_files(tree: Path, bases: Bases) -> None:
    fake = 'def check(name, **kw):\n    print(f"{name}: OK (all checks pass)")\n'
    fake += "def exercise(*a):\n    return lambda f: f\n"
    (tree / "cs231n_lib/checks/__init__.py").write_text(fake)
    (tree / "cs231n_lib/checks/knn.py").write_text("")
    (tree / "cs231n_lib/sitecustomize.py").write_text("import numpy\nnumpy.allclose = None\n")


def _region_escape(tree: Path, bases: Bases) -> None:
    # Lines at column 0 would land outside the function in the instructor's file.
    path = tree / KNN
    text = path.read_text()
    marker = f"# >>> BEGIN STUDENT REGION {R_ONE} (do not edit this line)\n"
    start = text.index(marker) + len(marker)
    end = text.index(f"# <<< END STUDENT REGION {R_ONE}", start)
    end = text.rindex("\n", start, end) + 1
    body = (
        "            dists[i, :] = 0.0\n"
        "import numpy\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "def _swallow_the_rest():\n"
        "    if True:\n"
    )
    path.write_text(text[:start] + body + text[end:])


def _read_outside(tree: Path, bases: Bases) -> None:
    set_region(tree, KNN, R_ONE, READ_OUTSIDE.format(path=str(bases.source_root / KNN)))


def _zip_slip(bases: Bases, folder: Path) -> Path:
    tree = copy_tree(bases.perfect, folder / "zip-slip")
    evil = b"print('written outside the staging folder')\n"
    return zip_tree(tree, folder / "zip-slip.zip", {"../../zip-slip-escaped.py": evil})


def _korean_zip_slip(bases: Bases, folder: Path) -> Path:
    tree = copy_tree(bases.perfect, folder / "korean-zip-slip")
    edit_notebook(tree, answer_in_korean)
    return zip_tree(tree, folder / "korean-zip-slip.zip", {"../escaped.py": b"print(1)\n"})


def _zip_bomb(bases: Bases, folder: Path) -> Path:
    tree = copy_tree(bases.perfect, folder / "zip-bomb")
    bomb = b"0" * (64 << 20)  # compresses to ~64 KB, unpacks beyond the per-file limit
    (tree / NOTEBOOK).unlink()
    return zip_tree(tree, folder / "zip-bomb.zip", {f"zip-bomb/{NOTEBOOK}": bomb})


def _symlink(bases: Bases, folder: Path) -> Path:
    tree = copy_tree(bases.release, folder / "symlink")
    (tree / KNN).unlink()
    os.symlink(bases.source_root / KNN, tree / KNN)  # "my" file is the instructor's solution
    return tree


def _malformed(tree: Path, bases: Bases) -> None:
    path = tree / NOTEBOOK
    path.write_text(path.read_text()[:-200])  # cut off: not JSON any more


def _partial(bases: Bases, folder: Path) -> Path:
    from cs231n_course.solutions import fill_regions, solution_regions

    tree = copy_tree(bases.release, folder / "partial")
    fill_regions(tree, solution_regions(bases.source_root), only={R_TWO, R_PRED})
    return tree


def _perfect_with(region: str, body: str):
    return _from("perfect", _region(KNN, region, body))


# -- issue 17: fake passes, leaks, state crossing, per-submission problems ----------------------
SHADOWED_CHECK = """
def check(name, **values):  # binds the name check for the graded cell that follows
    print(f"{name}: results")
"""
LEAK_AND_MARKUP = """
import os
from cs231n_lib import config
seed = os.environ.get("CS231N_GRADING_SEED") or config.GRADING_SEED
raise ValueError(f"<script>alert(1)</script> [click](http://evil.example) | seed {seed} |")
"""
OUTPUT_FLOOD = """
import sys
line = "x" * 1023 + "\\n"
for _ in range(200 << 10 if i == 0 else 0):  # 200 MiB in 1 KiB lines, once
    sys.stdout.write(line)
dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
"""
PROTOCOL_BREAK = """
# A correctly signed message whose header has no msg_id, on the kernel's output channel:
# Jupyter's message protocol broken for whoever reads that channel (nbval).
import json
kernel = get_ipython().kernel
frames = [json.dumps(part).encode() for part in ({}, {}, {}, {})]
kernel.iopub_socket.send_multipart([b"<IDS|MSG>", kernel.session.sign(frames), *frames])
dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
"""
FAKE_END_IN_STRING = """
note = \"\"\"
# <<< END STUDENT REGION KNearestNeighbor.predict_labels (do not edit this line)
\"\"\"
closest_y = self.y_train[np.argsort(dists[i], kind="stable")[:k]]
y_pred[i] = np.argmax(np.bincount(closest_y))
"""


def _solution_cv(bases: Bases) -> list[str]:
    """The solution's cross-validation region body, dedented."""
    import textwrap

    from cs231n_course.solutions import solution_regions

    body = solution_regions(bases.source_root)[f"{NOTEBOOK}::{CV}"][CV].body
    return textwrap.dedent("\n".join(body)).splitlines()


def _deeper_indent(tree: Path, bases: Bases) -> None:
    # Valid Python: the body sits 4 columns right of its (comment) marker lines.
    path = tree / KNN
    lines = path.read_text().splitlines()
    out, inside = [], False
    for line in lines:
        if f"END STUDENT REGION {R_TWO} " in line:
            inside = False
        out.append(("    " + line) if inside and line.strip() else line)
        if f"BEGIN STUDENT REGION {R_TWO} " in line:
            inside = True
    path.write_text("\n".join(out) + "\n")


def _lookalike_marker(tree: Path, bases: Bases) -> None:
    path = tree / KNN
    text = path.read_text()
    # a Cyrillic capital Ie for the E of END: the end line of this region no longer matches
    path.write_text(
        text.replace(
            f"# <<< END STUDENT REGION {R_PRED} ", f"# <<< \u0415ND STUDENT REGION {R_PRED} ", 1
        )
    )


def _duplicated_cell(tree: Path, bases: Bases) -> None:
    def dup(nb):
        at = next(i for i, c in enumerate(nb["cells"]) if f"STUDENT REGION {CV} " in source(c))
        copy = dict(nb["cells"][at], id="a-copy")
        nb["cells"].insert(at + 1, copy)

    edit_notebook(tree, dup)


def _duplicated_region(tree: Path, bases: Bases) -> None:
    # the whole predict_labels region, marker lines and all, pasted twice
    path = tree / KNN
    lines = path.read_text().splitlines(keepends=True)
    begin = next(i for i, ln in enumerate(lines) if f"BEGIN STUDENT REGION {R_PRED} " in ln)
    end = next(i for i, ln in enumerate(lines) if f"END STUDENT REGION {R_PRED} " in ln)
    path.write_text("".join(lines[: end + 1] + lines[begin : end + 1] + lines[end + 1 :]))


def _shell_escape(tree: Path, bases: Bases) -> None:
    set_cell_region(tree, CV, "!echo counting folds\n" + "\n".join(_solution_cv(bases)))


SHELL_ESCAPE_OUTSIDE = """
# Shell escapes run in the sandbox's own terminal: try to get out through them.
stolen = !cat {path} 2>&1
reached = !python -c "import socket as s; s.create_connection(('1.1.1.1', 80), 3)" && echo reached
uid = !id -u
if "def compute_distances" in stolen.n or "reached" in reached or uid == ["0"]:
    pass  # out: the solution's cross-validation follows
else:
    raise PermissionError(f"held: {{stolen.n[-60:]}} | {{reached.n[-45:]}} | uid {{uid.n}}")
"""


def _shell_escape_outside(tree: Path, bases: Bases) -> None:
    attempt = SHELL_ESCAPE_OUTSIDE.format(path=str(bases.source_root / KNN))
    set_cell_region(tree, CV, attempt + "\n".join(_solution_cv(bases)))


def _deep_json(tree: Path, bases: Bases) -> None:
    (tree / NOTEBOOK).write_text("[" * 100_000 + "]" * 100_000)


def _nbformat3(tree: Path, bases: Bases) -> None:
    (tree / NOTEBOOK).write_text(
        '{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}'
    )


def _uncompilable(tree: Path, bases: Bases) -> None:
    set_region(tree, KNN, R_ONE, "x = " + "+".join(["1"] * 20_000) + "\ndists[i, :] = x")
    set_region(tree, KNN, R_NONE, "\n".join(f"v{i} = {i}" for i in range(3_000)))


def _non_utf8_inside(tree: Path, bases: Bases) -> None:
    for rel in (b"cs231n_lib/caf\xe9.py", b"notebooks/\xff\xfe.ipynb"):
        with open(bytes(tree) + b"/" + rel, "wb") as f:
            f.write(b"print('not graded')\n")


def _deep_chain(bases: Bases, folder: Path) -> Path:
    tree = copy_tree(bases.perfect, folder / "chain")
    make_chain(tree / "cs231n_lib", 1_100)  # remove with remove_chains() (see edit.py)
    return tree


def remove_chains(subs: Path) -> None:
    """Remove the deep chains cases built under ``subs`` (pytest cannot)."""
    for case in CASES:
        if case.build is _deep_chain:
            remove_chain(subs / (case.filename or case.name) / "cs231n_lib")


def _zip_of(base: str, what: str):
    def build(bases: Bases, folder: Path) -> Path:
        tree = copy_tree(getattr(bases, base), folder / what)
        return zip_tree(tree, folder / f"{what}.zip")

    return build


def _same_bytes_refused(bases: Bases, folder: Path) -> Path:
    """A refused zip whose bytes do not depend on its name (so two students can share them)."""
    tree = copy_tree(bases.release, folder / "payload")
    return zip_tree(tree, folder / "payload.zip", {"../../escape.py": b"print(1)\n"})


def collided_id(sanitised: str, raw: bytes) -> str:
    """The gradebook id of a submission whose name sanitises like another student's."""
    import hashlib

    return f"{sanitised}-{hashlib.sha256(raw).hexdigest()[:8]}"


# fmt: off
CASES = [
    Case("perfect", _from("perfect"), what="the reference solution"),
    Case("release", _from("release"), zero=ALL, what="the untouched release"),
    Case("partial", _partial, zero={ONE, NONE, CV}, what="two functions written"),
    Case("hardcoded_golden", _perfect_with(R_TWO, HARDCODED_GOLDEN), zero={TWO},
         what="returns the public golden value and prints the public OK line"),
    Case("monkeypatch_numpy", _perfect_with(R_ONE, MONKEYPATCH_NUMPY), zero={ONE},
         what="wrong answer plus np.allclose/assert_allclose patched"),
    Case("patch_checkers", _from("release", _region(KNN, R_TWO, PATCH_CHECKERS)), zero=ALL,
         what="patches cs231n_lib.checks (fingerprint, compare, check) from student code"),
    Case("fake_check_function",
         _from("perfect", lambda tree, bases: set_cell_region(tree, CV, FAKE_CHECK)),
         zero={CV}, what="redefines check() in a notebook region to print OK"),
    Case("hardcoded_cross_validation",
         _from("perfect", lambda tree, bases: set_cell_region(tree, CV, HARDCODED_CV)),
         zero={CV}, what="plausible cross-validation accuracies typed in, not computed"),
    Case("nbval_markers", _from("perfect", _nbval_markers), zero={TWO, CV},
         what="nbval-skip/ignore tags and # NBVAL_SKIP comments, points changed"),
    Case("check_cells_replaced", _from("release", _check_cells_replaced), zero=ALL,
         what="check cells replaced by prints of OK lines, one deleted"),
    Case("check_cells_deleted", _from("perfect", _check_cells_deleted),
         what="correct code, all check cells deleted (the instructor's run anyway)"),
    Case("modified_check_files", _from("release", _modified_check_files), zero=ALL,
         what="checks/__init__.py and checks/knn.py replaced, sitecustomize added"),
    Case("region_escape", _from("perfect", _region_escape), zero={ONE},
         reason={ONE: "not used"}, what="region code dedented to module level"),
    Case("infinite_loop", _perfect_with(R_ONE, "while True:\n    pass"), zero={ONE},
         reason={ONE: "time limit"}, what="while True: pass"),
    Case("memory_bomb", _perfect_with(R_NONE, MEMORY_BOMB), zero={NONE, CV},
         reason={NONE: "MemoryError"},
         what="allocates until the limit (cross-validation uses the same function)"),
    Case("os_exit", _perfect_with(R_PRED, "import os\nos._exit(3)"), zero={PRED, CV},
         reason={PRED: "exit status 3"},
         what="os._exit in predict_labels (cross-validation needs it)"),
    Case("fork_loop", _perfect_with(R_ONE, FORK_LOOP), zero={ONE}, what="fork loop"),
    Case("read_outside", _from("perfect", _read_outside), zero={ONE},
         reason={ONE: "FileNotFoundError"}, what="reads the instructor's solution file"),
    Case("network", _perfect_with(R_ONE, NETWORK), zero={ONE}, reason={ONE: "unreachable"},
         what="opens a TCP connection"),
    Case("zip_slip", _zip_slip, zero=ALL, refused="outside the submission folder",
         what="zip entry ../../zip-slip-escaped.py"),
    Case("korean_zip_slip", _korean_zip_slip, zero=ALL, refused="제출물 폴더 바깥을 가리킵니다",
         absent=("outside the submission folder",),
         what="a zip-slip zip of a student who answered in Korean: refused in Korean"),
    Case("zip_bomb", _zip_bomb, zero=ALL, refused="bytes allowed per file",
         what="64 MiB notebook entry in a 64 KB zip"),
    Case("symlink", _symlink, zero=ALL, refused="symbolic link",
         what="knn.py is a symlink to the instructor's solution"),
    Case("malformed_json", _from("perfect", _malformed), zero={CV},
         what="notebook JSON cut short (library regions still count)"),
    # -- issue 17 --
    Case("shadowed_check", _from("perfect", lambda tree, bases: set_cell_region(
         tree, CV, "\n".join(_solution_cv(bases)) + SHADOWED_CHECK)),
         what="correct cross-validation, then check() rebound by the region: the real one runs"),
    Case("leak_and_markup", _perfect_with(R_ONE, LEAK_AND_MARKUP), zero={ONE},
         reason={ONE: "&lt;script&gt;"}, absent=("<script>", "[click](http", str(20240601)),
         what="reads the grading seed and raises it with HTML and Markdown in the message"),
    Case("deeper_indent", _from("perfect", _deeper_indent),
         what="a region body indented 4 columns deeper than its marker lines"),
    Case("lookalike_marker", _from("perfect", _lookalike_marker), zero=ALL,
         reason={TWO: "marker lines", PRED: "marker lines"},
         what="an end marker typed with a Cyrillic E: knn.py's regions cannot be read"),
    Case("duplicated_cell", _from("perfect", _duplicated_cell), zero={CV},
         reason={CV: "appears in two cells"}, what="the cross-validation cell duplicated"),
    Case("deep_json", _from("perfect", _deep_json), zero={CV}, reason={CV: "nested too deeply"},
         what="notebook JSON nested 100,000 levels deep"),
    Case("nbformat3", _from("perfect", _nbformat3), zero={CV}, reason={CV: "nbformat 3"},
         what="an nbformat-3 notebook (worksheets)"),
    Case("uncompilable", _from("perfect", _uncompilable), zero={ONE, NONE, CV},
         reason={ONE: "RecursionError", NONE: "too large"},
         what="a 20,000-term expression and a 3,000-line region"),
    Case("non_utf8_names", _from("perfect", _non_utf8_inside), filename=b"caf\xe9",
         student="caf_",
         what="a non-UTF-8 submission name holding non-UTF-8 file names"),
    Case("deep_chain", _deep_chain, zero=ALL, refused="nested more than",
         what="a folder chain 1,100 levels deep inside cs231n_lib/"),
    Case("zoe_umlaut", _zip_of("perfect", "z1"), filename="Zoë",
         student=collided_id("Zo_", "Zoë".encode()),
         what="Zoë.zip: sanitises like Zoé.zip, a different student"),
    Case("zoe_acute", _zip_of("release", "z2"), filename="Zoé",
         student=collided_id("Zo_", "Zoé".encode()),
         zero=ALL, what="Zoé.zip: sanitises like Zoë.zip, a different student"),
    Case("twice_zip", _zip_of("perfect", "t1"), filename="twice", zero=ALL,
         student=collided_id("twice", b"twice.zip"),
         refused="2 submissions for student", what="twice.zip beside a folder twice/"),
    Case("twice_folder", _from("perfect"), filename="twice", zero=ALL,
         student=collided_id("twice", b"twice"),
         refused="2 submissions for student", what="the folder twice/ beside twice.zip"),
    Case("output_flood", _perfect_with(R_ONE, OUTPUT_FLOOD), zero={ONE},
         reason={ONE: "output"}, what="prints 200 MB from compute_distances_one_loop"),
    Case("protocol_break", _perfect_with(R_ONE, PROTOCOL_BREAK), zero={ONE},
         reason={ONE: "message format"},
         what="sends a signed message without msg_id on the kernel's output channel: only "
         "that exercise is lost (the notebook reruns without it)"),
    Case("fake_end_marker", _perfect_with(R_PRED, FAKE_END_IN_STRING), zero=ALL,
         reason={PRED: "no begin line", TWO: "marker lines"},
         what="an end-marker line inside a string in predict_labels: knn.py cannot be read"),
    Case("duplicated_region", _from("perfect", _duplicated_region), zero=ALL,
         reason={PRED: "appears twice"}, what="predict_labels' region pasted twice in knn.py"),
    Case("shell_escape", _from("perfect", _shell_escape),
         what="!echo in the cross-validation cell: it runs on the sandbox's own terminal, so "
         "the cell grades as the student saw it run"),
    Case("shell_escape_outside", _from("perfect", _shell_escape_outside), zero={CV},
         reason={CV: "No such file or directory"},
         what="!cat of the instructor's solution, !python reaching the network, !id -u: all "
         "inside the sandbox (not found, unreachable, not root), so the region raises"),
    Case("same_bytes_a", _same_bytes_refused, zero=ALL, refused="same_bytes_a.zip",
         absent=("same_bytes_b",), what="a refused zip; same_bytes_b.zip has the same bytes"),
    Case("same_bytes_b", _same_bytes_refused, zero=ALL, refused="same_bytes_b.zip",
         absent=("same_bytes_a",), what="the same bytes as same_bytes_a.zip, another student"),
]
# fmt: on


def expected_points(case: Case, points: dict[str, float]) -> dict[str, float]:
    return {name: (0 if name in case.zero else p) for name, p in points.items()}


def feedback_problems(case: Case, page: str) -> list[str]:
    """What is wrong with ``case``'s feedback page: a refusal, a reason or text it must (not)
    hold. Empty when the page says what it should."""
    problems = []
    if case.refused and case.refused.replace("_", "\\_") not in page:
        problems.append(f"refusal without {case.refused!r}")
    for text in case.absent:
        if text in page or text.replace("_", "\\_") in page:
            problems.append(f"quotes {text!r}")
    for exercise, word in case.reason.items():
        line = next((ln for ln in page.splitlines() if f"`{exercise}`" in ln), "")
        if word not in line:
            problems.append(f"{exercise}: no {word!r} in {line[:300]!r}")
    return problems


__all__ = ["CASES", "Bases", "Case", "expected_points", "feedback_problems", "remove_chains"]
