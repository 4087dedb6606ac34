"""Faults across process boundaries: a poller killed mid-batch, and DynamoDB throttling a share of calls.

Both run the processor against moto server in another process; what a user relies on is that, in the end,
every request is recorded exactly once, no poison or duplicate changes a count, and the DLQ stays empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract.config import load_settings
from contract.tables import COMPLETE, QUERY_ONLY, AnalyticsItem, InterimRequest
from cv_analytics.local.event_source import EventSourceMapping, LocalLambdaContext
from cv_analytics.local.moto_server import MotoServer
from processor import handler
from processor.runtime import Runtime, build_runtime
from processor.settings import ProcessorSettings
from tests.support.fault_proxy import running_fault_proxy
from tests.support.moto_resources import EventQueue, create_event_queue
from tests.support.processor import quarantined, records_by_request
from tests.support.sample_traffic import (
    SampleRequest,
    deliver,
    sample_messages,
    sample_requests,
    send_all,
)

pytestmark = pytest.mark.integration

POISON = 3
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _warnings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the processor is configured: thousands of retried writes would flood the output."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")


@pytest.fixture
def queue(sqs: Any) -> EventQueue:
    return create_event_queue(sqs, "faults", max_receive_count=5, consumer_timeout_seconds=1)


def assert_recorded_exactly_once(requests: list[SampleRequest]) -> None:
    """After the sweep (orphans due at once), one record per request, each of the right kind."""
    runtime = build_runtime(load_settings(ProcessorSettings))
    handler.sweep({}, LocalLambdaContext("sweep", timeout_ms=60_000), runtime)
    records = records_by_request()
    assert set(records) == {request.request_id for request in requests}
    assert all(len(found) == 1 for found in records.values())
    expected = Counter(COMPLETE if request.response else QUERY_ONLY for request in requests)
    assert Counter(found[0].correlation for found in records.values()) == expected
    assert len(quarantined()) == POISON


def dead_letters(sqs: Any, queue: EventQueue) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue.dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def start_poller(queue_url: str, *, until_empty: bool = False) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.support.poller", queue_url, "--visibility-timeout", "2"]
    return subprocess.Popen(
        [*command, "--until-empty"] if until_empty else [*command, "--announce-writes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
        cwd=ROOT,  # where `tests` is importable from
    )


def announcements(process: subprocess.Popen[str]) -> Iterator[str]:
    """The poller's `batch N` and `write OPERATION` lines, as it prints them."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(("batch ", "write ")):
            yield line.strip()


def test_a_poller_killed_mid_batch_and_restarted_loses_nothing_and_counts_nothing_twice(
    processor: Runtime, sqs: Any, queue: EventQueue
) -> None:
    requests = sample_requests(60, seed=5)
    messages = sample_messages(requests, duplicate_share=0.2, poison=POISON, seed=5)
    send_all(sqs, queue.url, messages)

    first = start_poller(queue.url)
    killed_after: str | None = None
    try:
        batch_count = 0
        for line in announcements(first):
            batch_count += line.startswith("batch ")
            if batch_count == 3 and line.startswith("write "):
                killed_after = line
                break
        first.send_signal(signal.SIGKILL)  # the third batch has just made its first DynamoDB write
        first.wait(timeout=10)
    finally:
        first.kill()
    assert first.returncode == -signal.SIGKILL
    assert killed_after is not None  # the kill came after a write of the batch in flight, not before
    left = sqs.get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert int(left["ApproximateNumberOfMessagesNotVisible"]) > 0  # a batch died in flight
    assert int(left["ApproximateNumberOfMessages"]) > 0  # and work was left over

    second = start_poller(queue.url, until_empty=True)
    try:
        assert second.wait(timeout=90) == 0
    finally:
        second.kill()

    assert_recorded_exactly_once(requests)
    assert dead_letters(sqs, queue) == 0


def test_with_a_share_of_dynamodb_calls_throttled_everything_is_processed_and_the_dlq_stays_empty(
    processor: Runtime,
    moto_server: MotoServer,
    sqs: Any,
    queue: EventQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests = sample_requests(40, seed=9)
    messages = sample_messages(requests, duplicate_share=0.2, poison=POISON, seed=9)
    # botocore's default retries absorb nearly every throttle; with one retry, some calls fail for good and
    # the message goes back to SQS, which is the path under test.
    for model in (InterimRequest, AnalyticsItem):
        monkeypatch.setattr(model.Meta, "max_retry_attempts", 1)
    receive_counts: Counter[str] = Counter()
    with running_fault_proxy(moto_server.endpoint_url, share=0.25, seed=3) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        through_proxy = build_runtime(load_settings(ProcessorSettings))

        def counting(event: dict[str, Any], context: Any) -> Any:
            for record in event["Records"]:
                receive_counts[record["messageId"]] = int(record["attributes"]["ApproximateReceiveCount"])
            return handler.handle(event, context, through_proxy)

        mapping = EventSourceMapping(sqs, queue.url, counting, visibility_timeout=1)
        deliver(mapping, messages)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)

    assert "TransactWriteItems" in proxy.counts.throttled  # the correlating writes themselves were refused
    assert mapping.stats.failed > 0  # some messages were reported as batch item failures
    assert max(receive_counts.values()) > 1  # and SQS delivered them again
    assert_recorded_exactly_once(requests)
    assert dead_letters(sqs, queue) == 0
