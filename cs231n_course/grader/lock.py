"""One grade run per output folder: an exclusive lock file that never outlives its run.

The lock is ``OUT/.grader/lock``, held with ``flock`` and removed when the run ends (whether it
finished or failed), so a failed run leaves nothing behind. Removing a lock file races with a
second run that opened it just before; that run sees, after locking, that the path no longer
names the file it locked, and tries again on the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path, *, busy: type[Exception], what: str) -> Iterator[None]:
    """Hold ``path`` as a lock file for the block; raise ``busy`` if another run holds it."""
    message = f"another grade run is writing to {what}; wait for it"
    for _ in range(10):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            os.close(fd)
            raise busy(message) from err
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # removed by the run that just finished: lock the new file instead
    else:
        raise busy(message)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)
