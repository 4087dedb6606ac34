"""Reading what the report needs from AWS: Analytics day partitions, the pending index and the DLQ depth.

Every read is a key-condition Query (never a Scan): one per UTC day partition and write shard, run in
parallel, projecting only the attributes the insights use and following pagination (PynamoDB's result
iterator does). The items become plain `Request` / `Quarantined` values here, so nothing past this module
knows about DynamoDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date
from typing import Any, TypeVar, cast

import boto3

from contract.keys import QUARANTINE_PREFIX, REQUEST_PREFIX, day_partitions
from contract.tables import PENDING_BUCKET, InterimRequest, QuarantinedEvent, RequestRecord, bind_tables
from reporter.records import Quarantined, Request
from reporter.settings import ReporterSettings

_T = TypeVar("_T")

# Parallel Queries; each is one HTTP request at a time, so threads are enough.
QUERY_WORKERS = 8

RECORD_ATTRIBUTES = (
    "kind",
    "request_id",
    "correlation",
    "query_time",
    "response_time",
    "recorded_at",
    "session_id",
    "question",
    "match_type",
    "match_score",
    "latency_ms",
    "worker_total_ms",
    "cache_hit",
    "sources",
    "model",
    "input_tokens",
    "output_tokens",
    "status",
    "outcome",
    "country",
    "referer",
    "healed",
    "response_before_query",
)
QUARANTINE_ATTRIBUTES = ("kind", "message_id", "received_at", "reason", "path")


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def to_request(item: RequestRecord) -> Request:
    """The report's view of a record: its time is when the question was asked (or answered, for an orphan
    response), its latency the end-to-end time when known, else what the Worker measured."""
    timestamp = item.query_time if item.query_time is not None else item.response_time
    latency: float | None = item.latency_ms if item.latency_ms is not None else item.worker_total_ms
    if item.response_before_query:  # impossible data: no latency figure rests on it
        latency = None
    return Request(
        request_id=item.request_id,
        correlation=item.correlation,
        timestamp=int(timestamp if timestamp is not None else item.recorded_at),
        session_id=item.session_id,
        question=item.question,
        match_type=item.match_type,
        match_score=item.match_score,
        latency_ms=latency,
        cache_hit=item.cache_hit,
        sources=tuple(cast(list[str], item.sources or [])),
        model=item.model,
        input_tokens=_int(item.input_tokens),
        output_tokens=_int(item.output_tokens),
        status=_int(item.status),
        outcome=item.outcome,
        country=item.country,
        referer=item.referer,
        healed=bool(item.healed),
        response_before_query=bool(item.response_before_query),
    )


def to_quarantined(item: QuarantinedEvent) -> Quarantined:
    return Quarantined(
        message_id=item.message_id, received_at=int(item.received_at), reason=item.reason, path=item.path
    )


class AnalyticsReader:
    """The reporter's reads from the tables `settings` names (moto server when AWS_ENDPOINT_URL is set)."""

    def __init__(self, settings: ReporterSettings) -> None:
        self.settings = settings
        bind_tables(settings)

    def _partitions(self, days: list[date]) -> list[str]:
        shards = self.settings.analytics_write_shards
        return [partition for day in days for partition in day_partitions(day, shards)]

    def _in_parallel(self, partitions: list[str], read: Callable[[str], list[_T]]) -> Iterator[list[_T]]:
        """Each partition's items as soon as its Query (all pages) is done; errors propagate.

        The first partition is read before the others start: PynamoDB creates its botocore client on first
        use, and threads that all start cold would each build one (a second or more on a small machine).
        """
        if not partitions:
            return
        yield read(partitions[0])
        with ThreadPoolExecutor(max_workers=QUERY_WORKERS) as pool:
            futures = [pool.submit(read, partition) for partition in partitions[1:]]
            for future in as_completed(futures):
                yield future.result()

    def _request_partition(self, partition: str, *, consistent: bool = False) -> list[Request]:
        items = RequestRecord.query(
            partition,
            RequestRecord.sk.startswith(REQUEST_PREFIX),
            attributes_to_get=list(RECORD_ATTRIBUTES),
            consistent_read=consistent,
        )
        return [to_request(item) for item in items]

    def partition_requests(
        self, partitions: list[str], *, consistent: bool = False
    ) -> Iterator[tuple[str, list[Request]]]:
        """The records of exactly these partitions, each with its partition key. `consistent` for a rollup:
        a record the late-records index listed must be in what is read."""

        def read(partition: str) -> list[tuple[str, list[Request]]]:
            return [(partition, self._request_partition(partition, consistent=consistent))]

        for batch in self._in_parallel(partitions, read):
            yield from batch

    def _quarantine_partition(self, partition: str) -> list[Quarantined]:
        items = QuarantinedEvent.query(
            partition,
            QuarantinedEvent.sk.startswith(QUARANTINE_PREFIX),
            attributes_to_get=list(QUARANTINE_ATTRIBUTES),
        )
        return [to_quarantined(item) for item in items]

    def requests(self, days: list[date]) -> Iterator[list[Request]]:
        """The records of these UTC days, one batch per partition; the caller filters by week."""
        return self._in_parallel(self._partitions(days), self._request_partition)

    def quarantined(self, days: list[date]) -> list[Quarantined]:
        return [item for batch in self._in_parallel(self._partitions(days), self._quarantine_partition)
                for item in batch]  # fmt: skip

    def pending_requests(self) -> int:
        """Requests whose other half has not arrived yet: a Query with Select=COUNT on the sparse index."""
        return InterimRequest.pending_index.count(PENDING_BUCKET)

    def dlq_depth(self) -> int | None:
        """Messages waiting in the dead-letter queue; None when no DLQ is configured."""
        if not self.settings.dlq_url:
            return None
        sqs: Any = boto3.client(
            "sqs", region_name=self.settings.aws_region, endpoint_url=self.settings.aws_endpoint_url
        )
        attributes = sqs.get_queue_attributes(
            QueueUrl=self.settings.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])
