"""Manual grading of inline questions: answer pages and point sheets for TAs.

Each inline-question answer cell declares its points once, in nbgrader metadata, like the
check cells do::

    {"nbgrader": {"grade": true, "solution": true, "grade_id": "01_knn-inline-question-1",
                  "points": 2}}

``course grade`` then writes, in ``OUT/manual/``,

- ``index.html`` and ``<question>.html``: every student's answer to one question side by side,
  Markdown and LaTeX rendered (:mod:`.render`: offline, student text escaped), the model
  answer beside them, and the points and comments entered so far;
- ``<question>.csv``: the sheet a TA fills in, one row per student: ``points`` and ``comment``
  (the other columns are the grader's).

Re-running ``course grade`` reads the sheets first: the points go into the gradebook and each
student's feedback (automatic and manual points shown apart, with the comment). A sheet is
rewritten with every entered point and comment kept; rows of students no longer submitted are
kept too. An answer that changed after it was graded is flagged (``flag`` column, the page and
the summary) until a TA re-reads it and clears ``graded_sha``. Points that are not numbers or are
out of range stop the run with every problem named by sheet, row and student; nothing is written
then, so nothing entered is lost.

The package's rooms: ``questions`` (the declared questions and model answers; each
submission's answers), ``sheets`` (reading, checking and merging the TAs' CSV sheets),
``pages`` (the HTML answer pages), ``render`` (untrusted Markdown and LaTeX to safe HTML) and
``reports`` (writing sheets and pages; the manual part of the gradebook, feedback and summary).
The rest of the course imports only the names below.
"""

from cs231n_course.manual.questions import Question, answer_sha, collect_answers, load_questions
from cs231n_course.manual.reports import (
    feedback_section,
    gradebook_csv,
    summary_section,
    write_all,
)
from cs231n_course.manual.sheets import (
    CHANGED_FLAG,
    GONE_FLAG,
    SHEET_COLUMNS,
    ManualGradingError,
    ManualState,
    SheetRow,
    merge,
    read_sheet,
    sheet_csv,
)

__all__ = [
    "CHANGED_FLAG",
    "GONE_FLAG",
    "SHEET_COLUMNS",
    "ManualGradingError",
    "ManualState",
    "Question",
    "SheetRow",
    "answer_sha",
    "collect_answers",
    "feedback_section",
    "gradebook_csv",
    "load_questions",
    "merge",
    "read_sheet",
    "sheet_csv",
    "summary_section",
    "write_all",
]
