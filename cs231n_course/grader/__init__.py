"""The grader: ``grade(submissions, GradeOptions(out=...))`` is the one entry the rest calls.

Rooms, each one job (the README's "Grading" section says what grading does):

- ``types``: the shared types (a leaf: imports nothing else of the grader);
- ``batch``: a whole batch: lock, uids, seed, reference, parallel workers, stored results;
- ``environment`` (+ ``kernel_startup``): what every kernel of a batch shares;
- ``course``: what is graded; ``reference``: the solution's outputs to compare with;
- ``unpack``: reading a submission safely (rules in ``cs231n_lib.submission_rules``);
- ``workspace``: splicing student regions into the instructor's files;
- ``submission``: grading one submission into a typed ``SubmissionResult``;
- ``policy``, ``nbval_pass``, ``plugin``: one contained nbval run and its per-cell events;
- ``scoring``: pure functions from recorded events to verdicts;
- ``reports``: gradebook, feedback and summary; ``cli``: the command line.

For a backend that distributes submissions itself, ``batch.grade`` is the recipe:
``read_submissions`` -> ``claimed_uids`` -> ``prepare`` (a ``Batch``) -> ``pending`` -> for
each, ``submission.grade_submission(batch, sub, slot)`` (a typed ``SubmissionResult``; it
computes or loads the reference outputs for that submission's seed) and
``store_result(batch.result_path(sub), result)`` -> ``reports.write_reports``; ``grade_all``
is the thread-pool version of the loop. ``tuning`` re-evaluates the tuning exercises'
submitted weights outside the kernel.
"""

from cs231n_course.grader.batch import grade
from cs231n_course.grader.types import (
    Batch,
    BatchReport,
    ExerciseResult,
    GradeOptions,
    GradingError,
    Limits,
    Submission,
    SubmissionResult,
)

__all__ = [
    "Batch",
    "BatchReport",
    "ExerciseResult",
    "GradeOptions",
    "GradingError",
    "Limits",
    "Submission",
    "SubmissionResult",
    "grade",
]
