"""The processor's Lambda handlers on realistic batches, against DynamoDB in moto (in process)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from contract.config import load_settings
from contract.keys import GUARD_SORT_KEY
from contract.tables import COMPLETE, CORRELATED, ORPHANED, QUERY_ONLY, RESPONSE_ONLY, InterimRequest
from processor import handler
from processor.records import HALF_JSON_LIMIT, TEXT_LIMIT, cut
from processor.repository import Repository
from processor.runtime import Runtime, build_runtime, default_runtime
from processor.settings import ProcessorSettings
from processor.sweep import SWEEP_TIME_MARGIN_MS, sweep_margin_ms
from tests.support.events import worker_today_events, worker_today_sqs_event
from tests.support.processor import (
    SqsMessage,
    all_records,
    context,
    failed_ids,
    guard_of,
    interim_statuses,
    quarantined,
    query,
    records_by_request,
    response,
    run,
    sweep,
)


@pytest.fixture
def from_environment(runtime: Runtime) -> Iterator[None]:
    """The entry points as Lambda calls them, on the runtime they build from this test's environment."""
    default_runtime.cache_clear()
    yield
    default_runtime.cache_clear()


@pytest.mark.usefixtures("from_environment")
def test_the_existing_workers_batch_becomes_complete_records_and_orphans() -> None:
    assert failed_ids(handler.handle(worker_today_sqs_event(), context())) == []
    time.sleep(0.002)  # first_seen must be strictly before the sweep's cutoff
    handler.sweep({}, context("sweep"))
    assert default_runtime() is default_runtime()  # built once, at the first invocation
    events = worker_today_events()
    answered = {e["requestId"] for e in events if e["eventType"] == "response"}
    asked = {e["requestId"] for e in events if e["eventType"] == "query"}
    records = records_by_request()
    assert set(records) == asked | answered
    for request_id, (record,) in records.items():
        expected = COMPLETE if request_id in answered and request_id in asked else QUERY_ONLY
        assert record.correlation == expected
    first = next(e for e in events if e["eventType"] == "query" and e["requestId"] in answered)
    its_response = next(
        e for e in events if e["eventType"] == "response" and e["requestId"] == first["requestId"]
    )
    (record,) = records[first["requestId"]]
    assert record.latency_ms == its_response["timestamp"] - first["timestamp"]
    assert record.question == first["query"]
    assert record.sources == its_response["metadata"]["sourcesUsed"]
    assert record.session_id == "anonymous"


def test_a_pair_in_one_batch_is_recorded_with_its_halves_kept_in_the_record_and_counted_once(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = SqsMessage(query("a"))
    assert run(runtime, [SqsMessage(query("a")), SqsMessage(response("a")), copy]) == []
    (record,) = all_records()
    assert record.correlation == COMPLETE
    item = InterimRequest.get("a")
    assert item.status == CORRELATED
    assert "pending_bucket" not in item.attribute_values
    assert record.query_event is not None and record.response_event is not None
    # The settled interim item needs no copy of the halves: nothing reads them there, and each costs units.
    assert not {"query_event", "response_event"} & set(item.attribute_values)
    assert emitted_metrics(capsys.readouterr().out) == {"Received": 3, "Completed": 1, "DuplicatesIgnored": 1}


def test_a_pair_in_one_batch_heals_an_orphan_recorded_before(runtime: Runtime) -> None:
    run(runtime, [SqsMessage(query("a"))])
    sweep(runtime)
    assert run(runtime, [SqsMessage(query("a")), SqsMessage(response("a"))]) == []
    (record,) = all_records()
    assert (record.correlation, record.healed) == (COMPLETE, True)


def test_halves_in_one_batch_or_in_separate_batches_make_one_complete_record(runtime: Runtime) -> None:
    assert run(runtime, [SqsMessage(response("a")), SqsMessage(query("a")), SqsMessage(query("b"))]) == []
    assert run(runtime, [SqsMessage(response("b"))]) == []
    records = records_by_request()
    assert sorted(records) == ["a", "b"]
    assert all(len(found) == 1 and found[0].correlation == COMPLETE for found in records.values())
    assert records["a"][0].latency_ms == 2000
    assert interim_statuses() == {"a": CORRELATED, "b": CORRELATED}
    assert guard_of("a").record_partition == "DAY#2025-11-26"


def test_a_redelivered_batch_changes_nothing_and_counts_duplicates(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = [SqsMessage(query("a")), SqsMessage(response("a"))]
    run(runtime, batch)
    before = [record.attribute_values for record in all_records()]
    capsys.readouterr()
    for message in batch:
        message.receive_count = 2
    assert run(runtime, batch) == []
    assert [record.attribute_values for record in all_records()] == before
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics.get("DuplicatesIgnored") == 2
    assert "Completed" not in metrics


def emitted_metrics(output: str) -> dict[str, float]:
    """Sum the EMF metrics printed to stdout by Powertools."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for definition in document["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return totals


def test_every_outcome_is_counted_once_in_emf(runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    run(runtime, [SqsMessage(query("a")), SqsMessage(response("a")), SqsMessage(query("b")), SqsMessage("{")])
    sweep(runtime)
    run(runtime, [SqsMessage(response("b"))])
    metrics = emitted_metrics(capsys.readouterr().out)
    # The sweep reports its four counters every run, zeros included.
    assert metrics == {
        "Received": 5,
        "Completed": 1,
        "Quarantined": 1,
        "Orphaned": 1,
        "Healed": 1,
        "DuplicatesIgnored": 0,
    }


def test_a_transient_failure_fails_the_rest_of_its_group_only(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Repository.store_half

    def flaky(self: Repository, request_id: str, *args: Any) -> Any:
        if request_id == "a2":
            cause = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
            raise UpdateError("throttled", cause)
        return original(self, request_id, *args)

    monkeypatch.setattr(Repository, "store_half", flaky)
    group_a = [SqsMessage(query("a1"), "A"), SqsMessage(query("a2"), "A"), SqsMessage(query("a3"), "A")]
    group_b = [SqsMessage(query("b1"), "B"), SqsMessage(query("b2"), "B")]
    batch = [group_a[0], group_b[0], group_a[1], group_a[2], group_b[1]]
    assert run(runtime, batch) == [group_a[1].message_id, group_a[2].message_id]
    assert set(interim_statuses()) == {"a1", "b1", "b2"}
    monkeypatch.setattr(Repository, "store_half", original)
    assert run(runtime, [group_a[1], group_a[2]]) == []
    assert set(interim_statuses()) == {"a1", "a2", "a3", "b1", "b2"}


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ("not json", "$", "not valid JSON"),
        ('{"eventType":"query","requestId":"x","timestamp":1}', "$.query", "is required"),
        ('{"eventType":"query","requestId":"x","timestamp":1,"query":"q","metadata":{"country":5}}',
         "$.metadata.country", "must be string"),
    ],
)  # fmt: skip
def test_poison_is_quarantined_acknowledged_and_never_blocks_its_group(
    runtime: Runtime, body: str, path: str, reason: str
) -> None:
    poison = SqsMessage(body, "A")
    later = SqsMessage(query("after-poison"), "A")
    assert run(runtime, [poison, later]) == []
    (item,) = quarantined()
    assert (item.message_id, item.path, item.message_group_id, item.raw_body) == (
        poison.message_id,
        path,
        "A",
        body,
    )
    assert reason in item.reason
    assert item.pk.startswith("DAY#")
    assert "after-poison" in interim_statuses()
    poison.receive_count = 2
    assert run(runtime, [poison]) == []
    assert len(quarantined()) == 1


def test_a_query_that_never_gets_a_response_becomes_an_orphan_and_heals_when_it_arrives(
    runtime: Runtime,
) -> None:
    run(runtime, [SqsMessage(query("a"))])
    assert sweep(runtime)["orphaned"] == 1
    (orphan,) = all_records()
    assert (orphan.correlation, orphan.healed) == (QUERY_ONLY, False)
    assert interim_statuses() == {"a": ORPHANED}
    assert sweep(runtime)["orphaned"] == 0
    run(runtime, [SqsMessage(response("a"))])
    (record,) = all_records()
    assert (record.correlation, record.healed, record.latency_ms) == (COMPLETE, True, 2000)
    assert guard_of("a").correlation == COMPLETE
    run(runtime, [SqsMessage(response("a")), SqsMessage(query("a"))])
    assert len(all_records()) == 1


def test_a_response_orphan_heals_into_the_day_of_its_query(runtime: Runtime) -> None:
    late_evening, after_midnight = 1764201599000, 1764201601000  # 2025-11-26 23:59:59 and 2025-11-27 00:00:01
    run(runtime, [SqsMessage(response("a", after_midnight))])
    sweep(runtime)
    (orphan,) = all_records()
    assert (orphan.correlation, orphan.pk) == (RESPONSE_ONLY, "DAY#2025-11-27")
    run(runtime, [SqsMessage(query("a", late_evening))])
    (record,) = all_records()
    assert (record.correlation, record.pk, record.healed, record.latency_ms) == (
        COMPLETE,
        "DAY#2025-11-26",
        True,
        2000,
    )
    guard = guard_of("a")
    assert (guard.sk, guard.record_partition) == (GUARD_SORT_KEY, "DAY#2025-11-26")


def test_the_sweep_leaves_requests_younger_than_orphan_after_seconds(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORPHAN_AFTER_SECONDS", "900")
    runtime = build_runtime(load_settings(ProcessorSettings))
    run(runtime, [SqsMessage(query("young"))])
    assert sweep(runtime)["orphaned"] == 0
    assert all_records() == []
    assert interim_statuses() == {"young": "pending"}


def test_a_sweep_with_a_timeout_no_longer_than_its_margin_still_records_orphans(runtime: Runtime) -> None:
    """A 10 s function (the local environment's) once stopped before its first item on every run."""
    run(runtime, [SqsMessage(query("crashed"))])
    assert sweep(runtime, timeout_ms=10_000)["orphaned"] == 1
    assert interim_statuses() == {"crashed": ORPHANED}


def test_the_sweep_stops_taking_items_a_fifth_of_a_short_run_before_its_timeout(runtime: Runtime) -> None:
    assert sweep_margin_ms(10_000) == 2_000
    assert sweep_margin_ms(900_000) == SWEEP_TIME_MARGIN_MS


def test_a_request_whose_record_was_interrupted_is_completed_by_the_retried_half(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second half is not copied into the interim item: until its record is written, SQS keeps it.

    If the sweep runs before the retry, the request is an orphan for a while and the retry heals it.
    """

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("the function stopped between the two writes")

    original = Repository.record_first
    monkeypatch.setattr(Repository, "record_first", crash)
    assert run(runtime, [SqsMessage(query("a"))]) == []
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries the whole batch
        run(runtime, [SqsMessage(response("a"))])
    monkeypatch.setattr(Repository, "record_first", original)
    assert sweep(runtime)["orphaned"] == 1
    assert run(runtime, [SqsMessage(response("a"))]) == []  # SQS delivers the failed message again
    (record,) = all_records()
    assert (record.correlation, record.healed) == (COMPLETE, True)
    assert InterimRequest.get("a").status == CORRELATED


def test_an_oversized_question_is_recorded_cut_and_never_blocks_its_group(runtime: Runtime) -> None:
    """The contract has no length limit on the question; a record must still fit DynamoDB's 400 KB item."""
    question = "é" + "Q" * (210 * 1024)
    later = SqsMessage(query("after-big"))
    assert run(runtime, [SqsMessage(query("big", query=question)), later]) == []
    assert sweep(runtime)["orphaned"] == 2  # recording the orphan writes the question into the record
    orphan = records_by_request()["big"][0]
    assert (orphan.correlation, orphan.truncated) == (QUERY_ONLY, True)
    assert orphan.question == cut(question, TEXT_LIMIT)
    assert len(orphan.question.encode()) <= TEXT_LIMIT
    assert orphan.query_event is not None and len(orphan.query_event.encode()) <= HALF_JSON_LIMIT
    assert not records_by_request()["after-big"][0].truncated

    assert run(runtime, [SqsMessage(response("big", reasoning="R" * (300 * 1024)))]) == []
    (record,) = records_by_request()["big"]
    assert (record.correlation, record.healed, record.truncated) == (COMPLETE, True, True)
    assert record.question == orphan.question
    assert record.reasoning == "R" * TEXT_LIMIT


def test_an_oversized_pair_in_one_batch_is_recorded_cut(runtime: Runtime) -> None:
    big: dict[str, Any] = {"query": "Q" * (210 * 1024), "extra": ["x" * 2048] * 200}  # unknown fields too
    assert run(runtime, [SqsMessage(query("big", **big)), SqsMessage(response("big"))]) == []
    (record,) = all_records()
    assert (record.correlation, record.truncated, record.latency_ms) == (COMPLETE, True, 2000)
    stored = json.loads(record.query_event or "")
    assert stored["cvAnalyticsTrimmed"] is True and stored["requestId"] == "big"


def test_a_poison_message_redelivered_after_midnight_is_quarantined_once(runtime: Runtime) -> None:
    """The quarantine key comes from SQS's first receive time, the same on every redelivery."""
    poison = SqsMessage("{not json")
    clock = iter([1764201595000, 1764201605000])  # 2025-11-26 23:59:55, then 2025-11-27 00:00:05
    runtime = build_runtime(runtime.settings, clock=lambda: next(clock))
    assert run(runtime, [poison]) == []
    poison.receive_count = 2
    assert run(runtime, [poison]) == []
    assert [item.message_id for item in quarantined()] == [poison.message_id]
    assert quarantined()[0].received_at == 1764154800183  # ApproximateFirstReceiveTimestamp


def test_a_late_half_stored_while_the_sweep_settles_an_orphan_still_heals_it(runtime: Runtime) -> None:
    """The sweep finds a request already orphaned (its interim item expired and came back) while the other
    half is being stored: settling the interim item as orphaned must not hide that half."""
    run(runtime, [SqsMessage(query("a"))])
    sweep(runtime)
    InterimRequest.get("a").delete()  # expired (TTL); then the query is delivered again
    run(runtime, [SqsMessage(query("a"))])
    store = runtime.correlator.store
    (pending,) = store.pending_before(int(time.time() * 1000) + 1)
    # The response is stored, and its function dies before it records anything.
    store.store_half("a", "response", response("a"), int(time.time() * 1000))
    runtime.correlator.record_orphan(pending)
    run(runtime, [SqsMessage(response("a"))])  # the response, delivered again
    (record,) = all_records()
    assert (record.correlation, record.healed) == (COMPLETE, True)
    assert interim_statuses() == {"a": CORRELATED}
