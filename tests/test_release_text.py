"""The student release is clean: every file, command and module its text names exists in it, it
names nothing instructor-only, and a student's install needs nothing the release lacks. Also:
the README's test command is exactly what CI runs."""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Always present in a venv: the interpreter and pip; JupyterLab's own command comes with
# the released requirements.
STANDARD_COMMANDS = {"python", "python3", "python3.11", "pip", "jupyter", "jupyter-lab", "activate"}
INSTRUCTOR_WORDS = re.compile(
    r"benchmarks/|\.ci/|tests/|test suite|requirements-instructor|sanitize\.cfg|"
    r"cs231n_lib\.course|cs231n-course|instructor-only|Results \(measured",
    re.IGNORECASE,
)
# A path: a file name with an extension, or a folder path of the course's own top-level names.
PATH_TOKEN = re.compile(
    r"^([\w./<>*-]+\.(py|ipynb|md|txt|toml|gz|zip|npz|cfg)|(cs231n_lib|notebooks|datasets)/[\w./-]*)$"
)
# Files of CS231n's own assignments, cited by name (its package is `cs231n`, ours `cs231n_lib`).
CS231N_FILES = ("cs231n/", "softmax.py")
# Files and folders that commands named in the text create (a zip, the data cache, a download).
CREATED = ("submission.zip", "jdoe.zip", "cache/", "cifar-10-batches-py", "train/", "test/")


def released_texts(release: Path) -> dict[str, str]:
    """Every text a student reads: the READMEs and the notebooks' cells (markdown and code)."""
    texts = {
        rel: (release / rel).read_text()
        for rel in ("README.md", "README.ko.md", "datasets/README.md")
    }
    for path in sorted((release / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            texts[f"notebooks/{path.name} ({cell['id']})"] = "".join(cell["source"])
    return texts


def test_no_instructor_material_in_released_text(release):
    found = [
        f"{where}: {m.group(0)!r}"
        for where, text in released_texts(release).items()
        for m in INSTRUCTOR_WORDS.finditer(text)
    ]
    assert not found, "instructor-only text reaches students:\n" + "\n".join(found)
    pyproject = (release / "pyproject.toml").read_text()
    assert "tests/" not in pyproject and "pytest" not in pyproject, pyproject
    assert not (release / "requirements-instructor.txt").exists()


def _backticked(text: str) -> list[str]:
    spans = re.findall(r"`([^`\n]+)`", text)
    spans += re.findall(r"^(?: {4}|\t)(.+)$", text, re.MULTILINE)  # code blocks
    return spans


def test_every_named_path_module_and_command_exists(release):
    scripts = set(tomllib.loads((release / "pyproject.toml").read_text())["project"]["scripts"])
    missing = []
    for where, text in released_texts(release).items():
        for span in _backticked(text):
            for module in re.findall(r"python(?:3(?:\.11)?)? -m ([\w.]+)", span):
                if module in ("venv", "pip"):
                    continue
                rel = module.replace(".", "/")
                if not ((release / f"{rel}.py").is_file() or (release / rel).is_dir()):
                    missing.append(f"{where}: module {module} ({span!r})")
            for command in re.findall(r"\.venv/bin/([\w.-]+)", span):
                if command not in STANDARD_COMMANDS and command not in scripts:
                    missing.append(f"{where}: command {command} ({span!r})")
            for token in span.split():
                token = token.strip("()[],;:'\"")
                if not PATH_TOKEN.match(token) or token.startswith((".venv", "$", "http")):
                    continue
                if "<" in token or "*" in token or "://" in token:
                    continue  # a pattern, not a path
                if token.startswith("cs231n_lib.") and "/" not in token:
                    continue  # a module or attribute name: checked above where run with -m
                if token.startswith(CREATED) or token.startswith(CS231N_FILES):
                    continue
                if not any((base / token).exists() for base in (release, release / "datasets")):
                    missing.append(f"{where}: path {token}")
    assert not missing, "released text names what the release lacks:\n" + "\n".join(missing)


def test_readme_test_command_is_what_ci_runs():
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("**Run the whole test suite**") :]
    command = next(line.strip() for line in block.splitlines() if line.startswith("    "))
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-1] == command
    assert command.startswith(".ci/install-browser && ")


def _requirement_closure(names: list[str]) -> set[str]:
    """Installed distributions reached from ``names`` through their requirements."""
    seen, todo = set(), [re.split(r"[<>=!~\[ ;]", n, maxsplit=1)[0] for n in names]
    while todo:
        name = md.distribution(todo.pop()).metadata["Name"].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for req in md.requires(name) or []:
            if "extra ==" in req:
                continue
            dep = re.split(r"[<>=!~\[ ;(]", req, maxsplit=1)[0]
            try:
                md.distribution(dep)
            except md.PackageNotFoundError:
                continue  # a platform-specific dependency not installed here
            todo.append(dep)
    return seen


def test_student_install_needs_nothing_the_release_lacks(release, tmp_path):
    lines = [
        line.strip()
        for line in (release / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not [line for line in lines if line.startswith("-")], "requirements.txt refers out"
    closure = _requirement_closure(lines)
    # Every third-party module the released library imports is installed by requirements.txt.
    by_module = md.packages_distributions()
    unmet = []
    for path in sorted((release / "cs231n_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "cs231n_lib":
                    continue
                dists = {d.lower().replace("_", "-") for d in by_module.get(top, [])}
                if not dists & closure:
                    unmet.append(f"{path.relative_to(release)} imports {name}")
    assert not unmet, "\n".join(unmet)
    # The release builds on its own (offline): README, pyproject, package data all present.
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(tmp_path), str(release)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = set(archive.namelist())
    released = {p.relative_to(release).as_posix() for p in (release / "cs231n_lib").rglob("*")}
    wanted = {r for r in released if r.endswith((".py", ".npz"))}
    assert wanted <= packed, sorted(wanted - packed)[:10]
    entry = next(n for n in packed if n.endswith("entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        points = archive.read(entry).decode()
    assert "cs231n-submit = cs231n_lib.submit:main" in points
    assert "cs231n_course" not in points


def test_open_course_command_in_both_readmes(release):
    """The README's open command ends with the launcher, not a bare ``jupyter lab``."""
    for readme in (REPO / "README.md", release / "README.md"):
        text = readme.read_text()
        assert ".venv/bin/python -m cs231n_lib.lab" in text
        assert not re.search(r"(?<![\w/])jupyter lab", text), readme
