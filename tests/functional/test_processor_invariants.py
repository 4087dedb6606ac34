"""The processor's promises, for any traffic: property-based, against DynamoDB in moto (in process).

For any set of requests, any subset of their halves delivered, in any order and batching, duplicated and
redelivered, with poison mixed in, orphan sweeps at any moment, and the function dying once before or after
any write (the batch it was processing is then delivered again): after a last sweep, Analytics holds exactly
one record per request that sent anything, complete exactly when both halves were delivered, its guard agrees
with it, nothing is left pending, every poison message is quarantined once, and no counter counted twice.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from contract.tables import COMPLETE, QUERY_ONLY, RESPONSE_ONLY
from processor.repository import Repository
from processor.service import Correlator, Message, Outcome
from processor.settings import ProcessorSettings
from tests.support.processor import empty_tables, guard_of, interim_statuses, quarantined, records_by_request

START = 1764201590000  # ten seconds before midnight UTC: some halves land on the next day
WRITES = ("store_half", "record_first", "heal", "settle_interim", "quarantine")


class FunctionDiedError(Exception):
    """The function died: nothing of the batch it was processing is acknowledged."""


@dataclass
class CrashingStore:
    """The real repository, except that the n-th write dies before or after it reaches DynamoDB."""

    inner: Repository
    crash_at: int | None
    after_write: bool
    writes: int = 0
    crashed: bool = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in WRITES:
            return method

        def write(*args: Any, **kwargs: Any) -> Any:
            due = not self.crashed and self.writes == self.crash_at
            self.writes += 1
            if due and not self.after_write:
                self.crashed = True
                raise FunctionDiedError(f"before {name}")
            result = method(*args, **kwargs)
            if due:
                self.crashed = True
                raise FunctionDiedError(f"after {name}")
            return result

        return write


@dataclass(frozen=True)
class Sweep:
    """A run of the orphan sweep; `overtaken`: it reads its pending items, then the next batch is processed
    (a function running at the same time), then it writes. The other way round, every sweep is atomic."""

    overtaken: bool = False


# A batch of messages, a sweep, or something else that happens meanwhile (a roll-up, in its own tests).
Step = list[Message] | Sweep | Callable[[], None]


@dataclass(frozen=True)
class Scenario:
    halves: dict[str, tuple[str, ...]]  # request id -> halves delivered
    steps: list[Step]  # a batch of messages, or a sweep
    poison_ids: set[str]
    crash_at: int | None
    after_write: bool


def body(request_id: str, half: str, index: int, late: bool) -> str:
    asked = START + index * 1000
    if half == "query":
        return json.dumps({"eventType": "query", "requestId": request_id, "timestamp": asked,
                           "sessionId": f"s{index % 2}", "query": f"question {index}"})  # fmt: skip
    return json.dumps({"eventType": "response", "requestId": request_id,
                       "timestamp": asked + (20_000 if late else 1500), "sessionId": f"s{index % 2}",
                       "matchType": "full", "matchScore": 90, "reasoning": "r"})  # fmt: skip


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(min_value=1, max_value=4))
    halves: dict[str, tuple[str, ...]] = {}
    items: list[Message | Sweep] = []
    ids = itertools.count()
    for index in range(count):
        request_id = f"req-{index}"
        delivered = draw(st.sampled_from([("query", "response"), ("query",), ("response",), ()]))
        halves[request_id] = delivered
        late = draw(st.booleans())
        for half in delivered:
            text = body(request_id, half, index, late)
            for _ in range(draw(st.integers(min_value=1, max_value=3))):  # client retries: new message ids
                items.append(Message(f"m{next(ids)}", text, f"s{index % 2}", None))
    poison_ids: set[str] = set()
    for index in range(draw(st.integers(min_value=0, max_value=2))):
        poison = draw(st.sampled_from(["{", '{"eventType":"query"}', "[]"]))
        message = Message(f"poison-{index}", poison, "p", None)
        poison_ids.add(message.message_id)
        items.extend([message] * draw(st.integers(min_value=1, max_value=2)))  # SQS redelivers the same id
    items.extend(Sweep(draw(st.booleans())) for _ in range(draw(st.integers(min_value=0, max_value=3))))
    order = draw(st.permutations(items))
    steps: list[Step] = []
    batch: list[Message] = []
    for item in order:
        if isinstance(item, Sweep):
            steps.extend([batch, item] if batch else [item])
            batch = []
            continue
        batch.append(item)
        if len(batch) >= draw(st.integers(min_value=1, max_value=4)):
            steps.append(batch)
            batch = []
    if batch:
        steps.append(batch)
    crash_at = draw(st.none() | st.integers(min_value=0, max_value=12))
    return Scenario(halves, steps, poison_ids, crash_at, draw(st.booleans()))


def run(
    scenario: Scenario, store: CrashingStore, clock: Callable[[], int] | None = None
) -> dict[str, Counter[Outcome]]:
    """Deliver the scenario's steps; `clock` is the processor's (by default one millisecond per call)."""
    if clock is None:
        ticks = itertools.count(START + 60_000)
        clock = lambda: next(ticks)  # noqa: E731 - the default of a parameter
    correlator = Correlator(store, shards=2, clock=clock)
    counted: dict[str, Counter[Outcome]] = {}

    def count(key: str, outcome: Outcome) -> None:
        counted.setdefault(key, Counter())[outcome] += 1

    steps: deque[Step] = deque(scenario.steps)
    steps.append(Sweep())  # the scheduled sweep always comes eventually

    def process(batch: list[Message]) -> None:
        try:
            correlator.begin_batch(batch)
            results = [(message, correlator.process(message)) for message in batch]
        except FunctionDiedError:
            steps.extend([batch, Sweep()])  # the batch comes back after its visibility timeout
            return
        for message, result in results:
            count(result.event.request_id if result.event else message.message_id, result.outcome)

    while steps:
        step = steps.popleft()
        if isinstance(step, list):
            process(step)
            continue
        if not isinstance(step, Sweep):
            step()
            continue
        pending = list(store.pending_before(clock()))
        overtaking = steps[0] if step.overtaken and steps else None
        if isinstance(overtaking, list):
            steps.popleft()
            process(overtaking)  # lands between the sweep's read and its writes
        try:
            for state in pending:
                count(state.request_id, correlator.record_orphan(state))
        except FunctionDiedError:
            steps.append(Sweep())  # the sweep runs again
    return counted


# The sweep reads a pending query; its response is stored and that function dies; then the sweep writes.
# Only the orphan write's condition on the interim item keeps the response from being lost.
SWEEP_OVERTAKEN_BY_A_LATE_HALF = Scenario(
    halves={"req-0": ("query", "response")},
    steps=[
        [Message("m0", body("req-0", "query", 0, False), "s0", None)],
        Sweep(overtaken=True),
        [Message("m1", body("req-0", "response", 0, False), "s0", None)],
    ],
    poison_ids=set(),
    crash_at=1,
    after_write=True,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
@example(scenario=SWEEP_OVERTAKEN_BY_A_LATE_HALF)
def test_exactly_one_record_per_request_whatever_the_delivery(
    tables: ProcessorSettings, scenario: Scenario
) -> None:
    empty_tables()
    store = CrashingStore(Repository(interim_ttl_seconds=86_400), scenario.crash_at, scenario.after_write)
    counted = run(scenario, store)
    for outcome in set().union(*counted.values()) if counted else ():
        event(f"outcome: {outcome.value}")  # --hypothesis-show-statistics shows which paths ran
    event(f"crashed: {store.crashed} (after write: {scenario.after_write})")

    records = records_by_request()
    sent = {request_id for request_id, halves in scenario.halves.items() if halves}
    assert set(records) == sent
    for request_id in sent:
        (record,) = records[request_id]
        halves = scenario.halves[request_id]
        expected = COMPLETE if len(halves) == 2 else QUERY_ONLY if halves == ("query",) else RESPONSE_ONLY
        assert record.correlation == expected
        guard = guard_of(request_id)
        assert (guard.correlation, guard.record_partition) == (record.correlation, record.pk)
    assert "pending" not in interim_statuses().values()
    # A Counter, not a set: a poison message quarantined twice (under two keys) must show.
    assert Counter(item.message_id for item in quarantined()) == Counter(scenario.poison_ids)

    # Metrics are flushed when an invocation ends: a crash loses the counts of what its batch had written,
    # and the redelivery finds those writes done. So counts are exact without a crash, never above one.
    exact = not store.crashed
    for request_id in sent:
        outcomes = counted.get(request_id, Counter())
        recorded = outcomes[Outcome.COMPLETED] + outcomes[Outcome.HEALED]
        assert outcomes[Outcome.ORPHANED] <= 1 and recorded <= 1
        if exact:
            if len(scenario.halves[request_id]) == 2:
                assert recorded == 1
                assert outcomes[Outcome.ORPHANED] == outcomes[Outcome.HEALED]
            else:
                assert (outcomes[Outcome.ORPHANED], recorded) == (1, 0)
    for poison in scenario.poison_ids:
        assert (
            counted[poison][Outcome.QUARANTINED] == 1 if exact else counted[poison][Outcome.QUARANTINED] <= 1
        )


def test_the_store_wrapper_really_crashes(tables: ProcessorSettings) -> None:
    """Guard against a property test that passes because no crash ever happens."""
    store = CrashingStore(Repository(interim_ttl_seconds=86_400), crash_at=0, after_write=True)
    correlator = Correlator(store, shards=1, clock=lambda: START)
    with pytest.raises(FunctionDiedError, match="after store_half"):
        correlator.process(Message("m", body("r", "query", 0, False), None, None))
    assert interim_statuses() == {"r": "pending"}
