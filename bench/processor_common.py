"""What the processor benchmarks share: Lambda SQS events from sample traffic, and counting DynamoDB calls."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from contract.dynamodb import client_of
from contract.tables import InterimRequest, QuarantinedEvent, RequestGuard, RequestRecord
from cv_analytics.local.event_source import lambda_record
from cv_analytics.local.sample_traffic import Outgoing

QUEUE_ARN = "arn:aws:sqs:eu-west-2:123456789012:cv-analytics-bench-events.fifo"


def lambda_event(messages: Iterable[Outgoing]) -> dict[str, Any]:
    """A Lambda SQS event for `messages`, as the event source mapping would deliver them."""
    records = []
    for sequence, message in enumerate(messages):
        received = {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": f"receipt-{sequence}",
            "Body": message.body,
            "MD5OfBody": hashlib.md5(message.body.encode()).hexdigest(),
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1764154800163",
                "SequenceNumber": str(18890000000000000000 + sequence),
                "MessageGroupId": message.group_id,
                "MessageDeduplicationId": message.deduplication_id,
                "SenderId": "AIDAEXAMPLE",
                "ApproximateFirstReceiveTimestamp": "1764154800183",
            },
        }
        records.append(lambda_record(received, queue_arn=QUEUE_ARN, region="eu-west-2"))  # type: ignore[arg-type]
    return {"Records": records}


def batches(messages: list[Outgoing], size: int = 10) -> list[list[Outgoing]]:
    return [messages[start : start + size] for start in range(0, len(messages), size)]


def count_dynamodb_calls() -> Counter[str]:
    """Count every DynamoDB API call the processor's models make, by operation, with a botocore event hook.

    Each model class has its own PynamoDB connection and botocore client; the hook goes on each of them.
    """
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    for model in (InterimRequest, RequestRecord, RequestGuard, QuarantinedEvent):
        client_of(model).meta.events.register("before-call.dynamodb", count)
    return calls
