"""Lambda's SQS event source mapping, played locally against moto server.

What it reproduces, because the processor's correctness depends on it: batches of up to 10 messages
(`contract.resources.EVENT_SOURCE`, shared with the infrastructure) received with the queue's visibility
timeout (or a shorter one, so tests see retries quickly); the exact event shape Lambda passes (message
attributes, MessageGroupId, ApproximateReceiveCount, ...); ReportBatchItemFailures (only the messages not
listed in `batchItemFailures` are deleted, and a handler that raises fails the whole batch); failed
messages reappear when their visibility timeout ends, and the queue's own RedrivePolicy moves a message to
the dead-letter queue after maxReceiveCount receives. moto's built-in SQS-to-Lambda trigger ignores
batchItemFailures and needs Docker, so it is not used.

moto's SQS slows down as a queue deepens, so senders and this poller should run at the same time.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contract.resources import EVENT_SOURCE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import MessageTypeDef

Handler = Callable[[dict[str, Any], Any], Mapping[str, Any] | None]

MAX_BATCH_SIZE = 10  # Lambda's limit for FIFO queues
log = logging.getLogger(__name__)


@dataclass
class LocalLambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    timeout_ms: int
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "local"
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self.started) * 1000))


def _message_attributes(message: MessageTypeDef) -> dict[str, Any]:
    """SQS's MessageAttributes in Lambda's spelling (camelCase keys, list fields always present)."""
    result: dict[str, Any] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        entry: dict[str, Any] = {
            "stringListValues": list(value.get("StringListValues", [])),
            "binaryListValues": list(value.get("BinaryListValues", [])),
            "dataType": value["DataType"],
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = value["BinaryValue"]
        result[name] = entry
    return result


def lambda_record(message: MessageTypeDef, *, queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as Lambda presents it in `event["Records"]`."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": _message_attributes(message),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def lambda_event(messages: Iterable[MessageTypeDef], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A batch of received messages as Lambda hands it to the function: `{"Records": [...]}`."""
    return {"Records": [lambda_record(message, queue_arn=queue_arn, region=region) for message in messages]}


@dataclass
class PollStats:
    """What the mapping did so far (every receive, including redeliveries)."""

    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    handler_errors: int = 0


@dataclass
class EventSourceMapping:
    """Receives from one queue and invokes a handler, with Lambda's semantics (see the module docstring)."""

    sqs: SQSClient
    queue_url: str
    handler: Handler
    function_name: str = "processor"
    batch_size: int = EVENT_SOURCE.batch_size
    visibility_timeout: int | None = None  # None: the queue's own, as Lambda's poller uses
    function_timeout_ms: int = 60_000
    wait_time_seconds: int = 1
    # Without ReportBatchItemFailures in the mapping's response types, Lambda ignores the handler's
    # `batchItemFailures` and deletes the whole batch when the handler returns.
    report_batch_item_failures: bool = True
    stats: PollStats = field(default_factory=PollStats)

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size {self.batch_size} is not between 1 and {MAX_BATCH_SIZE}")
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self.queue_arn = attributes["Attributes"]["QueueArn"]
        self.region = self.sqs.meta.region_name

    def poll_once(self) -> int:
        """Receive one batch, invoke the handler, delete what succeeded; returns how many were received."""
        override: dict[str, Any] = {}
        if self.visibility_timeout is not None:
            override["VisibilityTimeout"] = self.visibility_timeout
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_time_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            **override,
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = lambda_event(messages, queue_arn=self.queue_arn, region=self.region)
        records = event["Records"]
        failed = self._invoke(event)
        succeeded = [record for record in records if record["messageId"] not in failed]
        if succeeded:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                    for index, record in enumerate(succeeded)
                ],
            )
        self.stats.batches += 1
        self.stats.received += len(records)
        self.stats.deleted += len(succeeded)
        self.stats.failed += len(records) - len(succeeded)
        return len(records)

    def _invoke(self, event: dict[str, Any]) -> set[str]:
        """Call the handler; the ids of the messages that failed (all of them when the handler raised).

        Like Lambda, a response that names a message not in the batch counts as a failed invocation.
        """
        every_id = {record["messageId"] for record in event["Records"]}
        context = LocalLambdaContext(self.function_name, timeout_ms=self.function_timeout_ms)
        try:
            response = self.handler(event, context) or {}
        except Exception:
            log.exception("the handler raised: the whole batch fails and is retried")
            self.stats.handler_errors += 1
            return every_id
        if not self.report_batch_item_failures:
            return set()
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        if not failed <= every_id:
            log.error("batchItemFailures names messages outside the batch: the whole batch fails")
            self.stats.handler_errors += 1
            return every_id
        return failed

    def keeps_up(self, sent: int, backlog: int = 50) -> bool:
        """Whether a sender that has sent `sent` messages may send more without the queue growing deep."""
        return sent - self.stats.deleted - self.stats.failed < backlog

    def queue_is_empty(self) -> bool:
        """No message visible, in flight or delayed (SQS's approximate counts, exact on moto)."""
        names: list[QueueAttributeNameType] = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
        counts = attributes["Attributes"]
        return all(int(counts.get(name, "0")) == 0 for name in names)

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set (for a background thread)."""
        while not stop.is_set():
            self.poll_once()

    def drain(self, *, senders_done: Callable[[], bool] = lambda: True, timeout: float = 120.0) -> PollStats:
        """Poll until every sender has finished and the queue is empty (failures included), or time out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll_once() == 0 and senders_done() and self.queue_is_empty():
                return self.stats
        raise TimeoutError(f"queue {self.queue_url} was not drained after {timeout:.0f} s: {self.stats}")
