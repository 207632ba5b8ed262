"""The instructor's commands behave as the README says: ordinary permissions, --force says what
it replaces, a failed grade run leaves no lock behind."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cs231n_course.grader import GradeOptions, GradingError, grade
from cs231n_course.grader import lock as grade_lock

REPO = Path(__file__).resolve().parents[1]


def _course(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "cs231n_course", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_release_permissions_and_force(tmp_path):
    out = tmp_path / "student-release"
    done = _course("release", str(out), "--source", str(REPO))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    again = _course("release", str(out), "--source", str(REPO))
    assert again.returncode == 1 and "pass --force to replace it" in again.stderr
    (out / "my-notes.txt").write_text("kept?")
    forced = _course("release", str(out), "--source", str(REPO), "--force")
    assert forced.returncode == 0, forced.stderr
    count = len(list(p for p in out.rglob("*") if p.is_file()))
    assert f"replaced the existing {out} ({count + 1} files, --force)" in forced.stdout
    assert not (out / "my-notes.txt").exists()


def test_failed_grade_run_leaves_nothing(tmp_path):
    out = tmp_path / "gradebook"
    with pytest.raises(GradingError, match="no such file or folder"):
        grade([tmp_path / "missing.zip"], GradeOptions(out=out, progress=False))
    assert not out.exists()


def test_lock_is_exclusive_and_removed(tmp_path):
    path = tmp_path / "lock"
    with grade_lock.exclusive(path, busy=GradingError, what="OUT"):
        assert path.exists()
        with pytest.raises(GradingError, match="another grade run is writing to OUT"):
            with grade_lock.exclusive(path, busy=GradingError, what="OUT"):
                pass
    assert not path.exists()
    with pytest.raises(KeyError):
        with grade_lock.exclusive(path, busy=GradingError, what="OUT"):
            raise KeyError("a failing run")
    assert not path.exists()
