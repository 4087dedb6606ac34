"""Queues and tables made directly on a bare moto server, for the tests of the processor's own semantics.

The demo, `./taskw dev` and the twin tests run on what Terraform creates (tests/twin). These tests instead
need what no environment file has, in-process and in milliseconds: a queue that redrives after two
receives with a one-second visibility timeout, and tables reset between every test. The queue still
comes from the `contract.resources` spec the stacks are built from, and the tables from the PynamoDB
models, so their delivery semantics and keys are the deployed ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.resources import QueueWithDlqSpec, queue_with_dlq
from contract.tables import TABLE_MODELS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class EventQueue:
    url: str
    dead_letter_url: str
    spec: QueueWithDlqSpec


def create_tables() -> None:
    """Create QueryEvents and Analytics (with the pending index) where the models are bound."""
    for model in TABLE_MODELS:
        if not model.exists():
            model.create_table(wait=True)


def create_event_queue(
    sqs: SQSClient, name_prefix: str, *, max_receive_count: int, consumer_timeout_seconds: int
) -> EventQueue:
    """The FIFO event queue and its dead-letter queue from the infrastructure's spec, with its redrive policy.

    The two numbers an environment file sets are the caller's to give (no second default here). Locally the
    consumer's timeout is seconds, not minutes, so a failed message comes back quickly; the visibility
    timeout keeps the spec's ratio to it.
    """
    spec = queue_with_dlq(
        name_prefix, max_receive_count=max_receive_count, consumer_timeout_seconds=consumer_timeout_seconds
    )
    dead_letter_url = sqs.create_queue(
        QueueName=spec.dead_letter.name, Attributes=spec.dead_letter.attributes()
    )["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    attributes = spec.queue.attributes() | {"RedrivePolicy": spec.redrive_policy(dead_letter_arn)}
    url = sqs.create_queue(QueueName=spec.queue.name, Attributes=attributes)["QueueUrl"]
    return EventQueue(url=url, dead_letter_url=dead_letter_url, spec=spec)
