"""Correlation as a sequence of idempotent steps: parse, store the half, record once, or find out why not.

Every step can be interrupted and repeated (a crash, a timeout, a redelivery hours later): the interim
write only fills what is missing, the first record is conditioned on the guard not existing, and a failed
condition leads to reading the guard and acting on what it says. So a message can be processed any number
of times and the tables end the same as if it had been processed once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

from contract.errors import ContractError
from contract.events import Event, EventType, QueryEvent, ResponseEvent
from contract.parsing import parse_event
from processor.correlation import (
    GuardState,
    InterimState,
    Resolution,
    Settlement,
    Step,
    halves_of,
    next_step,
    resolve,
    settlement,
)
from processor.records import (
    FinalRecord,
    Quarantine,
    build_quarantine,
    build_record,
    build_record_from_json,
    serialize,
)

# A request's state can change under us only a bounded number of times (sweep, heal); past that, something
# is wrong enough that SQS should retry the message later.
MAX_ATTEMPTS = 4


class Outcome(enum.Enum):
    """What processing one message or one pending item did; each maps to at most one metric."""

    WAITING = "waiting"
    PAIRED = "paired"  # recorded together with the other half of its request, found in the same batch
    COMPLETED = "completed"
    HEALED = "healed"
    ORPHANED = "orphaned"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


class ConcurrentChangeError(RuntimeError):
    """The request kept changing while it was being recorded; raised so SQS delivers the message again."""


class Store(Protocol):
    """The repository as the service uses it (a fake can stand in for it in tests and benchmarks)."""

    def store_half(self, request_id: str, half: EventType, event_json: str, now_ms: int) -> InterimState: ...
    def get_interim(self, request_id: str) -> InterimState | None: ...
    def get_guard(self, request_id: str) -> GuardState | None: ...
    def get_record(self, partition: str, request_id: str) -> FinalRecord | None: ...
    def record_first(
        self, record: FinalRecord, now_ms: int, *, expect_missing: EventType | None = None
    ) -> bool: ...
    def heal(self, record: FinalRecord, orphan: GuardState, now_ms: int) -> bool: ...
    def settle_interim(self, request_id: str, settlement: Settlement, now_ms: int) -> bool: ...
    def quarantine(self, quarantine: Quarantine) -> bool: ...
    def pending_before(self, first_seen_before_ms: int) -> Iterator[InterimState]: ...


@dataclass(frozen=True, slots=True)
class Message:
    """The parts of an SQS message the processor uses."""

    message_id: str
    body: str
    group_id: str | None
    # When SQS first handed the message out (epoch ms): the same on every redelivery, so a poison message
    # redelivered after midnight still maps to the quarantine key of its first receipt. None: not known,
    # and the quarantine is keyed by the correlator's clock.
    first_received_at: int | None


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    event: Event | None = None
    problem: ContractError | None = None


@dataclass
class BatchView:
    """One batch, parsed once: the events by message id, and the requests with both halves in it.

    For such a request the first of its two messages records the complete request in one transaction,
    and the second has nothing left to do: a pair costs one DynamoDB request
    instead of three. Only the two chosen messages take part; any other copy goes the usual way.
    """

    parsed: dict[str, Event | ContractError] = field(default_factory=dict)
    pairs: dict[str, tuple[str, str]] = field(default_factory=dict)  # request id -> (query, response) ids
    recorded: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, messages: Iterable[Message]) -> BatchView:
        view = cls()
        first: dict[tuple[str, str], str] = {}
        for message in messages:
            try:
                event: Event | ContractError = parse_event(message.body)
            except ContractError as problem:
                event = problem
            view.parsed[message.message_id] = event
            if not isinstance(event, ContractError):
                first.setdefault((event.request_id, event.event_type), message.message_id)
        for (request_id, half), message_id in first.items():
            if half == "query" and (request_id, "response") in first:
                view.pairs[request_id] = (message_id, first[(request_id, "response")])
        return view


@dataclass
class Correlator:
    store: Store
    shards: int
    clock: Callable[[], int]  # epoch milliseconds
    batch: BatchView = field(default_factory=BatchView)

    def begin_batch(self, messages: Iterable[Message]) -> None:
        """Look at a whole batch before processing its messages one by one (see `BatchView`)."""
        self.batch = BatchView.of(messages)

    def event_of(self, message_id: str) -> Event | None:
        """The event a message of the current batch parsed to (None when it broke the contract)."""
        parsed = self.batch.parsed.get(message_id)
        return None if isinstance(parsed, ContractError) else parsed

    def _parse(self, message: Message) -> Event:
        cached = self.batch.parsed.get(message.message_id)
        if cached is None:
            return parse_event(message.body)
        if isinstance(cached, ContractError):
            raise cached
        return cached

    def process(self, message: Message) -> Result:
        """Process one SQS message; raises only for errors that a retry can cure."""
        try:
            event = self._parse(message)
        except ContractError as problem:
            first_time = self.store.quarantine(
                build_quarantine(
                    message.body,
                    message_id=message.message_id,
                    message_group_id=message.group_id,
                    path=problem.path,
                    reason=problem.reason,
                    received_at=(
                        message.first_received_at if message.first_received_at is not None else self.clock()
                    ),
                )
            )
            # A redelivered poison message was quarantined the first time: counted then, not now.
            return Result(Outcome.QUARANTINED if first_time else Outcome.DUPLICATE, problem=problem)
        pair = self.batch.pairs.get(event.request_id)
        if pair is not None and message.message_id in pair:
            return Result(self._record_pair(event, pair), event=event)
        if event.request_id in self.batch.recorded:  # another copy of a half just recorded complete
            return Result(Outcome.DUPLICATE, event=event)
        return Result(self.correlate(event), event=event)

    def _record_pair(self, event: Event, pair: tuple[str, str]) -> Outcome:
        if event.request_id in self.batch.recorded:
            return Outcome.PAIRED
        query, response = (self.batch.parsed[message_id] for message_id in pair)
        if not isinstance(query, QueryEvent) or not isinstance(response, ResponseEvent):
            raise TypeError(f"batch pair of {event.request_id} is not a query and a response")
        record = build_record(query, response, shards=self.shards, recorded_at=self.clock())
        if self.store.record_first(record, self.clock()):
            self.batch.recorded.add(event.request_id)
            return Outcome.COMPLETED
        return self.correlate(event)  # recorded before (an orphan to heal, or a redelivered batch)

    def correlate(self, event: Event) -> Outcome:
        """Store a half and record the request once both are known.

        A response is checked against the interim item first: when that is pending with the query in it,
        the request is recorded straight away, without copying the response into the interim item (the
        record holds it, and a response not yet recorded stays in SQS until its message is deleted). One
        consistent read costs a fifth of the write units it saves. A query is stored without the read: the
        Worker sends it before its response, so it is almost always the first half.
        """
        event_json = serialize(event)
        if event.event_type == "response":
            known = self.store.get_interim(event.request_id)
            if known is not None and _other_half_waiting(known, event.event_type):
                halves = _halves(known, event.event_type, event_json)
                if self._record_first(*halves):
                    return Outcome.COMPLETED
                return self.reconcile(event.request_id, *halves)
        state = self.store.store_half(event.request_id, event.event_type, event_json, self.clock())
        step = next_step(state, event.event_type)
        if step is Step.WAIT:
            return Outcome.WAITING
        if step is Step.DUPLICATE:
            return Outcome.DUPLICATE
        halves = _halves(state, event.event_type, event_json)
        if step is Step.COMPLETE and self._record_first(*halves):
            return Outcome.COMPLETED
        return self.reconcile(event.request_id, *halves)

    def record_orphan(self, state: InterimState) -> Outcome:
        """The sweep's step for one pending item: record it as it is (an orphan, or complete if it can be)."""
        if self._record_first(state.query_json, state.response_json):
            return Outcome.COMPLETED if state.halves == {"query", "response"} else Outcome.ORPHANED
        return self.reconcile(state.request_id, state.query_json, state.response_json)

    def _record_first(self, query_json: str | None, response_json: str | None) -> bool:
        record = self._build(query_json, response_json)
        missing: EventType | None = None
        if query_json is None:
            missing = "query"
        elif response_json is None:
            missing = "response"
        return self.store.record_first(record, self.clock(), expect_missing=missing)

    def _build(
        self, query_json: str | None, response_json: str | None, *, healed: bool = False
    ) -> FinalRecord:
        return build_record_from_json(
            query_json, response_json, shards=self.shards, recorded_at=self.clock(), healed=healed
        )

    def reconcile(self, request_id: str, query_json: str | None, response_json: str | None) -> Outcome:
        """Something may be recorded already: read the guard and make the tables agree with the halves known.

        Returns DUPLICATE when nothing new was learnt, HEALED when an orphan became complete, or the outcome
        of recording first when nothing was recorded after all (the interim item changed, not the guard).
        """
        for _ in range(MAX_ATTEMPTS):
            guard = self.store.get_guard(request_id)
            if guard is None:
                interim = self.store.get_interim(request_id)
                if interim is not None:  # whatever arrived since is part of the record too
                    query_json = query_json or interim.query_json
                    response_json = response_json or interim.response_json
                if self._record_first(query_json, response_json):
                    both = query_json is not None and response_json is not None
                    return Outcome.COMPLETED if both else Outcome.ORPHANED
                continue
            known = halves_of(query_json, response_json)
            resolution = resolve(guard, known)
            if resolution is not Resolution.HEAL:
                settled = self.store.settle_interim(
                    request_id, settlement(resolution, guard, known), self.clock()
                )
                interim = None if settled else self.store.get_interim(request_id)
                if interim is None or interim.halves <= known:
                    return Outcome.DUPLICATE
                # The missing half was stored meanwhile: heal with it on the next turn.
                query_json = query_json or interim.query_json
                response_json = response_json or interim.response_json
                continue
            orphan = self.store.get_record(guard.record_partition, request_id)
            if orphan is not None:
                query_json = query_json or orphan.query_event
                response_json = response_json or orphan.response_event
            if query_json is None or response_json is None:
                raise ConcurrentChangeError(
                    f"orphan record of {request_id} is missing at {guard.record_partition}"
                )
            healed = self._build(query_json, response_json, healed=True)
            if guard.record_partition != healed.partition:  # the orphan's day changes too
                healed = replace(healed, replaced_partition=guard.record_partition)
            if self.store.heal(healed, guard, self.clock()):
                return Outcome.HEALED
        raise ConcurrentChangeError(f"request {request_id} changed {MAX_ATTEMPTS} times while being recorded")


def _other_half_waiting(state: InterimState, arrived: EventType) -> bool:
    """The interim item is pending with the other half only: the one that arrived completes it."""
    return next_step(state, arrived) is Step.WAIT and bool(state.halves) and arrived not in state.halves


def _halves(state: InterimState, arrived: EventType, event_json: str) -> tuple[str | None, str | None]:
    """The halves known after storing one: the interim item's, plus the one that just arrived."""
    query_json = event_json if arrived == "query" else state.query_json
    response_json = event_json if arrived == "response" else state.response_json
    return query_json, response_json
