"""The decisions of correlation, as pure functions of what the tables hold: no I/O.

Two facts drive every decision. The interim item (QueryEvents) says which halves have been stored and
whether the request is still pending. The guard item (Analytics, one per request id, created in the same
transaction as the record) says whether a record exists and of which kind. The guard is the lock that makes
"exactly one record per request" a DynamoDB condition; the interim status is only a fast path that avoids
reading the guard when nothing unusual happened.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from contract.events import EventType
from contract.tables import COMPLETE, CORRELATED, ORPHANED, PENDING, QUERY_ONLY, RESPONSE_ONLY


@dataclass(frozen=True, slots=True)
class InterimState:
    """An interim item as read back (ALL_NEW after the update, or a consistent read)."""

    request_id: str
    status: str
    query_json: str | None = None
    response_json: str | None = None
    record_partition: str | None = None

    @property
    def halves(self) -> frozenset[EventType]:
        return halves_of(self.query_json, self.response_json)


def halves_of(query_json: str | None, response_json: str | None) -> frozenset[EventType]:
    """Which halves of a request are known, from their stored JSON."""
    held: set[EventType] = set()
    if query_json is not None:
        held.add("query")
    if response_json is not None:
        held.add("response")
    return frozenset(held)


@dataclass(frozen=True, slots=True)
class GuardState:
    """A request's guard: the kind of record it has and where that record lives."""

    correlation: str
    record_partition: str


class Step(enum.Enum):
    """What to do after a half has been stored in its interim item."""

    WAIT = "wait"  # the other half has not arrived: the sweep records an orphan if it never does
    COMPLETE = "complete"  # both halves are there and nothing is recorded yet
    DUPLICATE = "duplicate"  # this half is already in a final record
    RECONCILE = "reconcile"  # a record exists that this half changes (an orphan to heal): ask the guard


class Resolution(enum.Enum):
    """What an existing guard means for the halves at hand."""

    ALREADY_COMPLETE = "already_complete"  # a complete record exists: mark the interim item correlated
    ALREADY_ORPHANED = "already_orphaned"  # the same single half is already an orphan record
    HEAL = "heal"  # the guard holds an orphan and the other half is now known: make it complete


def next_step(state: InterimState, arrived: EventType) -> Step:
    """Decide from the interim item what a half that just arrived leads to."""
    if state.status == PENDING:
        return Step.COMPLETE if state.halves == {"query", "response"} else Step.WAIT
    if state.status == CORRELATED:
        return Step.DUPLICATE
    if state.status == ORPHANED:
        # The orphan record holds the half the interim item holds; the same half again changes nothing.
        return Step.DUPLICATE if arrived in state.halves else Step.RECONCILE
    raise ValueError(f"interim item {state.request_id} has unknown status {state.status!r}")


def resolve(guard: GuardState, known: frozenset[EventType]) -> Resolution:
    """Decide what an existing guard means, given the halves known now (from the event, interim or record).

    A guard that holds a complete record wins over anything. An orphan guard heals when the half it lacks is
    known; otherwise the orphan already says everything there is to say.
    """
    if guard.correlation == COMPLETE:
        return Resolution.ALREADY_COMPLETE
    held = {QUERY_ONLY: "query", RESPONSE_ONLY: "response"}.get(guard.correlation)
    if held is None:
        raise ValueError(f"guard has unknown correlation {guard.correlation!r}")
    missing: EventType = "response" if held == "query" else "query"
    return Resolution.HEAL if missing in known else Resolution.ALREADY_ORPHANED


@dataclass(frozen=True, slots=True)
class Settlement:
    """What an interim item becomes when its request is recorded already and nothing needs healing.

    Settling as an orphan names the half the orphan lacks (`expect_missing`): the item must still lack it,
    or a late half stored meanwhile would be hidden behind an orphaned status.
    """

    status: str
    record_partition: str
    expect_missing: EventType | None = None


def settlement(resolution: Resolution, guard: GuardState, known: frozenset[EventType]) -> Settlement:
    """The settlement matching an existing record, for a resolution other than HEAL."""
    if resolution is Resolution.ALREADY_ORPHANED:
        missing: EventType = "response" if "query" in known else "query"
        return Settlement(ORPHANED, guard.record_partition, expect_missing=missing)
    return Settlement(CORRELATED, guard.record_partition)
