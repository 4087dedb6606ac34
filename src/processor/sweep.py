"""The orphan sweep's policy: the order it takes pending requests in, when it stops, what a failure does.

Items come from the sparse pending index, oldest first, so a run that stops early leaves the newest for the
next. A failing item does not stop the others: it is counted and reported to the caller as it happens, and
the caller makes the run fail at the end so the failure shows (a retry, being idempotent, is harmless).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from processor.service import Correlator, Outcome

# Stop taking items this long before the Lambda times out; the next run carries on from the oldest item. A
# fixed margin alone would stop a function whose timeout is no longer than it before its first item, every
# run, silently: the margin is at most a fifth of the time the run starts with.
SWEEP_TIME_MARGIN_MS = 10_000
SWEEP_TIME_MARGIN_SHARE = 5
FAILED = "failed"


def sweep_margin_ms(remaining_at_start_ms: int) -> int:
    """How long before the timeout a sweep that starts with this much time stops taking items."""
    return min(SWEEP_TIME_MARGIN_MS, remaining_at_start_ms // SWEEP_TIME_MARGIN_SHARE)


@dataclass
class SweepRun:
    """What one run did: items per outcome (and `failed`), and whether it stopped to finish in time."""

    counts: dict[str, int] = field(
        default_factory=lambda: {outcome.value: 0 for outcome in Outcome} | {FAILED: 0}
    )
    stopped_early: bool = False


def sweep_pending(
    correlator: Correlator,
    cutoff_ms: int,
    *,
    remaining_ms: Callable[[], int] | None,
    on_failure: Callable[[str], None],
) -> SweepRun:
    """Record every request first seen before `cutoff_ms` and still pending: an orphan, or complete if it
    can be. `remaining_ms` is the time left before the timeout (None: no limit); `on_failure` is called
    with the request id while the exception an item raised is being handled (to log it with its cause)."""
    run = SweepRun()
    margin_ms = sweep_margin_ms(remaining_ms()) if remaining_ms is not None else 0
    for state in correlator.store.pending_before(cutoff_ms):
        if remaining_ms is not None and remaining_ms() < margin_ms:
            run.stopped_early = True
            break
        try:
            outcome = correlator.record_orphan(state)
        except Exception:
            run.counts[FAILED] += 1
            on_failure(state.request_id)
            continue
        run.counts[outcome.value] += 1
    return run
