"""When a day's records are final enough to roll up, and which records arrive after that.

A record is written some time after the request it describes: both halves travel through the queue, an
orphan waits for the sweep (ORPHAN_AFTER_SECONDS, then up to one sweep interval), and a failed batch is
retried. A day's rollup is built from its records once the day has ended plus `LATE_AFTER_MS` plus
`WRITE_MARGIN_MS`. The processor flags (in the sparse late-records index) every record it writes more than
`LATE_AFTER_MS` after the request's own time, and every healed record: those are the only records a
rollup built on time can have missed, so the roll-up rebuilds exactly their days.

Why the margin: the processor decides lateness from its clock before it writes; its write commits within
one invocation (its timeout is seconds), so a record it judged on time is stored before the day is due.
"""

from __future__ import annotations

LATE_AFTER_MS = 2 * 60 * 60 * 1000
WRITE_MARGIN_MS = 15 * 60 * 1000
ROLLUP_DUE_AFTER_MS = LATE_AFTER_MS + WRITE_MARGIN_MS


def is_late(request_time_ms: int, recorded_at_ms: int) -> bool:
    """Written so long after the request that its day's rollup may already have been built."""
    return recorded_at_ms - request_time_ms > LATE_AFTER_MS
