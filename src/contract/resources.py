"""The queue, its dead-letter queue and the event source mapping, as plain data both runtimes build from.

The CDK constructs (modules/queue.py, modules/python_function.py) turn these specs into Terraform, and the
local runtime turns the same specs into moto queues and a poller, so the attributes that decide delivery
semantics (FIFO, visibility timeout, retention, maxReceiveCount, redrive, batch size) cannot differ between
what is tested here and what runs on AWS. Nothing here imports CDK or boto3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

FOURTEEN_DAYS_SECONDS = 14 * 24 * 60 * 60
FOUR_DAYS_SECONDS = 4 * 24 * 60 * 60

# AWS asks for a visibility timeout of at least six times the consumer's timeout, so a batch that is still
# being retried by Lambda's poller is not handed out a second time.
VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT = 6


@dataclass(frozen=True)
class QueueSpec:
    """One SQS queue's attributes, named as the SQS API and Terraform both understand them."""

    name: str
    visibility_timeout_seconds: int
    message_retention_seconds: int
    fifo: bool = True
    content_based_deduplication: bool = False
    sqs_managed_sse: bool = True

    def attributes(self) -> dict[Any, str]:
        """The attributes of CreateQueue (what the local runtime sends to moto).

        Keys are typed `Any` so boto3-stubs, which types them as literal attribute names, accepts them.
        """
        attributes: dict[Any, str] = {
            "VisibilityTimeout": str(self.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(self.message_retention_seconds),
            "SqsManagedSseEnabled": "true" if self.sqs_managed_sse else "false",
        }
        if self.fifo:
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = "true" if self.content_based_deduplication else "false"
        return attributes


@dataclass(frozen=True)
class QueueWithDlqSpec:
    """The event queue and the dead-letter queue it hands a message to after `max_receive_count` receives."""

    queue: QueueSpec
    dead_letter: QueueSpec
    max_receive_count: int

    def redrive_policy(self, dead_letter_arn: str) -> str:
        """The main queue's RedrivePolicy attribute (JSON text, as SQS stores it)."""
        return json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": self.max_receive_count},
            separators=(",", ":"),
        )

    @staticmethod
    def redrive_allow_policy(source_queue_arn: str) -> str:
        """The DLQ's RedriveAllowPolicy: only our own queue may send it messages."""
        return json.dumps(
            {"redrivePermission": "byQueue", "sourceQueueArns": [source_queue_arn]}, separators=(",", ":")
        )


@dataclass(frozen=True)
class EventSourceSpec:
    """How Lambda's poller (or the local one playing it) feeds the processor."""

    batch_size: int = 10
    maximum_batching_window_seconds: int = 0
    report_batch_item_failures: bool = True
    maximum_concurrency: int = 2

    @property
    def function_response_types(self) -> list[str]:
        return ["ReportBatchItemFailures"] if self.report_batch_item_failures else []


def fifo_name(base: str) -> str:
    """SQS requires FIFO queue names to end in `.fifo`."""
    return f"{base}.fifo"


def queue_with_dlq(
    name_prefix: str, *, max_receive_count: int, consumer_timeout_seconds: int
) -> QueueWithDlqSpec:
    """The event queue of one environment (`cv-analytics-dev`, say) and its DLQ.

    The queue keeps messages four days (SQS's default; the processor is expected to keep up within minutes);
    the DLQ keeps them the maximum fourteen days, so a failure found after a holiday can still be redriven.
    """
    if max_receive_count < 1:
        raise ValueError(f"max_receive_count must be at least 1, not {max_receive_count}")
    queue = QueueSpec(
        name=fifo_name(f"{name_prefix}-events"),
        visibility_timeout_seconds=consumer_timeout_seconds * VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT,
        message_retention_seconds=FOUR_DAYS_SECONDS,
    )
    dead_letter = QueueSpec(
        name=fifo_name(f"{name_prefix}-events-dlq"),
        visibility_timeout_seconds=consumer_timeout_seconds * VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT,
        message_retention_seconds=FOURTEEN_DAYS_SECONDS,
    )
    return QueueWithDlqSpec(queue=queue, dead_letter=dead_letter, max_receive_count=max_receive_count)


def table_names(name_prefix: str) -> dict[str, str]:
    """The two tables' names in one environment, keyed by the setting that carries them."""
    return {
        "QUERY_EVENTS_TABLE": f"{name_prefix}-query-events",
        "ANALYTICS_TABLE": f"{name_prefix}-analytics",
    }


EVENT_SOURCE = EventSourceSpec()

# The alias every trigger (event source mapping, schedules) invokes: a deploy or a rollback moves it.
LIVE_ALIAS = "live"
