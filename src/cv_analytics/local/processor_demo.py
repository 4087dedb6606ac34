"""`./taskw demo` (for now): the processor's local pipeline on a sample of traffic, then what the tables hold.

A moto server is started, the queue (with its dead-letter queue) and the tables are created, sample events
are sent while the local event source mapping feeds them to `processor.handler.handle`, the orphan sweep
runs, a few late responses arrive and heal their orphans, and Rich prints the Analytics table.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import boto3
from rich.console import Console
from rich.table import Table

from contract.config import as_environment, load_settings
from contract.tables import InterimRequest, QuarantinedEvent, RequestRecord
from cv_analytics.local.event_source import EventSourceMapping, LocalLambdaContext
from cv_analytics.local.moto_server import running_moto_server
from cv_analytics.local.resources import create_event_queue, create_tables
from cv_analytics.local.sample_traffic import Outgoing, sample_messages, sample_requests
from processor.settings import ProcessorSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REQUESTS = 40
LATE_RESPONSES = 3


def send_all(sqs: SQSClient, queue_url: str, messages: list[Outgoing]) -> None:
    """Send in batches of 10, as fast as moto takes them."""
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "MessageBody": message.body, "MessageGroupId": message.group_id,
                 "MessageDeduplicationId": message.deduplication_id}
                for index, message in enumerate(chunk)
            ],
        )  # fmt: skip


def deliver(mapping: EventSourceMapping, messages: list[Outgoing]) -> None:
    """Send from a thread while the mapping polls, so the queue never gets deep."""
    sender = threading.Thread(target=send_all, args=(mapping.sqs, mapping.queue_url, messages))
    sender.start()
    mapping.drain(senders_done=lambda: not sender.is_alive())
    sender.join()


def _records_table() -> Table:
    table = Table(title="Analytics: one record per request")
    for column in (
        "day",
        "request",
        "correlation",
        "healed",
        "latency ms",
        "match",
        "score",
        "model",
        "tokens in/out",
    ):
        table.add_column(column)
    records = sorted(
        RequestRecord.scan(RequestRecord.kind == "request"), key=lambda r: (r.day, r.query_time or 0)
    )
    for record in records:
        tokens = f"{record.input_tokens}/{record.output_tokens}" if record.input_tokens is not None else ""
        table.add_row(
            record.day, record.request_id[:8], record.correlation, "yes" if record.healed else "",
            "" if record.latency_ms is None else f"{record.latency_ms:.0f}", record.match_type or "",
            "" if record.match_score is None else f"{record.match_score:.0f}", (record.model or "").split("/")[-1],
            tokens,
        )  # fmt: skip
    return table


def _quarantine_table() -> Table:
    table = Table(title="Analytics: quarantined messages")
    for column in ("message", "group", "path", "reason", "body"):
        table.add_column(column)
    for item in QuarantinedEvent.scan(QuarantinedEvent.kind == "quarantine"):
        table.add_row(
            item.message_id[:8], item.message_group_id or "", item.path, item.reason[:60], item.raw_body[:40]
        )
    return table


def run_demo(console: Console) -> dict[str, Any]:
    """Run the pipeline on moto server and print the tables; returns the counts it printed."""
    with running_moto_server() as server:
        os.environ.update(server.environment())
        settings = load_settings(ProcessorSettings, {**os.environ, "ORPHAN_AFTER_SECONDS": "0"})
        os.environ.update(as_environment(settings))
        from processor import handler

        handler.configure(settings)
        create_tables()
        sqs = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name=settings.aws_region)
        queue = create_event_queue(sqs, "cv-analytics-local-events", visibility_timeout=5)
        requests = sample_requests(REQUESTS)
        late = [request for request in requests if request.response is not None][:LATE_RESPONSES]
        held_back = {request.request_id for request in late}
        messages = [
            message
            for message in sample_messages(requests, duplicate_share=0.1, poison=3)
            if not (message.request_id in held_back and message.kind in {"response", "duplicate"}
                    and '"eventType":"response"' in message.body)
        ]  # fmt: skip
        mapping = EventSourceMapping(sqs, queue.url, handler.handle, visibility_timeout=5)
        console.print(
            f"sending {len(messages)} messages ({REQUESTS} requests, duplicates, 3 poison) to {queue.url}"
        )
        deliver(mapping, messages)
        swept = handler.sweep({}, LocalLambdaContext("sweep", timeout_ms=60_000))
        console.print(f"sweep: {swept}")
        late_messages = sample_messages([r for r in requests if r.request_id in held_back])
        deliver(mapping, [message for message in late_messages if '"eventType":"response"' in message.body])
        console.print(
            f"{LATE_RESPONSES} late responses arrived after the sweep; event source: {mapping.stats}"
        )
        console.print(_records_table())
        console.print(_quarantine_table())
        interim = Counter(item.status for item in InterimRequest.scan())
        records = Counter(r.correlation for r in RequestRecord.scan(RequestRecord.kind == "request"))
        dead = sqs.get_queue_attributes(
            QueueUrl=queue.dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        summary = {
            "records": dict(records),
            "healed": sum(1 for r in RequestRecord.scan(RequestRecord.kind == "request") if r.healed),
            "interim": dict(interim),
            "dead_letters": int(dead["Attributes"]["ApproximateNumberOfMessages"]),
        }
        console.print(f"records by correlation: {summary['records']}, healed: {summary['healed']}; "
                      f"interim items by status: {summary['interim']}; dead-letter queue: {summary['dead_letters']}")  # fmt: skip
        return summary


def main() -> None:
    run_demo(Console())


if __name__ == "__main__":
    main()
