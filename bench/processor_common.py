"""What the processor benchmarks share: Lambda SQS events from sample traffic, and counting DynamoDB calls."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterable
from typing import Any

from tests.support.processor import SqsMessage, sqs_event
from tests.support.sample_traffic import Outgoing

from contract.dynamodb import client_of
from contract.tables import InterimRequest, QuarantinedEvent, RequestGuard, RequestRecord


def lambda_event(messages: Iterable[Outgoing]) -> dict[str, Any]:
    """A Lambda SQS event for `messages`, as the event source mapping would deliver them."""
    return sqs_event(
        SqsMessage(message.body, message.group_id, deduplication_id=message.deduplication_id)
        for message in messages
    )


def quiet_processor() -> None:
    """Orphans due at the first sweep, errors-only logs and no warnings: only the figures are printed."""
    os.environ["ORPHAN_AFTER_SECONDS"] = "0"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    warnings.simplefilter("ignore")


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
