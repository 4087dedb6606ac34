"""Tables, identities and records in moto for the reporter's tests, written through the contract's models."""

from __future__ import annotations

import json
from typing import Any

import boto3

from contract.keys import (
    day_partition,
    quarantine_sort_key,
    request_sort_key,
    shard_of,
    utc_day,
)
from contract.tables import (
    PENDING_BUCKET,
    AnalyticsItem,
    InterimRequest,
    QuarantinedEvent,
    RequestRecord,
)
from reporter.records import Quarantined, Request
from reporter.settings import ReporterSettings


def create_tables() -> None:
    for model in (InterimRequest, AnalyticsItem):
        if not model.exists():
            model.create_table(wait=True)


def put_requests(records: list[Request], shards: int) -> None:
    with RequestRecord.batch_write() as batch:
        for record in records:
            day = utc_day(record.timestamp)
            batch.save(
                RequestRecord(
                    day_partition(day, shard_of(record.request_id, shards)),
                    request_sort_key(record.request_id),
                    request_id=record.request_id,
                    correlation=record.correlation,
                    day=day.isoformat(),
                    session_id=record.session_id,
                    query_time=record.timestamp if record.correlation != "response_only" else None,
                    response_time=record.timestamp + 1500 if record.correlation != "query_only" else None,
                    latency_ms=record.latency_ms,
                    question=record.question,
                    match_type=record.match_type,
                    match_score=record.match_score,
                    cache_hit=record.cache_hit,
                    sources=list(record.sources) or None,
                    model=record.model,
                    input_tokens=record.input_tokens,
                    output_tokens=record.output_tokens,
                    outcome=record.outcome,
                    country=record.country,
                    referer=record.referer,
                    healed=record.healed,
                    recorded_at=record.timestamp + 60_000,
                    query_event=json.dumps({"padding": "x" * 2000}),  # not projected by the reader
                )
            )


def put_quarantined(events: list[Quarantined], shards: int) -> None:
    for event in events:
        day = utc_day(event.received_at)
        QuarantinedEvent(
            day_partition(day, shard_of(event.message_id, shards)),
            quarantine_sort_key(event.message_id),
            message_id=event.message_id,
            reason=event.reason,
            path=event.path,
            raw_body="{not json",
            received_at=event.received_at,
            day=day.isoformat(),
        ).save()


def put_pending(count: int, first_seen: int) -> None:
    for index in range(count):
        InterimRequest(
            f"pending-{index}", first_seen=first_seen + index, pending_bucket=PENDING_BUCKET
        ).save()
    InterimRequest("done", first_seen=first_seen, status="correlated").save()  # not in the sparse index


def verify_sender(settings: ReporterSettings) -> None:
    ses: Any = boto3.client("ses", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
    ses.verify_email_identity(EmailAddress=settings.report_sender)


def create_dlq(settings: ReporterSettings, messages: int) -> str:
    sqs: Any = boto3.client("sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
    url: str = sqs.create_queue(QueueName="cv-analytics-dlq")["QueueUrl"]
    for index in range(messages):
        sqs.send_message(QueueUrl=url, MessageBody=f"dead {index}")
    return url
