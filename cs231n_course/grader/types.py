"""The grader's shared types: what every other grader module passes around.

A leaf: it imports nothing else of the grader, so any module may import it without closing an
import circle. ``SubmissionResult`` is the typed result of grading one submission; its JSON form
(:meth:`SubmissionResult.to_json`) is what ``OUT/.grader/results/`` stores.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cs231n_lib.submission_rules import UnpackLimits

REPO_ROOT = Path(__file__).resolve().parents[2]  # the instructor's repository
GRADER_VERSION = "3"  # bump when grading semantics change, so cached results are redone


class GradingError(RuntimeError):
    """The batch cannot run (isolation missing, reference solution failing, bad input)."""


@dataclass(frozen=True)
class Limits:
    """Containment limits for one submission (per kernel unless said otherwise)."""

    cell_timeout: int = 120  # wall seconds per cell (nbval)
    notebook_timeout: int = 900  # wall seconds per notebook per pass
    cpu_seconds: int = 900  # CPU seconds per kernel (RLIMIT_CPU)
    memory_bytes: int = 3 << 30  # address space per process (RLIMIT_AS); cgroup adds 1 GiB
    max_processes: int = 64  # processes + threads of the sandbox uid (RLIMIT_NPROC, pids cgroup)
    scratch_bytes: int = 512 << 20  # each tmpfs (HOME, cwd, /tmp) and RLIMIT_FSIZE
    max_passes: int = 3  # runs of a notebook whose cells keep crashing the kernel


@dataclass
class Runtime:
    """Batch-wide settings, the same for every submission."""

    seed: int
    limits: Limits
    cache: Path
    home_template: Path
    data_dir: Path | None
    sanitizer: Path | None
    capabilities: dict[str, str]
    uids: list[int] = field(default_factory=lambda: [61000])  # one per worker slot, claimed
    fast: bool = True
    python: str = sys.executable

    def settings(self) -> dict:
        """What changes grades, for the cache key."""
        return {
            "home": self.home_template.name,
            "limits": asdict(self.limits),
            "fast": self.fast,
            "sanitizer": self.sanitizer.read_text() if self.sanitizer else None,
        }


@dataclass(frozen=True)
class GradedCell:
    notebook: str  # file name: "01_knn.ipynb"
    cell_num: int  # nbval's number: index among the notebook's code cells
    cell_id: str
    exercise: str
    points: float


@dataclass
class Course:
    """What is graded: the release built from the instructor's source, and its check cells."""

    source_root: Path
    release_root: Path
    notebooks: list[str]
    graded: list[GradedCell]
    py_regions: dict[str, list[str]] = field(default_factory=dict)
    digest: str = ""

    @property
    def max_points(self) -> float:
        return sum(g.points for g in self.graded)

    def exercises(self) -> list[str]:
        return [g.exercise for g in self.graded]


@dataclass
class ExerciseResult:
    exercise: str
    notebook: str
    points: float
    max_points: float
    passed: bool
    reason: str


@dataclass
class RunStats:
    passes: int = 0
    seconds: float = 0.0
    peak_memory: int = 0
    cpu_seconds: float = 0.0  # nbval + launcher + kernel, from the run's cgroup
    network: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class SubmissionResult:
    """The grade of one submission: every exercise, notes for the student, run statistics."""

    content_hash: str
    max_total: float
    exercises: list[ExerciseResult]
    refused: str | None = None  # why the whole submission was refused (then every exercise 0)
    notes: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)  # passes, seconds, cpu_seconds, peak_memory
    answers: dict = field(default_factory=dict)  # inline-question id -> answer text (TA-graded)
    # The refusal's template and fields (``submission_rules.Message.to_json``), beside the
    # English in ``refused``: what a feedback page in another language shows. Stored only when
    # set, so every other result's JSON is as before.
    refused_message: dict | None = None

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises)

    def points(self) -> dict[str, float]:
        return {e.exercise: e.points for e in self.exercises}

    def to_json(self) -> dict:
        message = {} if self.refused_message is None else {"refused_message": self.refused_message}
        return {
            "content_hash": self.content_hash,
            "refused": self.refused,
            "notes": self.notes,
            "max_total": self.max_total,
            "exercises": [asdict(e) for e in self.exercises],
            "total": self.total,
            "stats": self.stats,
            "answers": self.answers,
            **message,
        }

    @classmethod
    def from_json(cls, data: dict) -> SubmissionResult:
        return cls(
            content_hash=data["content_hash"],
            max_total=data["max_total"],
            exercises=[ExerciseResult(**e) for e in data["exercises"]],
            refused=data.get("refused"),
            notes=list(data.get("notes", [])),
            stats=dict(data.get("stats", {})),
            answers=dict(data.get("answers") or {}),
            refused_message=data.get("refused_message"),
        )


@dataclass
class Submission:
    """One submission as given on the command line."""

    path: Path
    student: str
    content_hash: str = ""
    # found while reading it: refuses this submission alone (a submission_rules.Message)
    problem: str | None = None


@dataclass
class GradeOptions:
    out: Path
    source: Path = REPO_ROOT
    workers: int = 0  # 0: one per core
    seed: int | None = None
    notebooks: list[str] | None = None  # names or stems; default every graded notebook
    limits: Limits = field(default_factory=Limits)
    unpack_limits: UnpackLimits = field(default_factory=UnpackLimits)
    fast: bool = True
    cache: Path | None = None  # default OUT/.grader/cache; share it to reuse reference runs
    sanitizer: Path | None = None  # default SOURCE/tests/sanitize.cfg when present
    uid_base: int = 61000
    progress: bool = True
    keep_work: bool = False  # keep each workspace in OUT/.grader/kept (debugging the grader)
    # "namespaces" (refuse without them), "uid-only-fallback" (Gradescope: a uid and rlimits
    # where namespaces are missing) or "uid-only" (force it, to test that mode here)
    isolation: str = "namespaces"


@dataclass
class BatchReport:
    gradebook: Path
    summary: Path
    totals: dict[str, float]
    new: int
    skipped: int
    failed: list[tuple[str, str]]
    seconds: float


@dataclass
class Batch:
    """Everything one grading run shares between its submissions (``batch.prepare`` makes it):
    pass it with a :class:`Submission` and a worker slot to ``submission.grade_submission``."""

    options: GradeOptions
    out: Path
    private: Path  # OUT/.grader: secret, cache, results, work (never inside a sandbox)
    work: Path
    rt: Runtime
    course: Course
    seed_source: str
    results: Path | None = None  # OUT/.grader/results/<context key>
    failed: list[tuple[str, str]] = field(default_factory=list)
    network: str = ""
    reference_locks: dict = field(default_factory=dict)  # grading seed -> lock (see submission)
    runs: dict = field(default_factory=dict)  # (seed, regions) key -> one graded run (submission)

    def result_path(self, sub: Submission) -> Path:
        """Where the result of ``sub`` is stored: one file per (student, content hash)."""
        return self.results / f"{sub.student}--{sub.content_hash}.json"
