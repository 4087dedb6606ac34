"""Helpers for the processor's tests: Lambda SQS events, a Lambda context, and reading the tables back."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.core.model_instances import reset_model_data

from contract.keys import GUARD_SORT_KEY, guard_partition
from contract.tables import AnalyticsItem, InterimRequest, QuarantinedEvent, RequestGuard, RequestRecord
from cv_analytics.local.event_source import LocalLambdaContext, lambda_event
from processor import handler
from processor.runtime import Runtime

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef


def context(name: str = "processor", timeout_ms: int = 60_000) -> LocalLambdaContext:
    return LocalLambdaContext(name, timeout_ms=timeout_ms)


# Where the tests' and benchmarks' events say they come from; nothing reads it but Powertools' parsing.
QUEUE_ARN = "arn:aws:sqs:eu-west-2:123456789012:events.fifo"
REGION = "eu-west-2"


@dataclass
class SqsMessage:
    """A message as a test sends it; `deduplication_id` defaults to the body's SHA-256 (content based)."""

    body: str
    group_id: str = "analytics"
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    receive_count: int = 1
    deduplication_id: str | None = None


def event_body(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def received(message: SqsMessage, sequence: int) -> MessageTypeDef:
    """The message as ReceiveMessage returns it with every system attribute, `sequence`-th in its queue."""
    deduplication_id = message.deduplication_id or hashlib.sha256(message.body.encode()).hexdigest()
    return {
        "MessageId": message.message_id,
        "ReceiptHandle": f"receipt-{message.message_id}",
        "Body": message.body,
        "MD5OfBody": hashlib.md5(message.body.encode()).hexdigest(),
        "Attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": "1764154800163",
            "SequenceNumber": str(18890000000000000000 + sequence),
            "MessageGroupId": message.group_id,
            "SenderId": "AIDAEXAMPLE",
            "MessageDeduplicationId": deduplication_id,
            "ApproximateFirstReceiveTimestamp": "1764154800183",
        },
    }


def sqs_event(
    messages: Iterable[SqsMessage], *, queue_arn: str = QUEUE_ARN, region: str = REGION
) -> dict[str, Any]:
    """A Lambda SQS FIFO event, shaped as Lambda delivers it by the local event source's `lambda_event`."""
    return lambda_event(
        [received(message, sequence) for sequence, message in enumerate(messages)],
        queue_arn=queue_arn,
        region=region,
    )


def failed_ids(response: Any) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def all_records() -> list[RequestRecord]:
    """Every request record in Analytics (a test may Scan; the processor and reporter never do)."""
    return [item for item in AnalyticsItem.scan() if isinstance(item, RequestRecord)]


def records_by_request() -> dict[str, list[RequestRecord]]:
    result: dict[str, list[RequestRecord]] = {}
    for record in all_records():
        result.setdefault(record.request_id, []).append(record)
    return result


def quarantined() -> list[QuarantinedEvent]:
    return [item for item in AnalyticsItem.scan() if isinstance(item, QuarantinedEvent)]


def guard_of(request_id: str) -> RequestGuard:
    return RequestGuard.get(guard_partition(request_id), GUARD_SORT_KEY, consistent_read=True)


def interim_statuses() -> dict[str, str]:
    return {item.request_id: item.status for item in InterimRequest.scan()}


def query(request_id: str, timestamp: int = 1764154800000, session: str = "s-1", **extra: Any) -> str:
    return event_body({"eventType": "query", "requestId": request_id, "timestamp": timestamp,
                       "sessionId": session, "query": f"question {request_id}", **extra})  # fmt: skip


def response(request_id: str, timestamp: int = 1764154802000, session: str = "s-1", **extra: Any) -> str:
    return event_body({"eventType": "response", "requestId": request_id, "timestamp": timestamp,
                       "sessionId": session, "matchType": "partial", "matchScore": 64, "reasoning": "ok",
                       **extra})  # fmt: skip


def run(runtime: Runtime, messages: list[SqsMessage]) -> list[str]:
    """Hand the messages to the processor's handler as one batch; the ids it reports as failed."""
    return failed_ids(handler.handle(sqs_event(messages), context(), runtime))


def sweep(runtime: Runtime, timeout_ms: int = 60_000) -> dict[str, int]:
    time.sleep(0.002)  # first_seen must be strictly before the sweep's cutoff
    result: dict[str, int] = handler.sweep({}, context("sweep", timeout_ms), runtime)
    return result


def empty_tables() -> None:
    """Hypothesis runs many examples in one test: start each from empty tables, with nothing of the last kept.

    moto (5.2.5) appends every model instance it ever creates to its class's `instances_tracked`, for its
    dashboard (`/moto-api/data.json`), and never lets go: that includes the deep copy of every table that
    each TransactWriteItems takes for its rollback. Over thousands of examples that is gigabytes, so the
    tracking lists are emptied too (nothing in process reads them).
    """
    for model in (AnalyticsItem, InterimRequest):
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)
    reset_model_data()
