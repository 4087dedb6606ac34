"""The correlator's decisions on the in-memory repository: what each message leads to, without DynamoDB."""

from __future__ import annotations

import itertools

from contract.tables import COMPLETE, CORRELATED, ORPHANED, QUERY_ONLY
from processor.service import Correlator, Message, Outcome
from tests.support.memory_store import MemoryStore
from tests.support.processor import query, response

SHARDS = 4


def correlator() -> Correlator:
    ticks = itertools.count(1764154900000)
    return Correlator(store=MemoryStore(), shards=SHARDS, clock=lambda: next(ticks))


def store_of(service: Correlator) -> MemoryStore:
    assert isinstance(service.store, MemoryStore)
    return service.store


def message(body: str, message_id: str) -> Message:
    return Message(message_id=message_id, body=body, group_id="s-1", first_received_at=None)


def test_a_query_waits_and_its_response_records_one_complete_request() -> None:
    service = correlator()
    assert service.process(message(query("a"), "m1")).outcome is Outcome.WAITING
    assert service.process(message(response("a"), "m2")).outcome is Outcome.COMPLETED
    store = store_of(service)
    (record,) = store.records.values()
    assert (record.request_id, record.correlation) == ("a", COMPLETE)
    assert store.interim["a"].status == CORRELATED


def test_a_half_delivered_again_after_the_record_changes_nothing() -> None:
    service = correlator()
    service.process(message(query("a"), "m1"))
    service.process(message(response("a"), "m2"))
    before = dict(store_of(service).records)
    assert service.process(message(query("a"), "m3")).outcome is Outcome.DUPLICATE
    assert service.process(message(response("a"), "m4")).outcome is Outcome.DUPLICATE
    assert store_of(service).records == before


def test_both_halves_in_one_batch_are_recorded_by_the_first_and_the_second_has_nothing_left() -> None:
    service = correlator()
    batch = [message(query("a"), "m1"), message(response("a"), "m2")]
    service.begin_batch(batch)
    assert [service.process(m).outcome for m in batch] == [Outcome.COMPLETED, Outcome.PAIRED]
    assert len(store_of(service).records) == 1


def test_an_orphan_heals_when_its_missing_half_arrives_and_stays_one_record() -> None:
    service = correlator()
    service.process(message(query("a"), "m1"))
    (pending,) = store_of(service).pending_before(0)
    assert service.record_orphan(pending) is Outcome.ORPHANED
    (orphan,) = store_of(service).records.values()
    assert orphan.correlation == QUERY_ONLY
    assert store_of(service).interim["a"].status == ORPHANED

    assert service.process(message(response("a"), "m2")).outcome is Outcome.HEALED
    (healed,) = store_of(service).records.values()
    assert (healed.request_id, healed.correlation) == ("a", COMPLETE)


def test_a_poison_message_is_quarantined_once_and_its_redelivery_is_a_duplicate() -> None:
    service = correlator()
    first = service.process(message("{not json", "poison"))
    assert first.outcome is Outcome.QUARANTINED
    assert first.problem is not None
    assert service.process(message("{not json", "poison")).outcome is Outcome.DUPLICATE
    assert store_of(service).quarantined == {"poison"}
