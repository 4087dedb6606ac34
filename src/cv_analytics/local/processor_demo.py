"""`./taskw demo` (for now): the processor's local pipeline on a sample of traffic, then what the tables hold.

A moto server is started, the queue (with its dead-letter queue) and the tables are created, sample events
are sent while the local event source mapping feeds them to `processor.handler.handle`, the orphan sweep
runs, a few late responses arrive and heal their orphans, and Rich prints the Analytics table.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

from contract.config import as_environment, load_settings
from contract.keys import QUARANTINE_PREFIX, REQUEST_PREFIX, day_partition, day_partitions, utc_day
from contract.tables import QuarantinedEvent, RequestRecord
from cv_analytics.local.event_source import EventSourceMapping, LocalLambdaContext
from cv_analytics.local.moto_server import running_moto_server
from cv_analytics.local.resources import create_event_queue, create_tables
from cv_analytics.local.sample_traffic import Outgoing, sample_messages, sample_requests, send_all
from processor.settings import ProcessorSettings

REQUESTS = 40
LATE_RESPONSES = 3


def deliver(mapping: EventSourceMapping, messages: list[Outgoing]) -> None:
    """Send from a thread while the mapping polls, so the queue never gets deep."""
    sender = threading.Thread(
        target=send_all, args=(mapping.sqs, mapping.queue_url, messages), kwargs={"ready": mapping.keeps_up}
    )
    sender.start()
    mapping.drain(senders_done=lambda: not sender.is_alive())
    sender.join()


def day_records(days: set[date], shards: int) -> list[RequestRecord]:
    """The request records of some UTC days, read as the reporter reads them: one Query per day shard."""
    found: list[RequestRecord] = []
    for day in sorted(days):
        for partition in day_partitions(day, shards):
            found.extend(RequestRecord.query(partition, RequestRecord.sk.startswith(REQUEST_PREFIX)))
    return found


def day_quarantine(days: set[date]) -> list[QuarantinedEvent]:
    found: list[QuarantinedEvent] = []
    for day in sorted(days):
        found.extend(
            QuarantinedEvent.query(day_partition(day), QuarantinedEvent.sk.startswith(QUARANTINE_PREFIX))
        )
    return found


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def records_table(records: list[RequestRecord]) -> Table:
    table = Table(title="Analytics: one record per request")
    columns = ("day", "request", "correlation", "healed", "latency ms", "match", "score", "model", "tokens")
    for column in columns:
        table.add_column(column)
    for record in sorted(records, key=lambda r: (r.day, r.query_time or r.response_time or 0)):
        tokens = f"{record.input_tokens}/{record.output_tokens}" if record.input_tokens is not None else ""
        model = (record.model or "").split("/")[-1]
        table.add_row(
            record.day, record.request_id[:8], record.correlation, "yes" if record.healed else "",
            _number(record.latency_ms), record.match_type or "", _number(record.match_score), model, tokens,
        )  # fmt: skip
    return table


def quarantine_table(items: list[QuarantinedEvent]) -> Table:
    table = Table(title="Analytics: quarantined messages")
    for column in ("message", "group", "path", "reason", "body"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.message_id[:8], item.message_group_id or "", item.path, item.reason[:60], item.raw_body[:40]
        )
    return table


@contextmanager
def restored_environment() -> Iterator[None]:
    """The demo points the process at its moto server; put the environment back afterwards."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_demo(console: Console) -> dict[str, Any]:
    """Run the pipeline on moto server and print the tables; returns the counts it printed."""
    with restored_environment(), running_moto_server() as server:
        os.environ.update(server.environment())
        # Orphans are due at once, and only warnings are logged: the tables are what the demo shows.
        quiet = {
            "ORPHAN_AFTER_SECONDS": "0",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        os.environ.update(quiet)
        settings = load_settings(ProcessorSettings)
        os.environ.update(as_environment(settings))
        from processor import handler

        handler.configure(settings)
        create_tables()
        sqs = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name=settings.aws_region)
        queue = create_event_queue(sqs, "cv-analytics-local")
        requests = sample_requests(REQUESTS)
        late = [request for request in requests if request.response is not None][:LATE_RESPONSES]
        held_back = {request.request_id for request in late}
        messages = [
            message
            for message in sample_messages(requests, duplicate_share=0.1, poison=3)
            if not (message.request_id in held_back and message.kind in {"response", "duplicate"}
                    and '"eventType":"response"' in message.body)
        ]  # fmt: skip
        mapping = EventSourceMapping(sqs, queue.url, handler.handle)
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
        days = {utc_day(request.query["timestamp"]) for request in requests}
        records = day_records(days, settings.analytics_write_shards)
        quarantine = day_quarantine({utc_day(handler.now_ms())})
        console.print(records_table(records))
        console.print(quarantine_table(quarantine))
        dead = sqs.get_queue_attributes(
            QueueUrl=queue.dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        summary = {
            "records": dict(Counter(record.correlation for record in records)),
            "healed": sum(1 for record in records if record.healed),
            "quarantined": len(quarantine),
            "dead_letters": int(dead["Attributes"]["ApproximateNumberOfMessages"]),
        }
        console.print(f"summary: {summary}")
        return summary


def main() -> None:
    run_demo(Console(width=None if sys.stdout.isatty() else 150))


if __name__ == "__main__":
    main()
