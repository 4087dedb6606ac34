"""SIGTERM handled like Ctrl-C, so every `finally` runs and the processes a command started are stopped."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt in the main thread; the old handler comes back."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
