"""Stopping a child process the local runtime started, and everything in its process group."""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import suppress


def stop_process_group(process: subprocess.Popen[bytes], *, grace_seconds: float = 10) -> None:
    """SIGTERM, then SIGKILL after `grace_seconds`; then SIGKILL to whatever is left in its group.

    The processes are started with `start_new_session=True`, so the group is theirs alone: a grandchild (the
    workerd under Miniflare's launcher) cannot outlive them.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
