"""``python -m cs231n_lib.data``: see :mod:`cs231n_lib.data.cli`."""

from cs231n_lib.data.cli import main

raise SystemExit(main())
