"""``python -m cs231n_course.sandbox run|netns|probe``: the launcher's command line."""

import sys

from cs231n_course.sandbox.launcher import main

if __name__ == "__main__":
    sys.exit(main())
