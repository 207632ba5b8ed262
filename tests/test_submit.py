"""The student's submit command writes what the grader reads, checked by the grader's rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cs231n_course.grader import unpack as submission
from cs231n_lib import lab, submit
from cs231n_lib.submission_rules import SubmissionError, UnpackLimits


@pytest.fixture
def workdir(release, tmp_path) -> Path:
    """A student's course folder: the release plus what a student's folder also holds."""
    root = tmp_path / "course"
    shutil.copytree(release, root)
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "big.bin").write_bytes(os.urandom(1 << 16))
    (root / "datasets" / "cache").mkdir()
    (root / "datasets" / "cache" / "X_train.npy").write_bytes(b"\0" * 4096)
    (root / "notebooks" / ".ipynb_checkpoints").mkdir()
    (root / "notebooks" / ".ipynb_checkpoints" / "01_knn-checkpoint.ipynb").write_text("{}")
    (root / "cs231n_lib" / "__pycache__").mkdir(exist_ok=True)
    (root / "cs231n_lib" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"x")
    return root


def _write_two_loops(root: Path) -> None:
    path = root / "cs231n_lib" / "classifiers" / "knn.py"
    text = path.read_text()
    stub = next(
        line
        for line in text.splitlines()
        if "raise NotImplementedError(" in line and "compute_distances_two_loops" in line
    )
    indent = stub[: len(stub) - len(stub.lstrip())]
    body = f"{indent}dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))"
    path.write_text(text.replace(stub, body))


def test_zip_holds_exactly_what_the_grader_reads(workdir, tmp_path):
    _write_two_loops(workdir)
    report = submit.make_submission(workdir, workdir / "submission.zip")
    with zipfile.ZipFile(workdir / "submission.zip") as archive:
        names = sorted(archive.namelist())
    assert names == report.files
    assert not [n for n in names if ".venv" in n or "datasets" in n or "checkpoint" in n]
    assert not [n for n in names if n.endswith(".pyc")]
    # The grader's own unpacker reads the same files, byte for byte.
    unpacked = submission.unpack(
        submission.Submission(workdir / "submission.zip", "alice"), tmp_path / "staged"
    )
    assert sorted(unpacked.files) == names
    for rel in names:
        assert (tmp_path / "staged" / rel).read_bytes() == (workdir / rel).read_bytes()
    # The student folder as a folder submission gives the same files too.
    folder = submission.unpack(submission.Submission(workdir, "alice"), tmp_path / "staged2")
    assert sorted(folder.files) == names
    written = {r.name for r in report.regions if r.written}
    assert written == {"KNearestNeighbor.compute_distances_two_loops"}
    assert any("still hold their stub" in w for w in report.warnings)


def test_command_line_summary_and_student_id(workdir):
    done = subprocess.run(
        [sys.executable, "-m", "cs231n_lib.submit", "--id", "jdoe"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (workdir / "jdoe.zip").is_file()
    assert submission.student_id(workdir / "jdoe.zip") == "jdoe"
    out = done.stdout
    assert f"Submission: {workdir / 'jdoe.zip'}" in out
    assert "01_knn.ipynb" in out and "checks OK  0/5" in out
    # One column per field: the longest notebook name (05_fully_connected_nets) included.
    rows = [line for line in out.splitlines() if ".ipynb " in line and "checks OK" in line]
    assert len(rows) >= 6 and len({line.index("checks OK") for line in rows}) == 1, rows
    assert "was never run" in out
    assert len(out.splitlines()) < 40  # one screen


def test_damaged_marker_line_is_reported(workdir):
    path = workdir / "cs231n_lib" / "classifiers" / "knn.py"
    text = path.read_text()
    path.write_text(text.replace("(do not edit this line)", "(edited)", 1), encoding="utf-8")
    report = submit.inspect(workdir)
    damaged = [w for w in report.warnings if "damaged region marker" in w]
    assert damaged and damaged[0].startswith("cs231n_lib/classifiers/knn.py:")


def test_shell_commands_needing_the_network_are_reported(workdir):
    """!cmd in a region runs under the grader (the sandbox has a terminal of its own), but with
    no network: !pip, %pip, x = !wget and the like are named; !ls and !echo are not."""
    path = workdir / "notebooks" / "01_knn.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c.get("id") == "knn_cross_validation")
    body = "\n!echo counting folds\nfiles = !ls\n!pip install tqdm\n  %pip install numpy\n"
    body += "data = !wget -q http://example.org/x\n"
    source = "".join(cell["source"])
    marker = "(do not edit this line)\n"
    cell["source"] = source.replace(marker, marker + body, 1)
    path.write_text(json.dumps(nb))
    report = submit.inspect(workdir)
    found = [w for w in report.warnings if "needs the network" in w]
    assert [w.split("`")[1] for w in found] == [
        "!pip install tqdm", "%pip install numpy", "data = !wget -q http://example.org/x",
    ], found  # fmt: skip
    assert found[0].startswith("notebooks/01_knn.ipynb, region knn_cross_validation:")
    assert "run it in a terminal" in found[0]


def test_stale_notebook_is_reported(workdir):
    nb_path = workdir / "notebooks" / "01_knn.ipynb"
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 1
    nb_path.write_text(json.dumps(nb))
    os.utime(nb_path, (1_000_000, 1_000_000))
    report = submit.inspect(workdir)
    assert any("changed after notebooks/01_knn.ipynb was last saved" in w for w in report.warnings)
    assert not any("01_knn.ipynb was never run" in w for w in report.warnings)


def test_limits_are_the_graders(workdir):
    assert submission.UnpackLimits is UnpackLimits
    small = UnpackLimits(max_file_bytes=20_000)
    with pytest.raises(SubmissionError, match="bytes allowed per file"):
        submit.make_submission(workdir, workdir / "submission.zip", small)
    assert not (workdir / "submission.zip").exists()
    link = workdir / "cs231n_lib" / "evil.py"
    link.symlink_to("/etc/passwd")
    with pytest.raises(SubmissionError, match="symbolic link"):
        submit.gradable_files(workdir)


def test_grader_refusal_names_the_venv(workdir, tmp_path):
    archive = tmp_path / "bob.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as z:
        z.write(workdir / ".venv" / "lib" / "big.bin", ".venv/lib/big.bin")
        z.write(workdir / "notebooks" / "01_knn.ipynb", "notebooks/01_knn.ipynb")
    limits = UnpackLimits(max_archive_bytes=20_000)
    with pytest.raises(SubmissionError) as err:
        submission.unpack(submission.Submission(archive, "bob"), tmp_path / "s", limits)
    message = str(err.value)
    assert "(.venv)" in message and "python -m cs231n_lib.submit" in message


@pytest.mark.parametrize(("euid", "flag"), [(0, True), (1000, False)])
def test_lab_adds_allow_root_only_for_root(euid, flag):
    command = lab.lab_command(["notebooks"], euid=euid)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert ("--allow-root" in command) is flag
