"""Move what waits in the dead-letter queue back to the event queue once its cause is fixed.

SQS's own StartMessageMoveTask is not used: moto 5.2.5, where the twin tests run, has none, and one path
that is tested beats two of which only one is. Instead each message is received from the DLQ, sent to the
event queue with its own message group and deduplication id, and deleted from the DLQ only after that send
succeeded. So an interruption at any point leaves every message in the DLQ, in the event queue, or (between
the send and the delete) in both, never in neither; a message in both is sent again by the next run, which
SQS drops as a duplicate within its deduplication window and the processor settles as a duplicate after it
(it records each request once, whatever it is given).

A FIFO queue drops a message whose deduplication id it saw in the last five minutes, also when that message
has since left the queue. A message sent less than five minutes ago is therefore held back until its first
send is five minutes old: sent earlier it would be accepted, dropped, and then deleted from the DLQ.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contract.errors import ContractError
from contract.parsing import parse_event

# SQS FIFO's deduplication interval.
DEDUPLICATION_WINDOW_SECONDS = 300
# Long enough to send and delete a batch of ten; short enough that an interrupted run's messages come back
# soon. An orderly failure gives them back at once (see `_released`).
MOVE_VISIBILITY_SECONDS = 60
SURVEY_VISIBILITY_SECONDS = 30
RECEIVE_ATTRIBUTES = ["SentTimestamp", "MessageGroupId", "MessageDeduplicationId", "ApproximateReceiveCount"]


@dataclass(frozen=True)
class DeadLetter:
    """One message as the DLQ returned it."""

    message_id: str
    receipt_handle: str
    body: str
    group_id: str
    deduplication_id: str
    sent_at: datetime
    receive_count: int

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> DeadLetter:
        attributes = message["Attributes"]
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=message["Body"],
            group_id=attributes["MessageGroupId"],
            deduplication_id=attributes["MessageDeduplicationId"],
            sent_at=datetime.fromtimestamp(int(attributes["SentTimestamp"]) / 1000, UTC),
            receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
        )

    @property
    def problem(self) -> str | None:
        """Why the processor would quarantine this message instead of recording it, if it would."""
        try:
            parse_event(self.body)
        except ContractError as error:
            return str(error)
        return None


@dataclass(frozen=True)
class Survey:
    """What the DLQ holds: its count as SQS reports it and what a pass over it could see."""

    approximate_count: int
    seen: list[DeadLetter] = field(default_factory=list)

    @property
    def oldest(self) -> DeadLetter | None:
        return min(self.seen, key=lambda m: m.sent_at, default=None)

    @property
    def groups(self) -> Counter[str]:
        return Counter(m.group_id for m in self.seen)

    @property
    def quarantine_worthy(self) -> list[tuple[DeadLetter, str]]:
        return [(m, problem) for m in self.seen if (problem := m.problem) is not None]


def hold_back_seconds(
    message: DeadLetter, now: datetime, window: int = DEDUPLICATION_WINDOW_SECONDS
) -> float:
    """How long `message` must wait before its deduplication id may be sent again (0 if not at all)."""
    return max(0.0, window - (now - message.sent_at).total_seconds())


def _receive(sqs: Any, queue_url: str, visibility: int) -> list[DeadLetter]:
    answer = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=RECEIVE_ATTRIBUTES,
    )
    return [DeadLetter.from_sqs(m) for m in answer.get("Messages", [])]


def _release(sqs: Any, queue_url: str, messages: list[DeadLetter]) -> None:
    """Make received messages visible again at once, so the next pass (or run) need not wait for them."""
    for message in messages:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
        )


def survey(sqs: Any, dlq_url: str, *, limit: int = 1000) -> Survey:
    """Count the DLQ and look at up to `limit` of its messages, then give them all back.

    A FIFO queue hands out no further message of a group while one is in flight, so a group with more than
    ten messages shows only its first ten here; the count is SQS's own.
    """
    attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    count = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    seen: list[DeadLetter] = []
    try:
        while len(seen) < limit:
            batch = _receive(sqs, dlq_url, SURVEY_VISIBILITY_SECONDS)
            if not batch:
                break
            seen.extend(batch)
    finally:
        _release(sqs, dlq_url, seen)
    return Survey(count, seen)


@dataclass
class Moved:
    """What a redrive did: messages moved back, and how long it held some back for deduplication."""

    moved: list[DeadLetter] = field(default_factory=list)
    held_back_seconds: float = 0.0


def _batches(sqs: Any, dlq_url: str) -> Iterator[list[DeadLetter]]:
    while batch := _receive(sqs, dlq_url, MOVE_VISIBILITY_SECONDS):
        yield batch


def redrive(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    *,
    on_moved: Callable[[DeadLetter], None] = lambda _: None,
    on_wait: Callable[[DeadLetter, float], None] = lambda _m, _s: None,
    window: int = DEDUPLICATION_WINDOW_SECONDS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> Moved:
    """Send every DLQ message to `queue_url` (same group, same deduplication id), then delete it.

    Messages of a group come in the group's order and are sent in it. A failure stops the run with the
    message it failed on, and everything received but not moved yet, made visible again in the DLQ.
    """
    result = Moved()
    for batch in _batches(sqs, dlq_url):
        # Waiting with messages in hand would outlast their visibility: give them back, wait, look again.
        wait = max(hold_back_seconds(m, clock(), window) for m in batch)
        if wait > 0:
            _release(sqs, dlq_url, batch)
            on_wait(batch[0], wait)
            sleep(wait)
            result.held_back_seconds += wait
            continue
        pending = list(batch)
        try:
            while pending:
                message = pending[0]
                sqs.send_message(
                    QueueUrl=queue_url,
                    MessageBody=message.body,
                    MessageGroupId=message.group_id,
                    MessageDeduplicationId=message.deduplication_id,
                )
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message.receipt_handle)
                pending.pop(0)
                result.moved.append(message)
                on_moved(message)
        except BaseException:
            _release(sqs, dlq_url, pending)
            raise
    return result
