"""The processor end to end on moto server, fed by the local event source mapping with Lambda's semantics.

Over a thousand messages, with client retries (duplicates), poison and one message that fails every time:
each request ends with exactly one record, poison is quarantined and acknowledged, and the dead-letter queue
receives exactly the message that kept failing, after which the rest of its group goes through.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from contract.tables import COMPLETE, QUERY_ONLY, RESPONSE_ONLY
from cv_analytics.local.event_source import EventSourceMapping, LocalLambdaContext, lambda_record
from processor import handler
from processor.runtime import Runtime
from processor.service import Correlator, Message, Result
from tests.support.moto_resources import EventQueue, create_event_queue
from tests.support.processor import quarantined, records_by_request
from tests.support.sample_traffic import deliver, sample_messages, sample_requests

pytestmark = pytest.mark.integration

MAX_RECEIVE_COUNT = 2


@pytest.fixture
def queue(sqs: Any) -> EventQueue:
    return create_event_queue(sqs, "events", max_receive_count=MAX_RECEIVE_COUNT, consumer_timeout_seconds=1)


def test_a_thousand_events_with_duplicates_poison_and_a_failing_message(
    processor: Runtime, sqs: Any, queue: EventQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many duplicates rather than many requests: moto copies whole tables on every transaction.
    requests = sample_requests(300, seed=11)
    messages = sample_messages(requests, duplicate_share=0.85, poison=24, seed=11)
    assert len(messages) >= 1000
    duplicated = {m.request_id for m in messages if m.kind == "duplicate"}
    doomed = next(r for r in requests if r.response is not None and r.request_id not in duplicated)
    doomed_group_later = [r.request_id for r in requests if r.session_id == doomed.session_id][-1]
    assert doomed_group_later != doomed.request_id

    doomed_body = next(m.body for m in messages if m.request_id == doomed.request_id and m.kind == "query")
    process = Correlator.process

    def fails_every_time(self: Correlator, message: Message) -> Result:
        if message.body == doomed_body:
            cause = ClientError({"Error": {"Code": "InternalServerError"}}, "UpdateItem")
            raise UpdateError("DynamoDB keeps failing for this item", cause)
        return process(self, message)

    monkeypatch.setattr(Correlator, "process", fails_every_time)
    mapping = EventSourceMapping(
        sqs, queue.url, partial(handler.handle, runtime=processor), visibility_timeout=1
    )
    deliver(mapping, messages)
    handler.sweep({}, LocalLambdaContext("sweep", timeout_ms=60_000), processor)

    dead = sqs.receive_message(QueueUrl=queue.dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    assert [m["Body"] for m in dead.get("Messages", [])] == [
        m.body for m in messages if m.request_id == doomed.request_id and m.kind == "query"
    ]
    records = records_by_request()
    assert all(len(found) == 1 for found in records.values())
    assert set(records) == {r.request_id for r in requests}
    expected = Counter(
        RESPONSE_ONLY if r is doomed else COMPLETE if r.response is not None else QUERY_ONLY for r in requests
    )
    assert Counter(found[0].correlation for found in records.values()) == expected
    assert records[doomed.request_id][0].correlation == RESPONSE_ONLY
    assert records[doomed_group_later][0].question is not None  # its group went on after the dead letter
    assert len(quarantined()) == sum(1 for m in messages if m.kind == "poison")
    assert mapping.stats.failed >= MAX_RECEIVE_COUNT
    assert mapping.stats.deleted == len(messages) - len(dead["Messages"]) - count_sqs_level_duplicates(
        messages
    )


def count_sqs_level_duplicates(messages: list[Any]) -> int:
    """Messages SQS itself dropped: same deduplication id within five minutes (none in this traffic)."""
    counts = Counter(m.deduplication_id for m in messages)
    return sum(count - 1 for count in counts.values())


def test_the_local_queue_is_the_infrastructures_spec_with_its_redrive_policy(
    sqs: Any, queue: EventQueue
) -> None:
    names: Any = ["All"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=names)["Attributes"]
    assert queue.url.endswith(queue.spec.queue.name)
    assert attributes["FifoQueue"] == "true"
    assert attributes["VisibilityTimeout"] == str(queue.spec.queue.visibility_timeout_seconds)
    policy = json.loads(attributes["RedrivePolicy"])
    assert int(policy["maxReceiveCount"]) == MAX_RECEIVE_COUNT
    assert policy["deadLetterTargetArn"].endswith(queue.spec.dead_letter.name)


def test_the_event_has_lambdas_shape_with_fifo_attributes(sqs: Any, queue: EventQueue) -> None:
    sqs.send_message(
        QueueUrl=queue.url,
        MessageBody='{"hello": 1}',
        MessageGroupId="g-1",
        MessageDeduplicationId="d-1",
        MessageAttributes={"origin": {"DataType": "String", "StringValue": "edge"}},
    )
    (message,) = sqs.receive_message(
        QueueUrl=queue.url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    record = lambda_record(
        message, queue_arn="arn:aws:sqs:eu-west-2:123456789012:events.fifo", region="eu-west-2"
    )
    assert record["body"] == '{"hello": 1}'
    assert record["eventSource"] == "aws:sqs"
    assert record["attributes"]["MessageGroupId"] == "g-1"
    assert record["attributes"]["MessageDeduplicationId"] == "d-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SequenceNumber", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["origin"] == {
        "stringValue": "edge", "stringListValues": [], "binaryListValues": [], "dataType": "String"
    }  # fmt: skip


def test_only_reported_failures_come_back_and_a_raising_handler_fails_the_whole_batch(
    sqs: Any, queue: EventQueue
) -> None:
    for index in range(3):
        sqs.send_message(QueueUrl=queue.url, MessageBody=f"m{index}", MessageGroupId=f"g{index}",
                         MessageDeduplicationId=f"d{index}")  # fmt: skip
    seen: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(sorted(r["body"] for r in event["Records"]))
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "m1"]
        if len(seen) == 2:
            raise RuntimeError("the function crashed")
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    mapping = EventSourceMapping(sqs, queue.url, handler, visibility_timeout=1)
    mapping.drain(timeout=30)
    assert seen[0] == ["m0", "m1", "m2"]
    assert seen[1:] == [["m1"]] * (MAX_RECEIVE_COUNT - 1)  # the next receive moves it to the DLQ
    dead = sqs.receive_message(QueueUrl=queue.dead_letter_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["m1"]
    assert (mapping.stats.handler_errors, mapping.stats.deleted) == (1, 2)
