"""Every DynamoDB call the processor makes, through the contract's PynamoDB models, and nothing else.

Each method is one request (or one transaction) and says what its condition protects. A failed condition
is an answer ("already applied", "someone got there first") and comes back as a value; every other error
(throttling, 5xx, timeouts) is raised so the message is retried by SQS.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from contract.dynamodb import cancelled_by_condition, condition_failed, connection_of
from contract.events import EventType
from contract.keys import GUARD_SORT_KEY, guard_partition, request_sort_key
from contract.tables import (
    COMPLETE,
    CORRELATED,
    ORPHANED,
    PENDING,
    PENDING_BUCKET,
    InterimRequest,
    QuarantinedEvent,
    RequestGuard,
    RequestRecord,
)
from processor.correlation import GuardState, InterimState, Settlement
from processor.records import FinalRecord, Quarantine


def _still_missing(half: EventType | None) -> Condition | None:
    """The interim item is still pending and still lacks `half` (no condition when `half` is None)."""
    if half is None:
        return None
    attribute = InterimRequest.query_event if half == "query" else InterimRequest.response_event
    condition: Condition = (InterimRequest.status == PENDING) & attribute.does_not_exist()
    return condition


def _state(item: InterimRequest) -> InterimState:
    return InterimState(
        request_id=item.request_id,
        status=item.status or PENDING,
        query_json=item.query_event,
        response_json=item.response_event,
        record_partition=item.record_partition,
    )


def _record(record: FinalRecord) -> RequestRecord:
    return RequestRecord(record.partition, record.sort_key, **record.attributes())


def _guard(request_id: str, correlation: str, record_partition: str) -> RequestGuard:
    return RequestGuard(
        guard_partition(request_id),
        GUARD_SORT_KEY,
        request_id=request_id,
        correlation=correlation,
        record_partition=record_partition,
    )


class Repository:
    """The processor's view of QueryEvents and Analytics.

    `interim_ttl_seconds` is how long an interim item lives; every write to one sets its TTL when missing, so
    no interim item, however it was created, stays forever.
    """

    def __init__(self, *, interim_ttl_seconds: int) -> None:
        self.interim_ttl_seconds = interim_ttl_seconds

    def _expiry(self, now_ms: int) -> datetime:
        return datetime.fromtimestamp(now_ms / 1000 + self.interim_ttl_seconds, tz=UTC)

    def _interim_actions(self, item_status: str, record_partition: str, now_ms: int) -> list[Any]:
        return [
            InterimRequest.status.set(item_status),
            InterimRequest.record_partition.set(record_partition),
            InterimRequest.pending_bucket.remove(),
            InterimRequest.expires_at.set(InterimRequest.expires_at | self._expiry(now_ms)),
        ]

    def store_half(self, request_id: str, half: EventType, event_json: str, now_ms: int) -> InterimState:
        """Store one half in its interim item and return the item as it now is (one UpdateItem).

        Idempotent: the half, the first-seen time and the TTL are only set when missing. The write is
        conditioned on the request still being pending, so a recorded request never re-enters the sweep's
        index; when it is not, the item is read back (a second request, only on that rare path).
        """
        item = InterimRequest(request_id)
        attribute = InterimRequest.query_event if half == "query" else InterimRequest.response_event
        try:
            item.update(
                actions=[
                    attribute.set(attribute | event_json),
                    InterimRequest.first_seen.set(InterimRequest.first_seen | now_ms),
                    InterimRequest.status.set(PENDING),
                    InterimRequest.pending_bucket.set(PENDING_BUCKET),
                    InterimRequest.expires_at.set(InterimRequest.expires_at | self._expiry(now_ms)),
                ],
                condition=InterimRequest.request_id.does_not_exist() | (InterimRequest.status == PENDING),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            current = self.get_interim(request_id)
            if current is None:  # expired between the two requests: try again through SQS
                raise
            return current
        return _state(item)

    def get_interim(self, request_id: str) -> InterimState | None:
        try:
            return _state(InterimRequest.get(request_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_guard(self, request_id: str) -> GuardState | None:
        try:
            guard = RequestGuard.get(guard_partition(request_id), GUARD_SORT_KEY, consistent_read=True)
        except DoesNotExist:
            return None
        return GuardState(correlation=guard.correlation, record_partition=guard.record_partition)

    def get_record(self, partition: str, request_id: str) -> FinalRecord | None:
        """The stored halves of a record, as JSON: what healing needs from an orphan."""
        try:
            item = RequestRecord.get(partition, request_sort_key(request_id), consistent_read=True)
        except DoesNotExist:
            return None
        values = {name: getattr(item, name) for name in FinalRecord.__slots__ if name != "partition"}
        return FinalRecord(partition=partition, **values)

    def record_first(
        self, record: FinalRecord, now_ms: int, *, expect_missing: EventType | None = None
    ) -> bool:
        """Write a request's first record, its guard and the interim status in one transaction.

        The guard's `attribute_not_exists` is what makes the record unique. For an orphan (`expect_missing`
        names the half it lacks) the interim item must still be pending and still lack that half, so a half
        that arrived since the sweep read the index is never recorded as missing. The interim item keeps only
        what it had: the record holds both halves, and nothing reads them from a settled interim item.
        Returns False when a condition failed: something is recorded already, and the caller asks the guard.
        """
        interim_condition = _still_missing(expect_missing)
        item_status = CORRELATED if record.correlation == COMPLETE else ORPHANED
        actions = self._interim_actions(item_status, record.partition, now_ms)
        actions.append(InterimRequest.first_seen.set(InterimRequest.first_seen | now_ms))
        try:
            with TransactWrite(connection=connection_of(InterimRequest)) as transaction:
                transaction.save(
                    _guard(record.request_id, record.correlation, record.partition),
                    condition=RequestGuard.pk.does_not_exist(),
                )
                transaction.save(_record(record))
                transaction.update(
                    InterimRequest(record.request_id),
                    actions=actions,
                    condition=interim_condition,
                )
        except TransactWriteError as error:
            if cancelled_by_condition(error):
                return False
            raise
        return True

    def heal(self, record: FinalRecord, orphan: GuardState, now_ms: int) -> bool:
        """Replace an orphan record by the complete one, moving the guard with it (one transaction).

        Conditioned on the guard still holding that orphan, so two heals of one request cannot both win.
        The complete record may live in another day partition than the orphan, hence delete and put.
        """
        try:
            with TransactWrite(connection=connection_of(InterimRequest)) as transaction:
                transaction.update(
                    RequestGuard(guard_partition(record.request_id), GUARD_SORT_KEY),
                    actions=[
                        RequestGuard.correlation.set(record.correlation),
                        RequestGuard.record_partition.set(record.partition),
                    ],
                    condition=(RequestGuard.correlation == orphan.correlation)
                    & (RequestGuard.record_partition == orphan.record_partition),
                )
                if orphan.record_partition != record.partition:
                    transaction.delete(
                        RequestRecord(orphan.record_partition, request_sort_key(record.request_id))
                    )
                transaction.save(_record(record))
                transaction.update(
                    InterimRequest(record.request_id),
                    actions=self._interim_actions(CORRELATED, record.partition, now_ms),
                )
        except TransactWriteError as error:
            if cancelled_by_condition(error):
                return False
            raise
        return True

    def settle_interim(self, request_id: str, settlement: Settlement, now_ms: int) -> bool:
        """Bring an interim item in line with a record that already exists (out of the sweep's index).

        Settling as an orphan (`expect_missing` names the half the orphan lacks) is conditioned on the item
        still pending and still lacking that half: a late half stored meanwhile must heal the orphan, not be
        hidden behind an orphaned status that makes its redelivery look like a duplicate. Returns False when
        that condition failed (or the item is gone); settling as correlated is unconditional.
        """
        try:
            InterimRequest(request_id).update(
                actions=self._interim_actions(settlement.status, settlement.record_partition, now_ms),
                condition=_still_missing(settlement.expect_missing),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            return False
        return True

    def quarantine(self, quarantine: Quarantine) -> bool:
        """Keep a poison message; False when this very message was quarantined before (a redelivery)."""
        item = QuarantinedEvent(quarantine.partition, quarantine.sort_key, **quarantine.attributes())
        try:
            item.save(condition=QuarantinedEvent.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def pending_before(self, first_seen_before_ms: int) -> Iterator[InterimState]:
        """Pending interim items first seen before a time, oldest first, page by page (never a Scan).

        The index holds keys only: each due item is read whole with a consistent read, which also sees a
        half stored since the index was written (an item no longer there is skipped).
        """
        for key in InterimRequest.pending_index.query(
            PENDING_BUCKET, InterimRequest.first_seen < first_seen_before_ms
        ):
            state = self.get_interim(key.request_id)
            if state is not None:
                yield state
