"""One holder at a time: another process cannot take the lock while the block runs, and can after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cv_analytics import machine_lock

# Tries the lock without waiting in a process of its own; exits 0 when it got it, 1 when it is held.
TRY = """
import fcntl, sys
with open(sys.argv[1], "w") as lock:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(1)
"""


def _another_process_gets(path: Path) -> bool:
    return subprocess.run([sys.executable, "-c", TRY, str(path)], check=False).returncode == 0


def test_the_lock_is_held_for_the_block_alone(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "build.lock"
    with machine_lock.held(path):
        assert path.exists()
        assert not _another_process_gets(path)
    assert _another_process_gets(path)
