"""What the insights read about one request or one quarantined event: plain values, no I/O.

A request's facts and its fate are defined in `contract.facts`, shared with the processor that rolls them
up; the benchmarks and tests build them directly, so every insight is a pure function over them.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.facts import (
    ANSWERED,
    ERROR,
    FAILED,
    MISSING,
    NO_RESULTS,
    REFUSED,
    REJECTED,
    Request,
    fate,
)

__all__ = [
    "ANSWERED",
    "ERROR",
    "FAILED",
    "MISSING",
    "NO_RESULTS",
    "REFUSED",
    "REJECTED",
    "Quarantined",
    "Request",
    "fate",
]


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A message the processor could not accept: when, and why."""

    message_id: str
    received_at: int
    reason: str
    path: str = ""
