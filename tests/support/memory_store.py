"""The processor's repository in memory, for the correlator's unit tests and the CPU benchmark.

It keeps `processor.service.Store`'s conditional semantics (a first record, a heal or a quarantine answers
False when it lost the race) without DynamoDB, so what runs on it is the correlator's own logic.
"""

from __future__ import annotations

from collections.abc import Iterator

from contract.events import EventType
from contract.tables import COMPLETE, CORRELATED, ORPHANED, PENDING
from processor.correlation import GuardState, InterimState, Settlement
from processor.records import FinalRecord, Quarantine


class MemoryStore:
    """The repository's contract in memory: conditional writes answer True or False, nothing else."""

    def __init__(self) -> None:
        self.interim: dict[str, InterimState] = {}
        self.guards: dict[str, GuardState] = {}
        self.records: dict[tuple[str, str], FinalRecord] = {}
        self.quarantined: set[str] = set()

    def store_half(self, request_id: str, half: EventType, event_json: str, now_ms: int) -> InterimState:
        state = self.interim.get(request_id) or InterimState(request_id, PENDING)
        if state.status == PENDING:
            query = state.query_json or (event_json if half == "query" else None)
            response = state.response_json or (event_json if half == "response" else None)
            state = InterimState(request_id, PENDING, query, response)
            self.interim[request_id] = state
        return state

    def get_interim(self, request_id: str) -> InterimState | None:
        return self.interim.get(request_id)

    def get_guard(self, request_id: str) -> GuardState | None:
        return self.guards.get(request_id)

    def get_record(self, partition: str, request_id: str) -> FinalRecord | None:
        return self.records.get((partition, request_id))

    def record_first(
        self,
        record: FinalRecord,
        now_ms: int,
        *,
        expect_missing: EventType | None = None,
    ) -> bool:
        if record.request_id in self.guards:
            return False
        self.guards[record.request_id] = GuardState(record.correlation, record.partition)
        self.records[(record.partition, record.request_id)] = record
        status = CORRELATED if record.correlation == COMPLETE else ORPHANED
        self.interim[record.request_id] = InterimState(
            record.request_id, status, record.query_event, record.response_event, record.partition
        )
        return True

    def heal(self, record: FinalRecord, orphan: GuardState, now_ms: int) -> bool:
        if self.guards.get(record.request_id) != orphan:
            return False
        self.records.pop((orphan.record_partition, record.request_id), None)
        self.guards[record.request_id] = GuardState(record.correlation, record.partition)
        self.records[(record.partition, record.request_id)] = record
        return True

    def settle_interim(self, request_id: str, settlement: Settlement, now_ms: int) -> bool:
        state = self.interim[request_id]
        self.interim[request_id] = InterimState(
            request_id, settlement.status, state.query_json, state.response_json, settlement.record_partition
        )
        return True

    def quarantine(self, quarantine: Quarantine) -> bool:
        first = quarantine.message_id not in self.quarantined
        self.quarantined.add(quarantine.message_id)
        return first

    def pending_before(self, first_seen_before_ms: int) -> Iterator[InterimState]:
        return iter([state for state in self.interim.values() if state.status == PENDING])
