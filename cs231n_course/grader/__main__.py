"""``python -m cs231n_course.grader SUBMISSION... --out DIR``: the same as ``... grade``."""

import contextlib
import sys

from cs231n_course.grader.cli import main

if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
