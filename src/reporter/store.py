"""Reading what the report needs from AWS: Analytics rollups, quarantine, the pending index, the DLQ depth.

Every read is a key-condition Query (never a Scan), run in parallel and following pagination. A report
reads rollups (`contract.rollup`), not records: per UTC day and write shard, one Query for its 24 hour
items, and for the weeks whose questions the email lists one Query for its wording tallies. So what a
report reads grows with the number of days and distinct wordings, not with the number of requests.

A day's wording tallies are read in full while the day had at most WORDING_BUDGET requests per write
shard, so every wording, each unanswered question included, reaches the lists at the owner's volume. Past
that, only wordings asked more than once that day come back (a filter on the tally's day count): what the
lists can show. The long tail of one-off wordings stays counted in every total, and the email says how
many questions it holds.

Records are still read here for `rebuild` (`records`), which recomputes rollups from them. The items become
plain values here, so nothing past this module knows about DynamoDB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import boto3

from contract.facts import facts_of, time_of
from contract.keys import QUARANTINE_PREFIX, REQUEST_PREFIX, day_partitions
from contract.rollup import (
    ASKED,
    HOUR_PREFIX,
    REQUESTS,
    SPELLINGS,
    WORDING_PREFIX,
    WORDING_TOTAL,
    HourRollup,
    Item,
    WordingRollup,
    from_wire,
    partition_day,
    read_hour,
    read_wording,
    rollup_partitions,
    to_wire,
)
from contract.tables import (
    PENDING_BUCKET,
    AnalyticsItem,
    InterimRequest,
    QuarantinedEvent,
    RequestRecord,
    bind_tables,
)
from reporter.period import ReportWeek
from reporter.records import Quarantined, Request
from reporter.settings import ReporterSettings

_T = TypeVar("_T")

# Parallel Queries; each is one HTTP request at a time, so threads are enough.
QUERY_WORKERS = 8
# Requests per UTC day and write shard up to which every wording of the day is read (see the docstring).
WORDING_BUDGET = 2_000
# Requests in a week up to which its sessions are counted exactly from its records (the session and the
# times of each, a few milliseconds a hundred records); past it, from the rollups' sketch (9.2 %).
EXACT_SESSIONS_LIMIT = 5_000
# What an earlier week needs of a wording's day: its key, spellings and how often it was asked per hour.
COUNT_ATTRIBUTES = ("pk", "sk", SPELLINGS, *(f"{hour:02d}{ASKED}" for hour in range(24)))
SESSION_ATTRIBUTES = ("request_id", "session_id", "query_time", "response_time", "recorded_at")

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


def to_request(item: RequestRecord) -> Request:
    return facts_of(item)


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

    def _request_partition(self, partition: str) -> list[Request]:
        items = RequestRecord.query(
            partition,
            RequestRecord.sk.startswith(REQUEST_PREFIX),
            attributes_to_get=list(RECORD_ATTRIBUTES),
        )
        return [to_request(item) for item in items]

    def _quarantine_partition(self, partition: str) -> list[Quarantined]:
        items = QuarantinedEvent.query(
            partition,
            QuarantinedEvent.sk.startswith(QUARANTINE_PREFIX),
            attributes_to_get=list(QUARANTINE_ATTRIBUTES),
        )
        return [to_quarantined(item) for item in items]

    def requests(self, days: list[date]) -> Iterator[list[Request]]:
        """The records of these UTC days, one batch per partition (what rollups are rebuilt from)."""
        return self._in_parallel(self._partitions(days), self._request_partition)

    def _session_partition(self, partition: str) -> list[Request]:
        items = RequestRecord.query(
            partition,
            RequestRecord.sk.startswith(REQUEST_PREFIX),
            attributes_to_get=list(SESSION_ATTRIBUTES),
        )
        return [
            Request(item.request_id, "", time_of(item), session_id=item.session_id)
            for item in items
            if item.session_id
        ]

    def sessions(self, week: ReportWeek) -> list[Request]:
        """The week's records with a session, reduced to their request id, time and session."""
        batches = self._in_parallel(self._partitions(week.utc_days()), self._session_partition)
        return [record for batch in batches for record in batch if week.contains_ms(record.timestamp)]

    def _query_rollups(
        self,
        partition: str,
        prefix: str,
        *,
        repeated_only: bool = False,
        attributes: tuple[str, ...] = (),
    ) -> list[Any]:
        """Every item of a rollup partition under `prefix`, as DynamoDB sent it (all pages); only
        `attributes` when given, only wordings asked more than once that day when `repeated_only`."""
        client = AnalyticsItem._get_connection().connection.client
        names: dict[str, str] = {}
        values: dict[str, Any] = {":pk": {"S": partition}, ":prefix": {"S": prefix}}
        arguments: dict[str, Any] = {
            "TableName": AnalyticsItem.Meta.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        }
        if repeated_only:
            names["#total"] = WORDING_TOTAL
            values[":once"] = {"N": "1"}
            arguments["FilterExpression"] = "#total > :once"
        if attributes:
            names.update({f"#p{index}": name for index, name in enumerate(attributes)})
            arguments["ProjectionExpression"] = ", ".join(f"#p{index}" for index in range(len(attributes)))
        arguments["ExpressionAttributeValues"] = values
        if names:
            arguments["ExpressionAttributeNames"] = names
        items: list[Any] = []
        for page in client.get_paginator("query").paginate(**arguments):
            items.extend(page["Items"])
        return items

    def _hours(self, partition: str) -> list[HourRollup]:
        raw = self._query_rollups(partition, HOUR_PREFIX)
        return [read_hour(*key, values) for key, values in map(from_wire, raw)]

    def _wordings(self, partition: str, repeated_only: bool, counts_only: bool) -> list[WordingRollup]:
        attributes = COUNT_ATTRIBUTES if counts_only else ()
        raw = self._query_rollups(
            partition, WORDING_PREFIX, repeated_only=repeated_only, attributes=attributes
        )
        return [read_wording(*key, values) for key, values in map(from_wire, raw)]

    def rollups(
        self,
        days: list[date],
        wording_days: list[date],
        counted_days: list[date],
        add_hours: Callable[[list[HourRollup]], None],
        add_wordings: Callable[[list[WordingRollup]], None],
    ) -> None:
        """Hand over, partition by partition as they arrive (so memory holds a few at a time), the hour
        items of `days`, the whole wording tallies of `wording_days` and, of `counted_days`, only how often
        each wording was asked per hour (what the NEW marks and the grouping's weights need). The caller
        keeps what falls in each week. A wording day past WORDING_BUDGET requests per shard gets only its
        wordings asked more than once."""
        shards = max(self.settings.analytics_write_shards, 1)
        partitions = [partition for day in days for partition in rollup_partitions(day, shards)]
        requests: dict[date, int] = {}
        for hours in self._in_parallel(partitions, self._hours):
            for hour in hours:
                day = datetime.fromtimestamp(hour.start_ms // 1000, tz=UTC).date()
                requests[day] = requests.get(day, 0) + hour.count(REQUESTS)
            add_hours(hours)
        busy = {day for day, count in requests.items() if count > WORDING_BUDGET * shards}
        whole = set(wording_days)
        chosen = sorted(whole | set(counted_days))
        wording_partitions = [partition for day in chosen for partition in rollup_partitions(day, shards)]

        def read(partition: str) -> list[WordingRollup]:
            day = partition_day(partition)
            return self._wordings(partition, day in busy, day not in whole)

        for wordings in self._in_parallel(wording_partitions, read):
            add_wordings(wordings)

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


class RollupWriter:
    """Replaces a day's rollup items wholesale (`reporter.rebuild`); the processor never uses it."""

    BATCH = 25  # BatchWriteItem's limit

    def __init__(self, settings: ReporterSettings) -> None:
        self.settings = settings
        bind_tables(settings)

    def _keys(self, partition: str) -> list[tuple[str, str]]:
        client = AnalyticsItem._get_connection().connection.client
        keys: list[tuple[str, str]] = []
        pages = client.get_paginator("query").paginate(
            TableName=AnalyticsItem.Meta.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": partition}},
            ProjectionExpression="pk, sk",
        )
        for page in pages:
            keys.extend((item["pk"]["S"], item["sk"]["S"]) for item in page["Items"])
        return keys

    def replace(self, partitions: list[str], items: Mapping[tuple[str, str], Item]) -> int:
        """Make these partitions hold exactly `items`; returns how many stale items were deleted."""
        stale = [key for partition in partitions for key in self._keys(partition) if key not in items]
        requests: list[dict[str, Any]] = [
            {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in stale
        ]
        requests += [{"PutRequest": {"Item": to_wire(key, item)}} for key, item in items.items()]
        client: Any = AnalyticsItem._get_connection().connection.client
        table = AnalyticsItem.Meta.table_name
        for start in range(0, len(requests), self.BATCH):
            pending: dict[str, Any] = {table: requests[start : start + self.BATCH]}
            for attempt in range(8):
                unprocessed = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not unprocessed:
                    break
                pending = unprocessed
                time.sleep(0.05 * 2**attempt)  # DynamoDB throttled part of the batch: back off, retry it
            else:
                raise RuntimeError(f"DynamoDB kept refusing part of a rollup batch for {partitions[0]}")
        return len(stale)
