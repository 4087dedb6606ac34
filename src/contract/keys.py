"""Key layout of the Analytics table, in one place for the writer (processor) and the reader (reporter).

A request's record lives in the partition of its UTC day, so one week is seven key-condition Queries and
nothing ever needs a Scan. For high volume a day can be split into write shards: shard 0 is the plain day
key and shard n > 0 appends `#n`, so raising the shard count later keeps earlier days readable.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime

DAY_PREFIX = "DAY#"
REQUEST_PREFIX = "REQUEST#"
QUARANTINE_PREFIX = "QUARANTINE#"
REPORT_PREFIX = "REPORT#"
ROLLUP_PREFIX = "ROLLUP#"
GUARD_SORT_KEY = "GUARD"
REPORT_SORT_KEY = "MARKER"


def utc_day(epoch_millis: int) -> date:
    """The UTC calendar day an event timestamp falls on."""
    return datetime.fromtimestamp(epoch_millis / 1000, tz=UTC).date()


def shard_of(identifier: str, shards: int) -> int:
    """A stable shard number for an id: the same on every machine and every run (unlike `hash`)."""
    if shards <= 1:
        return 0
    return zlib.crc32(identifier.encode("utf-8")) % shards


def day_partition(day: date, shard: int = 0) -> str:
    """Partition key of one UTC day's shard."""
    base = f"{DAY_PREFIX}{day.isoformat()}"
    return base if shard == 0 else f"{base}#{shard}"


def parse_day_partition(partition: str) -> tuple[date, int]:
    """The UTC day and shard of a day partition key (`DAY#2026-11-23` or `DAY#2026-11-23#2`)."""
    if not partition.startswith(DAY_PREFIX):
        raise ValueError(f"{partition!r} is not a day partition: expected {DAY_PREFIX}YYYY-MM-DD[#shard]")
    day, _, shard = partition[len(DAY_PREFIX) :].partition("#")
    return date.fromisoformat(day), int(shard or 0)


def rollup_partition(zone: str) -> str:
    """The one partition holding every day rollup built for a time zone, e.g. `ROLLUP#Europe/London`:
    a report's days are one Query over a range of its sort keys."""
    return f"{ROLLUP_PREFIX}{zone}"


def rollup_sort_key(day: date, shard: int, part: int) -> str:
    """`2026-11-23#000#000`: day first, so a range of days is a range of keys."""
    return f"{day.isoformat()}#{shard:03d}#{part:03d}"


def parse_rollup_sort_key(sort_key: str) -> tuple[date, int, int]:
    day, shard, part = sort_key.split("#")
    return date.fromisoformat(day), int(shard), int(part)


def day_partitions(day: date, shards: int) -> list[str]:
    """Every partition key a reader must query for one day."""
    return [day_partition(day, shard) for shard in range(max(shards, 1))]


def request_sort_key(request_id: str) -> str:
    return f"{REQUEST_PREFIX}{request_id}"


def quarantine_sort_key(message_id: str) -> str:
    return f"{QUARANTINE_PREFIX}{message_id}"


def guard_partition(request_id: str) -> str:
    """The per-request guard item: one per request id forever, whatever day its record sits on."""
    return f"{REQUEST_PREFIX}{request_id}"


def report_partition(iso_week: str) -> str:
    """Marker of one weekly report, e.g. `REPORT#2026-W47`."""
    return f"{REPORT_PREFIX}{iso_week}"
