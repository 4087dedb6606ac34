"""One holder at a time on this machine, across processes: an exclusive `flock` on a named file.

Steps that write a shared cache (Terraform's plug-in cache, the reporter's model directory) may be asked
for by several processes at once (the test suites side by side, a demo beside them); the second waits for
the first and then finds the work done. The lock goes with the holder's file descriptor, so a process that
dies releases it.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Hold the exclusive lock on `path` (created, with its folder, when missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
