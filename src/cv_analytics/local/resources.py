"""The queue and tables the processor needs, created on a local AWS (moto server) as the infrastructure would.

Only for local runs and tests: on AWS the infrastructure stack creates them from the same table models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.tables import TABLE_MODELS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class EventQueue:
    url: str
    dead_letter_url: str


def create_tables() -> None:
    """Create QueryEvents and Analytics (with the pending index) where the models are bound."""
    for model in TABLE_MODELS:
        if not model.exists():
            model.create_table(wait=True)


def create_event_queue(
    sqs: SQSClient, name: str, *, max_receive_count: int = 3, visibility_timeout: int = 30
) -> EventQueue:
    """A FIFO queue whose messages move to a FIFO dead-letter queue after `max_receive_count` receives."""
    dead_letter = sqs.create_queue(QueueName=f"{name}-dlq.fifo", Attributes={"FifoQueue": "true"})
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter["QueueUrl"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"{name}.fifo",
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )
    return EventQueue(url=queue["QueueUrl"], dead_letter_url=dead_letter["QueueUrl"])
